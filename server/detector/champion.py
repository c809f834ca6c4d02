"""Which model answers: the registry's champion, picked up while the server runs.

Every request asks `current()`, which costs one stat of the champion pointer. When the pointer file
was replaced (a promote or rollback anywhere — each gunicorn worker notices on its own), one request
thread loads the new champion and checks it (file hashes, metadata, a test prediction that must
reproduce the probe scores recorded at build time) while other threads keep serving the old one;
then a single reference is swapped. A request keeps the detector it took, so requests in flight
finish on the model they started with and report its version. A champion that fails the checks is
refused with a log line, and the old model keeps serving until the pointer changes again.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable

from models.registry import Registry, RegistryError

from .classifier import Classifier, ModelError
from .pipeline import Detector

log = logging.getLogger(__name__)


class ChampionHolder:
    """Holds the serving Detector and swaps it when the registry's champion changes.

    Args:
        registry: the instance's model registry (None: serve `fallback` only).
        fallback: the folder served when nothing is promoted (the shipped default), or a pinned folder.
        make_detector: builds a Detector around a loaded Classifier (shares the face detector).
        threads: ONNX Runtime threads per session.
        watch: follow the registry (False when DFG_MODEL_DIR pins a folder).
    """

    def __init__(self, registry: Registry | None, fallback: Path, make_detector: Callable[[Classifier], Detector],
                 threads: int = 2, watch: bool = True) -> None:
        self._registry = registry if watch else None
        self._fallback = Path(fallback)
        self._make_detector = make_detector
        self._threads = threads
        self._loading = threading.Lock()
        self._signature = self._registry.pointer_signature() if self._registry else None
        self._detector = self._initial()

    # --- serving ------------------------------------------------------------------------------------
    def current(self) -> Detector:
        """The detector to use for one request (take it once and keep it for the whole request)."""
        if self._registry is not None and self._registry.pointer_signature() != self._signature:
            self._refresh()
        return self._detector

    @property
    def source(self) -> str:
        """'registry' when a promoted champion serves, else 'default' (or 'pinned')."""
        if self._registry is None:
            return "pinned"
        return "registry" if self._detector.classifier.folder != self._fallback else "default"

    # --- loading ------------------------------------------------------------------------------------
    def _load(self, folder: Path, version: str | None) -> Detector:
        """Load and check a model folder; raise ModelError/RegistryError if it must not serve."""
        if version is not None:
            self._registry.verify(version)
        classifier = Classifier(folder, threads=self._threads)
        if version is not None and classifier.version != version:
            raise ModelError(f"{folder}: metadata names version {classifier.version!r}, the pointer {version!r}")
        classifier.self_test()
        return self._make_detector(classifier)

    def _candidates(self) -> list[str]:
        """The champion, then earlier champions newest first (for a start-up with a broken champion)."""
        try:
            pointer = self._registry.pointer() if self._registry else None
        except RegistryError as error:
            log.error("%s; serving the shipped default model", error)
            return []
        if not pointer:
            return []
        return [pointer["version"], *reversed(pointer.get("previous", []))]

    def _initial(self) -> Detector:
        for version in self._candidates():
            try:
                detector = self._load(self._registry.folder(version), version)
                log.info("serving model %s (registry champion)", version)
                return detector
            except (ModelError, RegistryError, OSError) as error:
                log.error("refusing model %s at start-up: %s", version, error)
        detector = self._load(self._fallback, None)  # the shipped or pinned model must load, or start-up fails
        log.info("serving model %s from %s", detector.classifier.version, self._fallback)
        return detector

    def _refresh(self) -> None:
        # One thread loads; the others keep serving the old detector instead of waiting.
        if not self._loading.acquire(blocking=False):
            return
        try:
            signature = self._registry.pointer_signature()
            if signature == self._signature:
                return
            old = self._detector.classifier.version
            try:
                version = self._registry.champion()
                if version is None:
                    folder = self._fallback
                elif version == old:
                    self._signature = signature
                    return
                else:
                    folder = self._registry.folder(version)
                detector = self._load(folder, version)
            except (ModelError, RegistryError, OSError, ValueError) as error:
                log.error("refusing new champion: %s; still serving %s (process %d)", error, old, os.getpid())
                self._signature = signature  # do not retry until the pointer changes again
                return
            self._detector = detector  # one reference swap: requests in flight keep the old one
            self._signature = signature
            log.info("serving model %s (was %s) in process %d", detector.classifier.version, old, os.getpid())
        finally:
            self._loading.release()
