"""Evaluation: metrics and operating points, robustness, plots, the Markdown report and the model card."""
