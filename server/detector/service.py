"""The detector the app serves: the registry's champion (or the shipped default, or DFG_MODEL_DIR)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

import models
from models.registry import Registry

from ..settings import Settings
from .champion import ChampionHolder
from .classifier import Classifier
from .faces import FaceDetector
from .pipeline import Detector


def build_holder(settings: Settings, instance_path: str | Path) -> ChampionHolder:
    """One face detector for the process; the classifier follows the champion unless a folder is pinned."""
    faces = FaceDetector(num_threads=settings.runtime_threads, min_score=settings.face_min_score)

    def make_detector(classifier: Classifier) -> Detector:
        return Detector(classifier, faces, max_faces=settings.max_faces)

    pinned = settings.model_dir is not None
    return ChampionHolder(Registry.for_instance(instance_path),
                          Path(settings.model_dir) if pinned else models.DEFAULT_MODEL_DIR,
                          make_detector, threads=settings.runtime_threads, watch=not pinned)


def holder() -> ChampionHolder:
    return current_app.extensions["model_holder"]


def detector() -> Detector:
    """The detector for this request: call once per request and keep the result."""
    return holder().current()


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["model_holder"] = build_holder(settings, app.instance_path)
