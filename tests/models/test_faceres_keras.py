"""The Keras rebuild of a TF.js MobileNet graph (models/training/faceres_keras.py) equals the graph as tf2onnx converts it,
and the cached trunk + the top equal the whole network. The graph is a tiny faceres-like one the test writes; the
real faceres is checked too where its npm files are unpacked (.cache/npm)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.models.tfjs_files import TINY_CUT, TINY_SIZE, write_faceres_like

pytestmark = pytest.mark.slow
FACERES_JSON = Path(__file__).resolve().parents[2] / ".cache/npm/package/models/faceres.json"


@pytest.fixture(scope="module")
def tiny_graph(tmp_path_factory) -> Path:
    return write_faceres_like(tmp_path_factory.mktemp("tfjs"))


def test_the_chain_is_read_with_folded_scales_strides_and_clips(tiny_graph):
    from models.training.tfjs_graph import conv_blocks, read_graph

    blocks, end = conv_blocks(read_graph(tiny_graph))
    assert [b.name for b in blocks] == ["conv1", "conv_dw_1", "conv_pw_1", "conv_dw_2", "conv_pw_2", "conv_dw_3",
                                        "conv_pw_3"]
    assert [b.stride for b in blocks] == [2, 1, 1, 2, 1, 1, 1]
    assert {b.clip for b in blocks} == {6.0} and {b.padding for b in blocks} == {"same"}
    assert end == "global_pooling/Mean"


def test_the_keras_rebuild_equals_the_tfjs_graph_through_tf2onnx(tiny_graph):
    from models.training.faceres_parity import parity

    pixels = np.random.default_rng(1).integers(0, 256, (4, TINY_SIZE, TINY_SIZE, 3)).astype(np.float32)
    figures = parity(tiny_graph, (TINY_CUT, "conv_pw_3"), pixels)
    for block, found in figures.items():
        assert found["max_abs"] == 6.0, f"{block}: the test graph should reach ReLU6's clip"
        assert found["max_abs_diff"] <= 1e-4, f"{block}: {found}"


@pytest.mark.skipif(not FACERES_JSON.exists(), reason="faceres's npm files are not unpacked in .cache/npm")
def test_the_faceres_rebuild_equals_its_tfjs_graph():
    from models.training.faceres_parity import parity

    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (2, 224, 224, 3)).astype(np.float32)
    found = parity(FACERES_JSON, ("conv_pw_13",), pixels)["conv_pw_13"]
    assert found["max_abs_diff"] <= 1e-4 * max(found["max_abs"], 1.0)


def _faces(folder: Path, count: int, seed: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        pixels = rng.integers(0, 256, (TINY_SIZE, TINY_SIZE, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index}.jpg", quality=95)
        paths.append(str(folder / f"{index}.jpg"))
    return paths


def test_cached_trunk_maps_and_the_top_equal_the_whole_network(tiny_graph, tmp_path):
    from models.training.faceres_keras import make_top, make_trunk, read_blocks, whole
    from models.training.trunk_cache import Example, TrunkCache, build, view_pixels

    blocks = read_blocks(tiny_graph)
    trunk = make_trunk(blocks, TINY_CUT, TINY_SIZE)
    top = make_top(blocks, TINY_CUT, trunk.output_shape[1:])
    network = whole(trunk, top)
    examples = [Example(p, 0, "tiny", "real", p) for p in _faces(tmp_path / "faces", 6, seed=3)]
    build(tmp_path / "cache", examples, views=2, trunk=trunk, size=TINY_SIZE, seed=5, batch=4, progress=lambda m: None)
    cache = TrunkCache.open(tmp_path / "cache")
    assert len(cache.maps) == 2 and cache.maps[0].dtype == np.float16 and cache.usable.all()
    for view in (0, 1):
        pixels = np.stack([view_pixels(e, view, TINY_SIZE, 5, None) for e in examples]).astype(np.float32)
        expected = np.asarray(network(pixels, training=False))
        from_cache = np.asarray(top(cache.batch(np.arange(6), np.full(6, view)), training=False))
        exact = np.asarray(top(np.asarray(trunk(pixels, training=False)), training=False))
        np.testing.assert_allclose(exact, expected, atol=1e-5)
        # the cache keeps float16: logits agree to its rounding, not to float32's
        np.testing.assert_allclose(from_cache, expected, atol=2e-3 * max(1.0, np.abs(expected).max()))
    assert not np.allclose(cache.maps[0], cache.maps[1]), "an augmented view should differ from the image as it is"


def test_the_exported_backbone_and_the_served_graph_equal_the_keras_network(tiny_graph, tmp_path):
    """export-faceres: the ONNX backbone's `features` equal the top's pooled features; composed with the top's own
    Dense head (models/training/detector.py) the served graph's P(fake) equals the Keras network's; a run folder's
    checkpoint loads back as the same network."""
    import json

    import onnxruntime as ort

    from core.served_model import FEATURES_OUTPUT
    from models.training.detector import PROBABILITY_OUTPUT, compose
    from models.training.faceres_export import dense_head, export_backbone, feature_network, load_run
    from models.training.faceres_keras import make_top, make_trunk, read_blocks, whole
    from models.training.finetune import CHECKPOINTS, STATE

    blocks = read_blocks(tiny_graph)
    trunk = make_trunk(blocks, TINY_CUT, TINY_SIZE)
    top = make_top(blocks, TINY_CUT, trunk.output_shape[1:], seed=4)
    run = tmp_path / "run"
    (run / CHECKPOINTS).mkdir(parents=True)
    top.save(run / CHECKPOINTS / "best.keras")
    (run / STATE).write_text(json.dumps({"epoch": 1, "config": {"cut": TINY_CUT}}))
    trunk, top = load_run(run, blocks, size=TINY_SIZE)
    assert trunk.input_shape[1:] == (TINY_SIZE, TINY_SIZE, 3)

    pixels = np.random.default_rng(6).integers(0, 256, (5, TINY_SIZE, TINY_SIZE, 3)).astype(np.float32)
    backbone = export_backbone(trunk, top, tmp_path / "backbone.onnx")
    session = ort.InferenceSession(str(backbone), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["pixels"]
    [features] = session.run([FEATURES_OUTPUT], {"pixels": pixels})
    expected = np.asarray(feature_network(trunk, top)(pixels, training=False))
    np.testing.assert_allclose(features, expected, atol=1e-4 * max(1.0, np.abs(expected).max()))

    served = ort.InferenceSession(str(compose(backbone, dense_head(top), tmp_path / "served.onnx")),
                                  providers=["CPUExecutionProvider"])
    [probability] = served.run([PROBABILITY_OUTPUT], {"pixels": pixels})
    logits = np.asarray(whole(trunk, top)(pixels, training=False)).reshape(-1)
    np.testing.assert_allclose(probability.reshape(-1), 1 / (1 + np.exp(-logits)), atol=1e-4)
    assert np.ptp(probability) > 0, "the test should tell faces apart"
