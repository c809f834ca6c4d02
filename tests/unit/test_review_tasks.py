"""Task data and the prediction sent with it, validated against the labeling config itself."""
from __future__ import annotations

import pytest

from feedback.tasks import LABEL_CONFIG, config_controls, prediction, task_fields, upload_name, validate_prediction


def test_the_config_has_one_object_data_key_and_our_controls():
    import xml.etree.ElementTree as ElementTree

    objects = [e for e in ElementTree.fromstring(LABEL_CONFIG).iter() if e.tag in ("Image", "Text", "Audio", "Video")]
    assert [e.get("value") for e in objects] == ["$image"]   # a second one makes LS refuse uploads (400)
    assert config_controls() == {"label": ("choices", "image", frozenset({"Real", "Fake", "Can't tell"})),
                                 "faces": ("rectanglelabels", "image", frozenset({"Face"}))}


def test_prediction_in_percent_with_the_confidence_of_the_choice():
    faces = [{"box": [100, 50, 200, 100], "fake_probability": 0.9}]
    result, score = prediction("fake", 0.9, faces, width=400, height=200)
    validate_prediction(result)
    assert result[0]["value"] == {"choices": ["Fake"]} and score == 0.9
    assert result[1]["value"] == {"x": 25.0, "y": 25.0, "width": 50.0, "height": 50.0, "rotation": 0,
                                  "rectanglelabels": ["Face"]}
    assert result[1]["original_width"] == 400
    assert prediction("real", 0.2, [], 10, 10)[1] == 0.8
    assert prediction("uncertain", 0.5, [], 10, 10) == ([{"id": "verdict", "from_name": "label", "to_name": "image",
                                                          "type": "choices", "value": {"choices": ["Can't tell"]}}], 1.0)


def test_boxes_are_clipped_to_the_image_and_empty_ones_dropped():
    faces = [{"box": [-10, -10, 50, 50]}, {"box": [90, 90, 40, 40]}, {"box": [200, 200, 10, 10]}]
    result, _ = prediction("fake", 0.7, faces, width=100, height=100)
    validate_prediction(result)
    boxes = [r["value"] for r in result[1:]]
    assert [(b["x"], b["y"], b["width"], b["height"]) for b in boxes] == [(0, 0, 40, 40), (90, 90, 10, 10)]


@pytest.mark.parametrize("region, words", [
    ({"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["Maybe"]}}, "not one of"),
    ({"from_name": "verdict", "to_name": "image", "type": "choices", "value": {"choices": ["Fake"]}}, "no such control"),
    ({"from_name": "label", "to_name": "img", "type": "choices", "value": {"choices": ["Fake"]}}, "must be type"),
    ({"from_name": "faces", "to_name": "image", "type": "rectanglelabels",
      "value": {"x": 80, "y": 0, "width": 30, "height": 10, "rectanglelabels": ["Face"]}}, "outside the image"),
    ({"from_name": "faces", "to_name": "image", "type": "rectanglelabels",
      "value": {"x": "a", "y": 0, "width": 3, "height": 1, "rectanglelabels": ["Face"]}}, "non-numeric"),
    ({"from_name": "faces", "to_name": "image", "type": "rectanglelabels",
      "value": {"x": 1, "y": 1, "width": 3, "height": 1, "rectanglelabels": ["Head"]}}, "not one of"),
])
def test_invalid_predictions_are_refused(region, words):
    with pytest.raises(ValueError, match=words):
        validate_prediction([region])


def test_task_fields_say_why_the_task_is_there():
    disputed = task_fields("dfg-x", "c1", "disputed", "v1", 0.81234, "real", "my photo")
    assert disputed["why"].startswith("Disputed: the user says this image is REAL") and "my photo" in disputed["why"]
    assert disputed["fake_probability"] == 0.8123 and disputed["user_comment"] == "my photo"
    uncertain = task_fields("dfg-x", "c1", "uncertain", "v1", 0.5)
    assert uncertain["why"].startswith("Uncertain") and uncertain["user_label"] == ""
    assert upload_name("dfg-x", "jpeg") == ("dfg-x.jpg", "image/jpeg")
    assert upload_name("dfg-x", "PNG") == ("dfg-x.png", "image/png")
