"""The model card, generated from a model folder's metadata so it never states an unmeasured figure."""
from __future__ import annotations

from pathlib import Path

from .report import balance_text, fmt, metrics_table, plot_lines, robustness_lines

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
`deepfake-guard train --data DIR --arch efficientnetv2b0 --epochs 10`, then
`deepfake-guard models promote VERSION` to serve it.
"""

_NOT_MEASURED = """\
## Measured figures

None: this model was registered without test data, so nothing about its accuracy was measured here.
Measure it with `deepfake-guard evaluate --model {version} --data DIR`.
"""


def _training_lines(metadata: dict) -> list[str]:
    training = metadata.get("training")
    if not training:
        return []
    lines = [f"- Training: {training.get('epochs_run')} epochs of at most {training.get('max_epochs')}, "
             f"{training.get('seconds_per_epoch')} s/epoch, {training.get('seconds')} s in all on the machine that "
             f"built it; seed {training.get('seed')}, augmentation `{training.get('augment')}`."]
    balance = training.get("balance") or {}
    if balance:
        lines.append("- Class balance: " + "; ".join(f"{split}: {balance_text(counts)}"
                                                    for split, counts in balance.items() if any(counts.values())) + ".")
    if training.get("class_weights"):
        weights = training["class_weights"]
        lines.append(f"- Unbalanced training classes, so the loss was weighted: real {fmt(float(weights['real']))}, "
                     f"fake {fmt(float(weights['fake']))} per example.")
    return lines


def _header(metadata: dict) -> list[str]:
    size = metadata["input_size"]
    data = metadata.get("training_data") or {}
    rule = (metadata.get("data_rule") or {}).get("rule")
    lines = [
        f"# Model card: {metadata['version']}",
        "",
        f"- Architecture: `{metadata.get('architecture')}`, input {size}×{size} RGB, raw 0–255 pixels "
        "(scaling is inside the model).",
        f"- Output: {metadata.get('output')}.",
    ]
    imported = metadata.get("imported")
    if imported and imported.get("output_flipped"):
        lines.append(f"- Imported from `{imported.get('source')}` ({imported.get('format')}), whose output was "
                     "P(real) (class folders Fake=0, Real=1): this model wraps it as **1 − P(real)**, so it outputs "
                     "P(fake) like every other model here.")
    if metadata.get("parent_version"):
        lines.append(f"- Parent version: `{metadata['parent_version']}`.")
    lines.append(f"- Threshold {metadata['threshold']:.3f} ({metadata.get('threshold_rule')}); uncertain band "
                 f"[{metadata['uncertain_band'][0]:.3f}, {metadata['uncertain_band'][1]:.3f}) ({metadata.get('band_rule')}).")
    if data:
        details = ", ".join(f"{k}={v}" for k, v in data.items() if k != "kind")
        lines.append(f"- Training data: {data.get('kind')}{f' ({details})' if details else ''}.")
    if rule:
        lines.append(f"- Data rule: {rule}.")
    lines += _training_lines(metadata)
    if metadata.get("parity_max_abs_diff") is not None:
        lines.append("- Serving runtime: ONNX Runtime; largest difference from the Keras model: "
                     f"{metadata['parity_max_abs_diff']:.1e}.")
    return lines


def render_card(metadata: dict) -> str:
    """Markdown for a model card from `metadata.json` contents."""
    lines = [*_header(metadata), ""]
    sets = {"validation (threshold chosen here)": metadata.get("validation") or {}, **(metadata.get("metrics") or {})}
    if any(sets.values()):
        lines += ["## Measured figures", "", *metrics_table(sets), ""]
    else:
        lines.append(_NOT_MEASURED.format(version=metadata["version"]))
    robustness = metadata.get("robustness")
    if robustness and robustness.get("rows"):
        lines += [f"## Robustness (on {robustness['test_set']})", "",
                  "The AUC drop is the clean ROC AUC minus the degraded one (positive = worse).", "",
                  *robustness_lines(robustness["rows"]), ""]
    if metadata.get("plots"):
        lines += ["## Plots", "", *plot_lines(metadata["plots"]), ""]
    if (metadata.get("training_data") or {}).get("kind") == "synthetic":
        lines.append(_SYNTHETIC_LIMITS)
    if metadata.get("rebuild_command"):
        lines += ["## Rebuild", "", "```", metadata["rebuild_command"], "```", ""]
    return "\n".join(lines)


def write_card(folder: Path, metadata: dict) -> Path:
    path = Path(folder) / CARD_FILE
    path.write_text(render_card(metadata))
    return path
