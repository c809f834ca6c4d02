"""A tiny deployment for retraining tests: 64² generated images, a champion trained in seconds.

The app is the real one from the factory (real SQLite file, image store, registry); checks and
disputes go through the API, and reviewers' labels through the code the webhook uses
(core.outcomes.apply_annotation). Only Label Studio itself is left out here (tests/integration
has the run against a real one).
"""
from __future__ import annotations

import itertools
from pathlib import Path

from core.registry import Registry
from core.resolution import ReviewRule
from core.settings import Settings
from core.shared_models import open_registry
from server import create_app
from tests.conftest import API_KEY
from tests.models.tiny_data import write_tiny_set

SIZE = 64
CHAMPION = "tiny-champion"
_annotation_ids = itertools.count(1)


def build_tiny_champion(base: Path, out: Path, version: str = CHAMPION) -> Path:
    """A small_cnn at 64² trained for a few epochs on `base`, as a registry-ready folder `out`."""
    from models.data.pipeline import find_splits
    from models.training.bundle import write_model_folder
    from models.training.train import fit

    splits = find_splits(base)
    result = fit(splits["Train"], splits["Validation"], epochs=4, seed=7, batch_size=8, augment="none",
                 input_size=SIZE, patience=10)
    write_model_folder(out, result.model, splits["Validation"], {"test": splits["Test"]},
                       {"architecture": "small_cnn", "training_data": {"kind": "folder", "path": str(base)}},
                       version, robustness=False)
    return out


class Loop:
    """One instance: app, registry with the tiny champion promoted, settings for `retrain`."""

    def __init__(self, folder: Path, base: Path, champion: Path, **settings) -> None:
        self.folder = folder
        self.settings = Settings(instance_dir=folder / "instance", base_data_dir=base, api_keys=[API_KEY],
                                 retrain_epochs=6, retrain_learning_rate=1e-3, retrain_min_holdout=3,
                                 feedback_weight=5.0,
                                 **settings)
        self.app = create_app({"instance_dir": folder / "instance", "api_keys": [API_KEY]})
        self.client = self.app.test_client()
        self.auth = {"Authorization": f"Bearer {API_KEY}"}
        self.registry: Registry = open_registry(self.settings)     # with DFG_BLOB_URL: the one hosts share
        self.registry.add(champion)
        self.registry.promote(CHAMPION, note="test champion")

    def check(self, data: bytes) -> dict:
        response = self.client.post("/api/v1/checks", headers=self.auth, data=data, content_type="image/png")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def read(self, check_id: str) -> dict:
        return self.client.get(f"/api/v1/checks/{check_id}", headers=self.auth).get_json()

    def reviewed(self, data: bytes, label: str) -> dict:
        """Check an image, dispute it, and have a reviewer label it `label` (as the webhook would)."""
        from core.outcomes import apply_annotation
        from server.review import ext_id_for

        check = self.check(data)
        disputed = self.client.post(f"/api/v1/checks/{check['id']}/disputes", headers=self.auth,
                                    json={"label": label})
        assert disputed.status_code == 202, disputed.get_json()
        store = self.app.extensions["store"]
        choice = {"real": "Real", "fake": "Fake"}[label]
        rule = ReviewRule.of(self.settings)
        with store.session() as session:
            for reviewer in (1, 2):   # a label against a confident model needs a second reviewer who agrees
                item, relabeled = apply_annotation(session, ext_id_for(check["image"]["sha256"]), 1, {
                    "id": next(_annotation_ids), "completed_by": reviewer,
                    "result": [{"type": "choices", "from_name": "label", "value": {"choices": [choice]}}]}, rule)
                if relabeled:
                    break
            assert relabeled and item.label == label
        return check

    def decisions(self) -> list[dict]:
        return self.registry.retraining()


def feedback_images(folder: Path, count: int, seed: int) -> list[tuple[bytes, str]]:
    """`count` real and `count` fake PNGs like the base data (another seed), with their true labels."""
    write_tiny_set(folder, count, size=SIZE, seed=seed, splits={})
    return [(path.read_bytes(), label.lower()) for label in ("Real", "Fake")
            for path in sorted((folder / "Train" / label).glob("*.png"))]
