"""Which model answers: the registry's champion, picked up while the server runs.

Every request asks `current()`, which costs one stat of the champion pointer. When the pointer file
was replaced (a promote or rollback anywhere — each gunicorn worker notices on its own), one request
thread loads the new champion and checks it (file hashes, metadata, a test prediction that must
reproduce the probe scores recorded at build time) while other threads keep serving the old one;
then a single reference is swapped. A request keeps the checker it took, so requests in flight
finish on the model they started with and report its version. A champion that fails the checks is
refused with a log line, and the old model keeps serving until the pointer changes again.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from core.check import Checker
from core.registry import Registry, RegistryError
from core.served_model import ModelError, ServedModel

log = logging.getLogger(__name__)
RETRY_SECONDS = 30.0    # a champion that could not be fetched from the shared registry is tried again this often


class ChampionHolder:
    """Holds the serving Checker and swaps it when the registry's champion changes.

    Args:
        registry: the instance's model registry (None: serve `fallback` only).
        fallback: the folder served when nothing is promoted (the shipped default), or a pinned folder.
        make_checker: builds a Checker around a loaded ServedModel (shares the face detector).
        threads: ONNX Runtime threads per session.
        watch: follow the registry (False when DFG_MODEL_DIR pins a folder).
    """

    def __init__(self, registry: Registry | None, fallback: Path, make_checker: Callable[[ServedModel], Checker],
                 threads: int = 2, watch: bool = True) -> None:
        self._registry = registry if watch else None
        self._fallback = Path(fallback)
        self._make_checker = make_checker
        self._threads = threads
        self._loading = threading.Lock()
        self._signature = self._registry.pointer_signature() if self._registry else None
        self.refused: dict[str, str] = {}   # version → why, for champions refused at start-up
        self.behind: dict | None = None     # {"version", "error"}: a new champion this process could not load
        self._failed: tuple | None = None   # (pointer signature, when to try it again) after a failed load
        self._checker = self._initial()

    # --- serving ------------------------------------------------------------------------------------
    def current(self) -> Checker:
        """The checker to use for one request (take it once and keep it for the whole request)."""
        if self._registry is not None:
            signature = self._registry.pointer_signature()
            if signature != self._signature and not self._waiting(signature):
                self._refresh()
        return self._checker

    def _waiting(self, signature) -> bool:
        """True while a champion that failed to load is not to be tried again yet (a new change is tried at once)."""
        return self._failed is not None and self._failed[0] == signature and time.monotonic() < self._failed[1]

    @property
    def source(self) -> str:
        """'registry' when a promoted champion serves, else 'default' (or 'pinned')."""
        if self._registry is None:
            return "pinned"
        return "registry" if self._checker.model.folder != self._fallback else "default"

    # --- loading ------------------------------------------------------------------------------------
    def _load(self, folder: Path, version: str | None) -> Checker:
        """Load and check a model folder; raise ModelError/RegistryError if it must not serve."""
        if version is not None:
            self._registry.verify(version)   # file hashes, and that the metadata names this version
        model = ServedModel.load(folder, threads=self._threads, check_hashes=version is None)
        if version is not None and model.version != version:
            raise ModelError(f"{folder}: metadata names version {model.version!r}, the pointer {version!r}")
        return self._make_checker(model)

    def _candidates(self) -> list[str]:
        """The champion, then earlier champions newest first (for a start-up with a broken champion)."""
        try:
            pointer = self._registry.pointer() if self._registry else None
        except RegistryError as error:
            self.refused["champion pointer"] = str(error)
            log.error("%s; serving the shipped default model", error)
            return []
        if not pointer:
            return []
        return [pointer["version"], *reversed(pointer.get("previous", []))]

    def _initial(self) -> Checker:
        for version in self._candidates():
            try:
                checker = self._load(self._registry.folder(version), version)
                log.info("serving model %s (registry champion)", version)
                return checker
            except (ModelError, RegistryError, OSError, SQLAlchemyError) as error:
                self.refused[version] = str(error)
                log.error("refusing model %s at start-up: %s", version, error)
                if self._registry.shared and self.behind is None:   # the store may come back: try it again later
                    self.behind = {"version": version, "error": str(error)}
                    self._failed = (self._signature, time.monotonic() + RETRY_SECONDS)
                    self._signature = None
        checker = self._load(self._fallback, None)  # the shipped or pinned model must load, or start-up fails
        log.info("serving model %s from %s", checker.model.version, self._fallback)
        return checker

    def _refresh(self) -> None:
        # One thread loads; the others keep serving the old checker instead of waiting.
        if not self._loading.acquire(blocking=False):
            return
        try:
            signature = self._registry.pointer_signature()
            if signature == self._signature:
                return
            old, version = self._checker.model.version, None
            try:
                version = self._registry.champion()
                if version is None:
                    folder = self._fallback
                elif version == old:
                    self._signature = signature
                    return
                else:
                    folder = self._registry.folder(version)
                checker = self._load(folder, version)
            except (ModelError, RegistryError, OSError, ValueError, SQLAlchemyError) as error:
                log.error("refusing new champion: %s; still serving %s (process %d)", error, old, os.getpid())
                self.behind = {"version": version, "error": str(error)}
                if self._registry.shared:   # the store may come back: try again later, or at the next change
                    self._failed = (signature, time.monotonic() + RETRY_SECONDS)
                else:
                    self._signature = signature  # do not retry until the pointer changes again
                return
            self._checker = checker  # one reference swap: requests in flight keep the old one
            self._signature, self._failed, self.behind = signature, None, None
            log.info("serving model %s (was %s) in process %d", checker.model.version, old, os.getpid())
        finally:
            self._loading.release()
