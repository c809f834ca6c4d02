"""The model card, generated from a model folder's metadata so it never states an unmeasured figure."""
from __future__ import annotations

from pathlib import Path

from models.evaluation.report import balance_text, fmt, kind_lines, metrics_table, plot_lines, robustness_lines

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
    lines += _data_lines(data)
    lines += _head_lines(metadata.get("landmark_head"))
    lines += _backbone_lines(metadata.get("backbone"), metadata.get("feature_head"))
    if rule:
        lines.append(f"- Data rule: {rule}.")
    orientation = (metadata.get("data_rule") or {}).get("orientation_rule")
    if orientation:
        lines.append(f"- Orientation: {orientation} (core/orientation.py).")
    lines += _training_lines(metadata)
    if metadata.get("parity_max_abs_diff") is not None:
        lines.append("- Serving runtime: ONNX Runtime; largest difference from the Keras model: "
                     f"{metadata['parity_max_abs_diff']:.1e}.")
    return lines


def _backbone_lines(backbone: dict | None, head: dict | None) -> list[str]:
    """A backbone detector (models/training/detector.py): where its pretrained weights come from, and its head."""
    if not backbone:
        return []
    lines = [f"- Backbone: {backbone.get('network')}, frozen, from the {backbone.get('package')}; weights: "
             f"{backbone.get('weights')}. Converted by `{backbone.get('rebuild')}` (sha256 "
             f"`{str(backbone.get('sha256'))[:16]}…`)."]
    if head:
        aucs = "; ".join(f"{name} {fmt(auc)}" for name, auc in (head.get("validation_auc") or {}).items())
        lines.append(f"- Head: {head.get('model')}, C={head.get('C')} ({head.get('C_rule')}); "
                     f"{head.get('train_weighting', '')}. Validation ROC AUC: {aucs}.")
    return lines


def _head_lines(head: dict | None) -> list[str]:
    if not head:
        return []
    balance = head.get("train_balance") or {}
    aucs = head.get("validation_auc") or {}
    changes = "; ".join(f"{name} {fmt(aucs.get('cnn_alone', {}).get(name))} → {fmt(auc)}"
                        for name, auc in (aucs.get("with_head") or {}).items())
    trained_on = head.get("trained_on") or "the Train photos"
    return [f"- Landmark head: {head.get('model')} on {head.get('features')}, fitted on {trained_on} "
            f"(data folder `{head.get('data')}`; {balance_text(balance)}); added to the CNN by a soft OR of their "
            f"logits with offset {head['offset']:+.1f} ({head.get('offset_rule')}). Validation ROC AUC, CNN alone → "
            f"with the head: {changes}."]


def _sources(data: dict) -> list[dict]:
    return data.get("sources") or [data]


def _data_lines(data: dict) -> list[str]:
    if not data:
        return []
    lines = []
    for source in _sources(data):
        details = ", ".join(f"{k}={v}" for k, v in source.items() if k not in ("kind", "origin", "preparation"))
        lines.append(f"- Training data: {source.get('kind')}{f' ({details})' if details else ''}.")
    prep = data.get("preparation")
    if prep:
        lines.append(f"- Face crop as served: all {prep['images']} images went through the server's decode, face "
                     f"detector and crop ({prep['without_face']} without a face were used whole, as served).")
        if prep.get("self_blend_copies"):
            lines.append(f"- Self-blended fakes: {prep['self_blended']} made ({prep['self_blend_copies']} per real photo "
                         f"of the data folder's Train and Validation, one per real photo of its Test for the "
                         f"self-blended test set; seed {prep['self_blend_seed']}); "
                         f"{prep['self_blend_skipped']} real photos had no face or landmarks to blend.")
    return lines


def _limits_lines(data: dict) -> list[str]:
    """What the model was trained to catch (its data's fake kinds) and what it was not."""
    caught = []
    for source in _sources(data):
        if source.get("kind") == "synthetic":
            caught.append("the project's synthetic manipulations of package sample photos (region swaps with "
                          "blended seams, upsampling, resampling and colour mismatch)")
        elif source.get("kind") == "folder":
            caught.append(f"the kind of fakes in the Fake folders of `{source.get('path')}` (see the data's origin "
                          "below)")
    prepared = [data.get("preparation") or {}] + [(p.get("preparation") or {}) for p in data.get("prepared") or []]
    if any(p.get("self_blend_copies") for p in prepared):
        caught.append("face swaps, through self-blended fakes: a real face blended with a shifted, recoloured, "
                      "blurred or sharpened copy of itself (Shiohara & Yamasaki, CVPR 2022)")
    return ["## What this model can and cannot detect", "",
            "It was trained to catch:", "", *(f"- {kind}" for kind in caught), "",
            "It was **not** trained on, and should not be trusted for: images made by diffusion models, "
            "edits away from the face (backgrounds, objects, text), images without faces (the server then scores "
            "the whole image, which is weak evidence), and any other kind of fake not listed above. The figures "
            "above are measured on held-out sets of the kinds it was trained on; on other fakes it may do no "
            "better than chance. Treat every verdict as a pointer for a human reviewer.", ""]


SET_LABELS = {"test": "test: {data}'s Test split",
              "self_blended_test": "self-blended: one fake per real photo of {data}'s Test split, with those reals",
              "synthetic_holdout": "synthetic holdout (its own seed)"}


def _set_label(name: str, metadata: dict) -> str:
    """A test set's name with what it is, e.g. "test: faces-gan's Test split"."""
    folders = [s for s in _sources(metadata.get("training_data") or {}) if s.get("kind") == "folder"]
    data = Path(folders[0]["path"]).name if folders and folders[0].get("path") else "the data folder"
    return SET_LABELS.get(name, name).format(data=data)


def render_card(metadata: dict) -> str:
    """Markdown for a model card from `metadata.json` contents."""
    lines = [*_header(metadata), ""]
    validation = metadata.get("validation") or {}
    if validation and "n" not in validation:   # one report per validation set (models/training/detector.py)
        validation = {f"{name} (threshold chosen here)": report for name, report in validation.items()}
    else:
        validation = {"validation (threshold chosen here)": validation}
    sets = {**validation,
            **{_set_label(name, metadata): report for name, report in (metadata.get("metrics") or {}).items()}}
    if any(sets.values()):
        lines += ["## Measured figures", "", *metrics_table(sets), ""]
    else:
        lines.append(_NOT_MEASURED.format(version=metadata["version"]))
    robustness = metadata.get("robustness_by_set") or {}
    if not robustness and (metadata.get("robustness") or {}).get("rows"):
        robustness = {metadata["robustness"]["test_set"]: metadata["robustness"]["rows"]}
    for name, rows in robustness.items():
        lines += [f"## Robustness (on {_set_label(name, metadata)})", "",
                  "The AUC drop is the clean ROC AUC minus the degraded one (positive = worse).", "",
                  *robustness_lines(rows), ""]
    for name, report in (metadata.get("metrics") or {}).items():
        if report and report.get("by_kind"):
            lines += [f"## By kind of fake (on {_set_label(name, metadata)})", "",
                      "Each kind's fakes against all the reals of the set; a kind with few fakes carries a wide "
                      "sampling error.", "", *kind_lines(report["by_kind"]), ""]
    if metadata.get("plots"):
        lines += ["## Plots", "", *plot_lines(metadata["plots"]), ""]
    if (metadata.get("training_data") or {}).get("kind") == "synthetic":
        lines.append(_SYNTHETIC_LIMITS)
    elif metadata.get("training_data"):
        lines += _limits_lines(metadata["training_data"])
    for source in _sources(metadata.get("training_data") or {}):
        if source.get("origin"):
            lines += [f"## Training data: origin and terms ({source.get('path')})", "",
                      "From the data folder's README.md, as shipped with the data:", "",
                      *(f"> {line}".rstrip() for line in source["origin"].splitlines()), ""]
    if metadata.get("rebuild_command"):
        lines += ["## Rebuild", "", "```", metadata["rebuild_command"], "```", ""]
    return "\n".join(lines)


def write_card(folder: Path, metadata: dict) -> Path:
    path = Path(folder) / CARD_FILE
    path.write_text(render_card(metadata))
    return path
