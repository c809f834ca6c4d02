"""The checker the app serves: the registry's champion (or the shipped default, or DFG_MODEL_DIR)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from core.check import Checker
from core.faces import FaceDetector
from core.registry import DEFAULT_MODEL_DIR
from core.served_model import ServedModel
from core.settings import Settings
from core.shared_models import open_registry
from server.champion import ChampionHolder


def build_holder(settings: Settings) -> ChampionHolder:
    """One face detector for the process; the served model follows the champion unless a folder is pinned."""
    faces = FaceDetector(num_threads=settings.runtime_threads, min_score=settings.face_min_score)

    def make_checker(model: ServedModel) -> Checker:
        return Checker(model, faces, max_faces=settings.max_faces)

    pinned = settings.model_dir is not None
    return ChampionHolder(open_registry(settings),
                          Path(settings.model_dir) if pinned else DEFAULT_MODEL_DIR,
                          make_checker, threads=settings.runtime_threads, watch=not pinned)


def holder() -> ChampionHolder:
    return current_app.extensions["model_holder"]


def checker() -> Checker:
    """The checker for this request: call once per request and keep the result."""
    return holder().current()


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["model_holder"] = build_holder(settings)
