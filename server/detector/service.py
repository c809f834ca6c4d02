"""The detector the app serves, built once per process from the model folder."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

import models

from ..settings import Settings
from .classifier import Classifier
from .faces import FaceDetector
from .pipeline import Detector


def build_detector(settings: Settings) -> Detector:
    folder = Path(settings.model_dir) if settings.model_dir else models.DEFAULT_MODEL_DIR
    classifier = Classifier(folder, threads=settings.runtime_threads)
    faces = FaceDetector(num_threads=settings.runtime_threads, min_score=settings.face_min_score)
    return Detector(classifier, faces, max_faces=settings.max_faces)


def detector() -> Detector:
    return current_app.extensions["detector"]


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["detector"] = build_detector(settings)
