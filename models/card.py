"""The model card, generated from a model folder's metadata so it never states an unmeasured figure."""
from __future__ import annotations

from pathlib import Path

CARD_FILE = "MODEL_CARD.md"

_SYNTHETIC_LIMITS = """\
## What this model can and cannot detect

This model was trained **only on synthetic manipulations** that the project generates from photos
shipped inside Python packages (scikit-image, scikit-learn and matplotlib sample images): region
swaps with blended seams, generator-style upsampling, resampling and colour mismatch, with real and
fake examples re-encoded the same way. It detects those manipulations.

It has **not been validated on real deepfakes** (face swaps, GAN or diffusion images from the web).
Its verdicts on real-world images are a demonstration of the pipeline, not evidence. Treat every
verdict as a pointer for a human reviewer.

To train on real data instead, put OpenForensics (or your own) face images in the seed's layout
`DIR/{Train,Validation,Test}/{Real,Fake}/*.jpg` and run
`deepfake-guard train --data DIR --arch efficientnetv2b0 --epochs 10 --out runs/openforensics`,
then serve it with `DFG_MODEL_DIR=runs/openforensics`.
"""


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_card(metadata: dict) -> str:
    """Markdown for a model card from `metadata.json` contents."""
    training = metadata.get("training", {})
    data = metadata.get("training_data", {})
    lines = [
        f"# Model card: {metadata['version']}",
        "",
        f"- Architecture: `{metadata.get('architecture')}`, input {metadata['input_size']}×{metadata['input_size']} "
        "RGB, raw 0–255 pixels (scaling is inside the model).",
        f"- Output: {metadata.get('output')}.",
        f"- Threshold {metadata['threshold']:.3f} ({metadata.get('threshold_rule')}); uncertain band "
        f"[{metadata['uncertain_band'][0]:.3f}, {metadata['uncertain_band'][1]:.3f}) ({metadata.get('band_rule')}).",
        f"- Training data: {data.get('kind')} ({', '.join(f'{k}={v}' for k, v in data.items() if k != 'kind')}).",
        f"- Training: {training.get('epochs_run')} epochs of at most {training.get('max_epochs')}, "
        f"{training.get('seconds_per_epoch')} s/epoch, {training.get('seconds')} s in all on the machine that built it; "
        f"seed {training.get('seed')}, augmentation `{training.get('augment')}`.",
        f"- Serving runtime: ONNX Runtime; largest difference from the Keras model on validation images: "
        f"{metadata.get('parity_max_abs_diff', float('nan')):.1e}.",
        "",
        "## Measured figures",
        "",
        "| test set | n | accuracy | precision | recall | F1 | ROC AUC | avg. precision | band coverage | acc. in band | acc. outside |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sets = {"validation (threshold chosen here)": metadata.get("validation", {}), **metadata.get("metrics", {})}
    for name, report in sets.items():
        if not report:
            continue
        lines.append(f"| {name} | {report['n']} | {_fmt(report['accuracy'])} | {_fmt(report['precision'])} | "
                     f"{_fmt(report['recall'])} | {_fmt(report['f1'])} | {_fmt(report['roc_auc'])} | "
                     f"{_fmt(report['average_precision'])} | {_fmt(report.get('band_coverage'))} | "
                     f"{_fmt(report.get('accuracy_inside_band'))} | {_fmt(report.get('accuracy_outside_band'))} |")
    lines.append("")
    if data.get("kind") == "synthetic":
        lines.append(_SYNTHETIC_LIMITS)
    if metadata.get("rebuild_command"):
        lines += ["## Rebuild", "", "```", metadata["rebuild_command"], "```", ""]
    return "\n".join(lines)


def write_card(folder: Path, metadata: dict) -> Path:
    path = Path(folder) / CARD_FILE
    path.write_text(render_card(metadata))
    return path
