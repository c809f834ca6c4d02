"""Importing the seed's Keras-2 formats (written here by the test, as Keras 2 wrote them) flips P(real) to P(fake)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from core.registry import Registry
from core.served_model import ServedModel
from tests.models import keras2_files as k2


@pytest.fixture(scope="module")
def weights():
    return k2.random_weights()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(11).integers(0, 256, (8, k2.SIZE, k2.SIZE, 3)).astype(np.uint8)


def test_reference_model_is_not_trivial(weights, images):
    p_real = k2.reference_p_real(images, weights)
    assert np.ptp(p_real) > 0.01  # the comparisons below could tell a wrong weight order apart


@pytest.mark.parametrize("fmt", ["json+h5", "full h5"])
def test_keras2_files_load_and_flip(tmp_path, weights, images, fmt):
    from models.training.importer import as_fake_probability, load_any

    if fmt == "json+h5":
        json_path, weights_path = k2.write_json_and_weights(tmp_path, weights)
        model, source_format, changes = load_any(json_path, weights_path)
    else:
        model, source_format, changes = load_any(k2.write_full_h5(tmp_path / "model.h5", weights))
    assert "BatchNormalization axis [n] → n" in changes and "added module keys" in changes
    p_real = np.asarray(model(images.astype(np.float32), training=False)).reshape(-1)
    np.testing.assert_allclose(p_real, k2.reference_p_real(images, weights), atol=1e-5)
    fake = as_fake_probability(model)
    np.testing.assert_allclose(np.asarray(fake(images.astype(np.float32))).reshape(-1), 1 - p_real, atol=1e-6)


def test_keras2_json_without_weights_is_refused(tmp_path, weights):
    from models.training.importer import load_any

    json_path, _ = k2.write_json_and_weights(tmp_path, weights)
    with pytest.raises(ValueError, match="--weights"):
        load_any(json_path)


def test_import_command_registers_a_flipped_servable_model(tmp_path, monkeypatch, weights, images):
    instance = tmp_path / "instance"
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(instance))
    json_path, weights_path = k2.write_json_and_weights(tmp_path, weights)
    result = CliRunner().invoke(main, ["models", "import", str(json_path), "--weights", str(weights_path),
                                       "--version", "seed-v1", "--promote"])
    assert result.exit_code == 0, result.output
    registry = Registry.for_instance(instance)
    assert registry.champion() == "seed-v1"
    folder = registry.folder("seed-v1")
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["imported"]["output_flipped"] is True
    assert metadata["imported"]["format"] == "keras2 json + h5 weights"
    assert metadata["parity_max_abs_diff"] <= 1e-4
    assert metadata["metrics"] == {} and metadata["robustness"] is None  # nothing measured, nothing claimed
    card = (folder / "MODEL_CARD.md").read_text()
    assert "1 − P(real)" in card and "nothing about its accuracy was measured" in card
    # The served ONNX model gives 1 − the seed's P(real) for the same pixels.
    served = ServedModel(folder).fake_probabilities(images)
    np.testing.assert_allclose(served, 1 - k2.reference_p_real(images, weights), atol=1e-5)
    # A .keras file of the same model imports too (saved by Keras 3, output P(real) as well).
    from models.training.importer import load_any
    model, _, _ = load_any(json_path, weights_path)
    model.save(tmp_path / "seed.keras")
    again = CliRunner().invoke(main, ["models", "import", str(tmp_path / "seed.keras"), "--version", "seed-v2"])
    assert again.exit_code == 0, again.output
    np.testing.assert_allclose(ServedModel(registry.folder("seed-v2")).fake_probabilities(images), served, atol=1e-5)
