"""The review loop: Label Studio project, task push, annotation pull, label resolution (and, later, retraining)."""
