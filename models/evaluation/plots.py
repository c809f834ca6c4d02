"""Evaluation plots as small PNG files (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

DPI = 90
FIGSIZE = (4.6, 3.6)
PLOTS_DIR = "plots"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    _pyplot().close(figure)
    return path


def roc_curve(labels: np.ndarray, scores: np.ndarray, path: Path, title: str = "ROC") -> Path:
    from sklearn import metrics as sk

    plt = _pyplot()
    fpr, tpr, _ = sk.roc_curve(labels, scores)
    figure, axes = plt.subplots(figsize=FIGSIZE)
    axes.plot(fpr, tpr, label=f"AUC {sk.auc(fpr, tpr):.3f}")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axes.set(xlabel="false positive rate (real called fake)", ylabel="true positive rate", title=title,
             xlim=(0, 1), ylim=(0, 1.01))
    axes.legend(loc="lower right")
    return _save(figure, path)


def pr_curve(labels: np.ndarray, scores: np.ndarray, path: Path, title: str = "Precision–recall") -> Path:
    from sklearn import metrics as sk

    plt = _pyplot()
    precision, recall, _ = sk.precision_recall_curve(labels, scores)
    figure, axes = plt.subplots(figsize=FIGSIZE)
    axes.plot(recall, precision, label=f"AP {sk.average_precision_score(labels, scores):.3f}")
    axes.axhline(float(np.mean(labels)), color="grey", linestyle=":", linewidth=1, label="chance")
    axes.set(xlabel="recall (fakes found)", ylabel="precision", title=title, xlim=(0, 1), ylim=(0, 1.01))
    axes.legend(loc="lower left")
    return _save(figure, path)


def confusion_matrix(matrix: dict, path: Path, title: str = "Confusion matrix") -> Path:
    plt = _pyplot()
    cells = np.array([[matrix["tn"], matrix["fp"]], [matrix["fn"], matrix["tp"]]])
    figure, axes = plt.subplots(figsize=(3.8, 3.4))
    axes.imshow(cells, cmap="Blues")
    for (row, column), count in np.ndenumerate(cells):
        axes.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > cells.max() / 2 else "black", fontsize=12)
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["real", "fake"], yticklabels=["real", "fake"],
             xlabel="predicted", ylabel="true", title=title)
    return _save(figure, path)


def training_history(history: dict[str, list[float]], path: Path) -> Path:
    """Loss and ROC AUC per epoch, training and validation."""
    plt = _pyplot()
    figure, (loss_axes, auc_axes) = plt.subplots(1, 2, figsize=(7.6, 3.2))
    for key, axes in (("loss", loss_axes), ("auc", auc_axes)):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + key)
            if values:
                axes.plot(range(1, len(values) + 1), values, style, label=("validation" if prefix else "training"))
        axes.set(xlabel="epoch", title="ROC AUC" if key == "auc" else "loss")
        axes.legend()
    return _save(figure, path)


def learning_curve(rows: list[dict], path: Path) -> Path:
    """A fine-tune's curve (models/training/finetune.py curve.csv rows): training loss, and ROC AUC of each `auc_*` set."""
    plt = _pyplot()
    epochs = [int(row["epoch"]) for row in rows]
    figure, (loss_axes, auc_axes) = plt.subplots(1, 2, figsize=(7.6, 3.2))
    loss_axes.plot(epochs, [float(row["loss"]) for row in rows])
    loss_axes.set(xlabel="epoch", title="training loss")
    keys = [key for key in rows[0] if key.startswith("auc_")] if rows else []
    sources = list(dict.fromkeys(key.removeprefix("auc_").rsplit("-", 1)[0] for key in keys))
    for key in keys:   # a colour per source, dashed for its validation split
        name = key.removeprefix("auc_")
        auc_axes.plot(epochs, [float(row[key]) for row in rows], "--" if "Validation" in key else "-",
                      color=f"C{sources.index(name.rsplit('-', 1)[0])}", label=name)
    auc_axes.set(xlabel="epoch", title="ROC AUC")
    auc_axes.legend(fontsize="small")
    return _save(figure, path)


def robustness_bars(rows: list[dict], path: Path) -> Path:
    plt = _pyplot()
    names = [row["condition"] for row in rows]
    aucs = [row["roc_auc"] or 0.0 for row in rows]
    figure, axes = plt.subplots(figsize=(5.6, 3.4))
    bars = axes.bar(range(len(rows)), aucs, color=["#4c72b0"] + ["#dd8452"] * (len(rows) - 1))
    for bar, auc in zip(bars, aucs):
        axes.text(bar.get_x() + bar.get_width() / 2, auc + 0.01, f"{auc:.3f}", ha="center", fontsize=8)
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    axes.set(ylabel="ROC AUC", ylim=(min(0.4, min(aucs) - 0.05), 1.05), title="Robustness")
    axes.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    return _save(figure, path)


def write_plots(folder: Path, labels: np.ndarray, scores: np.ndarray, report: dict, robustness: list[dict] | None,
                history: dict | None, test_name: str) -> list[str]:
    """All evaluation plots into folder/plots; returns their paths relative to `folder`."""
    out = Path(folder) / PLOTS_DIR
    written = [roc_curve(labels, scores, out / "roc.png", f"ROC — {test_name}"),
               pr_curve(labels, scores, out / "pr.png", f"Precision–recall — {test_name}"),
               confusion_matrix(report["confusion_matrix"], out / "confusion_matrix.png",
                                f"At threshold {report['threshold']:.3f}")]
    if robustness:
        written.append(robustness_bars(robustness, out / "robustness.png"))
    if history and history.get("loss"):
        written.append(training_history(history, out / "training_history.png"))
    return [str(path.relative_to(folder)) for path in written]
