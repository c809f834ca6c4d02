"""Markdown tables and the evaluation report. Every figure printed comes from a measurement passed in."""
from __future__ import annotations

PLOT_TITLES = {"roc.png": "ROC curve", "pr.png": "Precision–recall curve",
               "confusion_matrix.png": "Confusion matrix", "robustness.png": "Robustness",
               "training_history.png": "Training history"}


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def metrics_table(sets: dict[str, dict]) -> list[str]:
    """One row per test set: the classification report at the model's threshold, with the band."""
    lines = ["| test set | n | ROC AUC | False alarms (reals called fake) | catch rate (fakes called fake) "
             "| uncertain share | accuracy | precision | recall | F1 | avg. precision | confusion (tn fp fn tp) "
             "| acc. in band | acc. outside |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, report in sets.items():
        if not report:
            continue
        cm = report.get("confusion_matrix") or {}
        confusion = " ".join(str(cm.get(k, "")) for k in ("tn", "fp", "fn", "tp"))
        lines.append(f"| {name} | {report['n']} | {fmt(report['roc_auc'])} | {fmt(report.get('false_alarm_rate'))} | "
                     f"{fmt(report.get('catch_rate'))} | {fmt(report.get('band_coverage'))} | "
                     f"{fmt(report['accuracy'])} | {fmt(report['precision'])} | {fmt(report['recall'])} | "
                     f"{fmt(report['f1'])} | {fmt(report['average_precision'])} | {confusion} | "
                     f"{fmt(report.get('accuracy_inside_band'))} | {fmt(report.get('accuracy_outside_band'))} |")
    return lines


def robustness_lines(rows: list[dict]) -> list[str]:
    lines = ["| condition | what was done | ROC AUC | AUC drop | accuracy | recall | false positive rate |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['condition']} | {row['description']} | {fmt(row['roc_auc'])} | {fmt(row['auc_drop'])} | "
                     f"{fmt(row['accuracy'])} | {fmt(row['recall'])} | {fmt(row['false_positive_rate'])} |")
    return lines


def kind_lines(rows: list[dict]) -> list[str]:
    """Per kind of fake (models.evaluation.metrics.by_kind): its fakes against all the reals of the test set."""
    lines = ["| kind of fake | fakes | ROC AUC (against all reals) | recall at the threshold |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['kind']} | {row['fakes']} | {fmt(row['roc_auc'])} | {fmt(row['recall'])} |")
    return lines


def plot_lines(plots: list[str]) -> list[str]:
    lines = []
    for path in plots:
        title = PLOT_TITLES.get(path.rsplit("/", 1)[-1], path)
        lines.append(f"![{title}]({path})")
    return lines


def balance_text(balance: dict | None) -> str:
    if not balance:
        return "n/a"
    return ", ".join(f"{name} {count}" for name, count in balance.items())


def render_report(metadata: dict, test_name: str, report: dict, robustness: list[dict] | None,
                  plots: list[str], data_description: str = "") -> str:
    """The evaluation report (Markdown) of one model on one test set."""
    band = metadata.get("uncertain_band") or [report["threshold"], report["threshold"]]
    lines = [
        f"# Evaluation of {metadata.get('version')} on {test_name}",
        "",
        f"- Data: {data_description or test_name}; classes: {balance_text(report.get('balance'))}.",
        f"- Threshold {fmt(report['threshold'])} ({metadata.get('threshold_rule', 'from the model metadata')}); "
        f"uncertain band [{fmt(float(band[0]))}, {fmt(float(band[1]))}) "
        f"({metadata.get('band_rule', 'from the model metadata')}).",
    ]
    quality = (metadata.get("data_rule") or {}).get("reencode_jpeg_quality")
    if quality:
        lines.append(f"- Every image was re-encoded as JPEG at quality {quality} before scoring (the model's "
                     "format-shortcut rule).")
    lines += ["", "## Metrics", "", *metrics_table({test_name: report}), ""]
    if robustness:
        lines += ["## Robustness", "", "The AUC drop is the clean ROC AUC minus the degraded one (positive = worse).",
                  "", *robustness_lines(robustness), ""]
    if report.get("by_kind"):
        lines += ["## By kind of fake", "", *kind_lines(report["by_kind"]), ""]
    if plots:
        lines += ["## Plots", "", *plot_lines(plots), ""]
    return "\n".join(lines)
