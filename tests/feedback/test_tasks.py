"""Task data and the prediction sent with it, validated against the labeling config itself."""
from __future__ import annotations

import pytest

from feedback.tasks import (
    LABEL_CONFIG,
    ModelRule,
    Prediction,
    ReviewProgress,
    ReviewRequest,
    config_controls,
    model_sentence,
    prediction,
    task_fields,
    upload_name,
    validate_prediction,
)


def test_the_config_has_our_controls_and_no_default_choice():
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.fromstring(LABEL_CONFIG)
    objects = [e for e in root.iter() if e.tag in ("Image", "HyperText", "Text", "Audio", "Video")]
    assert [e.get("value") for e in objects] == ["$image", "$heatmaps", "$page_link"]   # uploads go to the image store
    assert config_controls() == {"label": ("choices", "image", frozenset({"Real", "Fake", "Can't tell"})),
                                 "faces": ("rectanglelabels", "image", frozenset({"Face"}))}
    [choices] = root.iter("Choices")
    assert choices.get("choice") == "single-radio" and choices.get("required") == "true"   # cannot be unticked
    assert not any(choice.get("selected") for choice in choices.iter("Choice"))
    headers = [e.get("value") for e in root.iter("Header")]
    assert {"$why", "$model", "$reviews", "$faces_text"} <= set(headers)
    assert any("Can't tell" in (text or "") for text in headers)            # the instructions say when


def test_prediction_holds_scored_face_boxes_and_never_a_choice():
    faces = [{"box": [100, 50, 200, 100], "fake_probability": 0.9}]
    result, score = prediction(0.9, faces, width=400, height=200)
    validate_prediction(result)
    assert score == 0.9 and [r["type"] for r in result] == ["rectanglelabels"]
    assert result[0]["value"] == {"x": 25.0, "y": 25.0, "width": 50.0, "height": 50.0, "rotation": 0,
                                  "rectanglelabels": ["Face"]}
    assert result[0]["original_width"] == 400 and result[0]["score"] == 0.9
    assert prediction(0.2, [], 10, 10) == ([], 0.2)     # the score is the fake probability, as in the header


def test_boxes_are_clipped_to_the_image_and_empty_ones_dropped():
    faces = [{"box": [-10, -10, 50, 50]}, {"box": [90, 90, 40, 40]}, {"box": [200, 200, 10, 10]}]
    result, _ = prediction(0.7, faces, width=100, height=100)
    validate_prediction(result)
    boxes = [r["value"] for r in result]
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


def test_task_fields_say_why_the_task_is_there_and_what_the_model_said():
    rule = ModelRule(threshold=0.912, uncertain_band=(0.85, 0.95))
    faces = [{"box": [0, 0, 5, 5], "fake_probability": 0.93}, {"box": [5, 5, 5, 5], "fake_probability": 0.1234}]
    disputed = task_fields("dfg-x", "c1", Prediction("real", 0.81234, "v1", faces=faces, rule=rule),
                           ReviewRequest("disputed", user_label="fake", user_comment="my photo",
                                         page_url="https://news.example/a?b=1&c=<2>"))
    assert disputed["why"] == 'Disputed: the user says this image is FAKE — "my photo"'
    assert disputed["model"] == "Model v1 says REAL: fake score 0.81, below its threshold 0.91"
    assert disputed["fake_probability"] == 0.8123 and disputed["threshold"] == 0.912
    assert disputed["face_scores"] == [0.93, 0.1234] and disputed["faces_text"].endswith("1: 0.93 · 2: 0.12")
    assert disputed["page_url"] == "https://news.example/a?b=1&c=<2>"
    assert disputed["page_link"] == ('Page: <a href="https://news.example/a?b=1&amp;c=&lt;2&gt;" target="_blank" '
                                     'rel="noopener noreferrer">https://news.example/a?b=1&amp;c=&lt;2&gt;</a>')
    assert list(disputed)[:4] == ["why", "model", "user_label", "user_comment"]   # data manager columns first
    uncertain = task_fields("dfg-x", "c1", Prediction("uncertain", 0.9, "v1", rule=rule),
                            ReviewRequest("uncertain", page_url="javascript:alert(1)"))
    assert uncertain["why"].startswith("Uncertain") and uncertain["user_label"] == ""
    assert "inside its uncertain band 0.85–0.95" in uncertain["model"] and "CAN'T TELL" in uncertain["model"]
    assert "<a" not in uncertain["page_link"]                               # only http(s) becomes a link
    fake = task_fields("dfg-x", "c1", Prediction("fake", 0.95, "v1"), ReviewRequest("disputed"))
    assert fake["model"] == "Model v1 says FAKE: fake score 0.95" and fake["threshold"] is None


def test_review_progress_in_words():
    assert ReviewProgress({}, 0, False, 3).text() == ""
    progress = ReviewProgress({"cant_tell": 1}, 1, False, 3)
    assert progress.wants_another and progress.text().startswith("Needs another reviewer: 1 answer so far (1 Can't tell)")
    tie = ReviewProgress({"real": 1, "fake": 1}, 2, False, 3)
    assert tie.wants_another and "(1 Real, 1 Fake)" in tie.text() and "review 3 of at most 3" in tie.text()
    closed = ReviewProgress({"cant_tell": 3}, 3, True, 3)
    assert not closed.wants_another and closed.text().startswith("Closed undecided after 3 answers")
    against = ReviewProgress({"real": 1}, 1, False, 3, second_opinion=True)
    assert against.wants_another and against.text().startswith("Needs a second reviewer: 1 answer so far (1 Real)")
    assert "Review 2 of at most 3" in against.text()
    decided = ReviewProgress({"fake": 1}, 1, False, 3, label="fake")     # a later dispute must not reopen it
    assert not decided.wants_another and decided.text() == ""


def test_upload_names_carry_the_ext_id():
    assert upload_name("dfg-x", "jpeg") == ("dfg-x.jpg", "image/jpeg")
    assert upload_name("dfg-x", "PNG") == ("dfg-x.png", "image/png")


def test_a_declared_verdict_and_the_provenance_line_reach_the_task():
    declared = {"summary": "Content Credentials: created by ExampleGen, declares AI-generated", "declared_ai": True}
    fields = task_fields("dfg-x", "c1", Prediction("fake", 0.12, "v1", decided_by="declared", provenance=declared),
                         ReviewRequest("disputed", user_label="real"))
    assert fields["provenance"] == declared["summary"] and fields["model"].startswith("Verdict FAKE: the image's own")
    assert task_fields("x", "c", Prediction("real", 0.1, "v1"), ReviewRequest("uncertain"))["provenance"] == ""
    sentence = model_sentence(Prediction("fake", 0.12, "v1", decided_by="declared"))
    assert sentence.startswith("Verdict FAKE: the image's own metadata declares it AI-generated")
    assert "fake score 0.12" in sentence
