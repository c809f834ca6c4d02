"""Faces, classifier runtime and the pipeline between them."""
