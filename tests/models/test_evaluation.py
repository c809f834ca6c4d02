"""Evaluation numbers on tiny sets with known answers: metrics, threshold and band rules, robustness, report."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from models.evaluation.metrics import COMBINED_KIND, by_kind, choose_threshold, classification_report, uncertain_band
from models.evaluation.robustness import CONDITIONS, degrade, robustness_table


def test_classification_report_on_a_hand_counted_set():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.6, 0.3, 0.7, 0.8, 0.4, 0.9])
    report = classification_report(labels, scores, threshold=0.5)
    # At 0.5: real 0.6 is a false positive, fake 0.4 a false negative.
    assert report["confusion_matrix"] == {"tn": 3, "fp": 1, "fn": 1, "tp": 3}
    assert report["accuracy"] == pytest.approx(6 / 8)
    assert report["precision"] == pytest.approx(3 / 4) and report["recall"] == pytest.approx(3 / 4)
    assert report["f1"] == pytest.approx(3 / 4)
    # Of the 16 (real, fake) pairs only (0.6, 0.4) is ranked wrong → AUC = 15/16.
    assert report["roc_auc"] == pytest.approx(15 / 16)
    # Average precision: ranks 0.9 0.8 0.7 (fakes) 0.6 (real) 0.4 (fake) → (1 + 1 + 1 + 4/5) / 4.
    assert report["average_precision"] == pytest.approx((3 + 4 / 5) / 4)


def test_threshold_maximises_balanced_accuracy_and_prefers_the_cut_nearest_half():
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert choose_threshold(labels, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])) == pytest.approx(0.7)
    # Separable below 0.5: the rule moves the threshold to the perfect cut.
    assert choose_threshold(labels, np.array([0.01, 0.02, 0.03, 0.2, 0.3, 0.4])) == pytest.approx(0.2)


def test_band_holds_the_predictions_nearest_the_threshold():
    scores = np.linspace(0, 1, 101)  # 0.00, 0.01, …, 1.00
    low, high = uncertain_band(scores, threshold=0.5, coverage=0.1)
    inside = (scores >= low) & (scores < high)
    assert low == pytest.approx(0.45) and high == pytest.approx(0.55)
    assert inside.sum() == 10  # [0.45, 0.55): the tenth of predictions nearest 0.5
    assert uncertain_band(scores, 0.5, coverage=0) == (0.5, 0.5)


def test_band_accuracy_inside_and_outside():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    scores = np.array([0.05, 0.95, 0.1, 0.9, 0.52, 0.48, 0.2, 0.8])  # the two near 0.5 are both wrong
    report = classification_report(labels, scores, 0.5, band=(0.4, 0.6))
    assert report["band_coverage"] == pytest.approx(2 / 8)
    assert report["accuracy_inside_band"] == 0.0 and report["accuracy_outside_band"] == 1.0


def test_by_kind_scores_each_kind_of_fake_against_all_reals():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.9, 0.5, 0.7, 0.25, 0.8, 0.4])
    kinds = ["", "", "", "", "copy_move", "copy_move", "resample", "resample", "a+b", ""]
    rows = {row["kind"]: row for row in by_kind(labels, scores, kinds, threshold=0.55)}
    assert set(rows) == {"copy_move", "resample", COMBINED_KIND}   # the fake of unknown kind is left out
    # copy_move 0.9 beats all 4 reals, 0.5 beats 3 of 4 → 7/8; recall at 0.55: 1 of 2
    assert rows["copy_move"]["roc_auc"] == pytest.approx(7 / 8) and rows["copy_move"]["recall"] == 0.5
    # resample 0.7 beats 4, 0.25 beats 2 → 6/8
    assert rows["resample"]["roc_auc"] == pytest.approx(6 / 8) and rows["resample"]["fakes"] == 2
    assert rows[COMBINED_KIND] == {"kind": COMBINED_KIND, "fakes": 1, "roc_auc": 1.0, "recall": 1.0}
    assert by_kind(labels[4:], scores[4:], kinds[4:], 0.5) == []   # no reals to compare with


def _images(count: int, seed: int, detail: bool) -> np.ndarray:
    """Smooth images; with detail, a fine ±40 checkerboard on top (what resize and blur erase)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, 64, dtype=np.float32)
    out = []
    for _ in range(count):
        base = 60 + 120 * np.outer(ramp, ramp)[..., None] * rng.uniform(0.5, 1.0, size=3)
        if detail:
            base = base + 40 * ((np.indices((64, 64)).sum(axis=0) % 2) * 2 - 1)[..., None]
        out.append(np.clip(base, 0, 255).astype(np.uint8))
    return np.stack(out)


def _high_frequency(images: np.ndarray) -> np.ndarray:
    grey = images.astype(np.float32).mean(axis=3)
    energy = np.abs(np.diff(grey, axis=1)).mean(axis=(1, 2))
    return energy / (energy + 5.0)


def _brightness(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32).mean(axis=(1, 2, 3)) / 255.0


def test_robustness_table_rows_and_drops():
    images = np.concatenate([_images(6, 1, detail=False), _images(6, 2, detail=True)])
    labels = np.array([0] * 6 + [1] * 6)
    rows = robustness_table(_high_frequency, images, labels, threshold=0.5)
    assert [row["condition"] for row in rows] == list(CONDITIONS)
    by_name = {row["condition"]: row for row in rows}
    assert by_name["clean"]["roc_auc"] == 1.0 and by_name["clean"]["auc_drop"] == 0.0
    for row in rows:
        assert row["auc_drop"] == pytest.approx(1.0 - row["roc_auc"])
    # A 1-pixel checkerboard does not survive a 0.5× resize or a blur: the score loses its cue.
    assert by_name["resize_0.5x"]["recall"] == 0.0
    assert by_name["blur"]["mean_fake_probability"] < by_name["clean"]["mean_fake_probability"] / 2
    # A cue that survives everything (brightness) loses nothing.
    bright = np.concatenate([_images(6, 3, False) // 2, _images(6, 4, False)])
    for row in robustness_table(_brightness, bright, labels, threshold=0.4):
        assert row["roc_auc"] == 1.0 and row["auc_drop"] == 0.0


def test_degradations_do_what_they_say():
    image = _images(1, 5, detail=True)
    assert degrade(image, "clean") is image
    for condition in CONDITIONS:
        assert degrade(image, condition).shape == image.shape
    # Resize: the same as PIL's shrink and enlarge; blur: less detail; JPEG: close to the original.
    small = Image.fromarray(image[0]).resize((32, 32), Image.Resampling.BILINEAR)
    expected = np.asarray(small.resize((64, 64), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(degrade(image, "resize_0.5x")[0], expected)
    assert _high_frequency(degrade(image, "blur"))[0] < _high_frequency(image)[0]
    assert np.abs(degrade(image, "jpeg_q60").astype(int) - image).mean() < 25
    np.testing.assert_array_equal(degrade(image, "mirror"), image[:, :, ::-1])
    with pytest.raises(ValueError, match="unknown condition"):
        degrade(image, "rotate")


def _figures(value) -> set[str]:
    """Every number in a metadata tree, written the ways the card writes numbers."""
    if isinstance(value, dict):
        return set().union(*map(_figures, value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*map(_figures, value)) if value else set()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return set()
    return {f"{value:.3f}", f"{value:.1e}", str(value)}


def test_card_and_report_state_only_measured_figures():
    import re

    from models.evaluation.card import render_card
    from models.evaluation.report import render_report

    images = np.concatenate([_images(6, 1, detail=False), _images(6, 2, detail=True)])
    labels = np.array([0] * 6 + [1] * 6)
    scores = _high_frequency(images)
    report = classification_report(labels, scores, 0.5, (0.45, 0.55))
    rows = robustness_table(_high_frequency, images, labels, 0.5)
    report["by_kind"] = by_kind(labels, scores, [""] * 6 + ["blur"] * 3 + ["noise"] * 3, 0.5)
    metadata = {"version": "v-test", "input_size": 64, "architecture": "small_cnn", "output": "P(fake)",
                "threshold": 0.5, "uncertain_band": [0.45, 0.55], "validation": report, "metrics": {"test": report},
                "robustness": {"test_set": "test", "rows": rows}, "plots": ["plots/roc.png"],
                "parity_max_abs_diff": 3.2e-07}
    for text in (render_card(metadata), render_report(metadata, "test", report, rows, ["plots/roc.png"])):
        stated = set(re.findall(r"-?\d+\.\d{3}\b", text)) | set(re.findall(r"\d\.\de-\d\d", text))
        assert stated, "no figures at all"
        assert stated <= _figures(metadata), stated - _figures(metadata)
        assert "jpeg_q60+resize_0.5x" in text
        assert "By kind of fake" in text and "| noise | 3 |" in text
    bare = render_card({k: metadata[k] for k in ("version", "input_size", "architecture", "output", "threshold",
                                                  "uncertain_band")})
    assert "nothing about its accuracy was measured" in bare and "ROC AUC" not in bare
