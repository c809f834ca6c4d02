"""A fine-tuned faceres (the frozen trunk + the trained top, models/training/faceres_keras.py) as a backbone ONNX file:
pixels → the top's pooled features (`pool`: channel means and standard deviations of its last block).

`train-detector --backbone FILE` then fits the head on those features of the server's face crops, chooses the
operating point and builds the served graph (models/training/detector.py): the served model is of the same kind as
today's faceres detector, so serving, the gate, the registry, hot swap and retraining's head refit take it as it is.
The fine-tuned top's own Dense head is kept beside it (`dense_head`) for comparison.

    deepfake-guard export-faceres --run runs/finetune --out runs/finetune/backbone.onnx
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from core.served_model import FEATURES_OUTPUT
from models.training.backbone import INPUT
from models.training.detector import FeatureHead
from models.training.faceres_keras import LOGIT

POOL = "pool"


def feature_network(trunk, top):
    """Pixels (N×S×S×3, 0–255) → the top's pooled features, as one Keras model."""
    import keras

    pooled = keras.Model(top.input, top.get_layer(POOL).output, name="top_features")
    pixels = keras.Input(trunk.input_shape[1:], name=INPUT)
    return keras.Model(pixels, pooled(trunk(pixels)), name="faceres_finetuned_features")


def dense_head(top) -> FeatureHead:
    """The top's own linear head (`fake_logit` on the pooled features) as a FeatureHead."""
    kernel, bias = top.get_layer(LOGIT).get_weights()
    return FeatureHead(np.asarray(kernel[:, 0], np.float32), float(bias[0]))


def export_backbone(trunk, top, out: Path) -> Path:
    """Write the feature network as ONNX with the backbone contract: input `pixels`, output `features` (N×F)."""
    import onnx

    from models.training.export import export_onnx

    network = feature_network(trunk, top)
    with tempfile.TemporaryDirectory() as scratch:
        model = onnx.load(export_onnx(network, Path(scratch) / "features.onnx"))
    graph = model.graph
    renames = {graph.input[0].name: INPUT, graph.output[0].name: FEATURES_OUTPUT}
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    graph.input[0].name, graph.output[0].name = INPUT, FEATURES_OUTPUT
    onnx.checker.check_model(model)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out)
    return out


def load_run(run: Path, blocks, checkpoint: str = "best", size: int = 224):
    """(trunk, top) of a finetune-faceres run folder: the trunk rebuilt at the run's cut for `size`² pixels (the
    run's), the top from a checkpoint."""
    import json

    import keras

    import models.training.layers  # noqa: F401  (registers MeanStd for loading)
    from models.training.faceres_keras import make_trunk
    from models.training.finetune import CHECKPOINTS, STATE

    config = json.loads((run / STATE).read_text())["config"]
    return make_trunk(blocks, config["cut"], size), keras.models.load_model(run / CHECKPOINTS / f"{checkpoint}.keras")
