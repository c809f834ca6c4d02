"""Check the Keras rebuild (models/training/faceres_keras.py) against the TF.js graph converted by tf2onnx, on face files.

    python -m models.training.faceres_parity --tfjs .cache/npm/package/models/faceres.json FACE.jpg ...

Prints the largest absolute difference of the last block's map (faceres: `conv_pw_13`) and of the cut's map,
each beside the map's own largest value.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from models.training.backbone import INPUT, tfjs_taps


def tap_name(block: str) -> str:
    """The TF.js graph's tensor after a block's ReLU6 (the clip's Maximum node)."""
    return f"{block}_relu/clip_by_value:0"


def graph_maps(model_json: Path, blocks: tuple[str, ...], pixels: np.ndarray) -> list[np.ndarray]:
    """The TF.js graph's maps after `blocks`, through tf2onnx and ONNX Runtime."""
    import onnxruntime as ort

    model = tfjs_taps(model_json, tuple(tap_name(b) for b in blocks))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT: pixels.astype(np.float32)})


def keras_maps(model_json: Path, blocks: tuple[str, ...], pixels: np.ndarray) -> list[np.ndarray]:
    """The Keras rebuild's maps after `blocks`."""
    from models.training.faceres_keras import make_trunk, read_blocks, trunk_maps

    chain = read_blocks(model_json)
    return [trunk_maps(make_trunk(chain, block, pixels.shape[1]), pixels) for block in blocks]


def parity(model_json: Path, blocks: tuple[str, ...], pixels: np.ndarray) -> dict[str, dict[str, float]]:
    """Block → max |Keras − graph| and the graph map's max |value|."""
    expected, rebuilt = graph_maps(model_json, blocks, pixels), keras_maps(model_json, blocks, pixels)
    return {block: {"max_abs_diff": float(np.abs(got - want).max()), "max_abs": float(np.abs(want).max())}
            for block, want, got in zip(blocks, expected, rebuilt)}


def main(argv: list[str] | None = None) -> None:
    from models import quiet_tensorflow
    from models.data.pipeline import load_images

    quiet_tensorflow()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tfjs", type=Path, required=True, help="faceres.json (its .bin beside it)")
    parser.add_argument("--blocks", default="conv_pw_11,conv_pw_13")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("faces", nargs="+", type=Path)
    args = parser.parse_args(argv)
    pixels = load_images([str(f) for f in args.faces], args.size).astype(np.float32)
    for block, figures in parity(args.tfjs, tuple(args.blocks.split(",")), pixels).items():
        print(f"{block}: max |Keras - tf2onnx graph| = {figures['max_abs_diff']:.3g} over {len(pixels)} faces "
              f"(map values up to {figures['max_abs']:.3g}; relative {figures['max_abs_diff'] / figures['max_abs']:.2g})")


if __name__ == "__main__":
    main()
