"""Label resolution: majority of non-cancelled annotations, "Can't tell" ignored, ties unresolved."""
from __future__ import annotations

import pytest

from core.resolution import ReviewRule, resolve, vote_of


def _annotation(*choices: str, cancelled: bool = False, from_name: str = "label") -> dict:
    result = [{"from_name": from_name, "to_name": "image", "type": "choices", "value": {"choices": list(choices)}}]
    return {"id": 1, "was_cancelled": cancelled, "result": result if choices else []}


@pytest.mark.parametrize("votes, label, reviewers", [
    ([], None, 0),
    (["real"], "real", 1),
    (["fake", "fake", "real"], "fake", 3),
    (["real", "fake"], None, 2),                                # a tie stays unresolved
    (["real", "cant_tell", "cant_tell"], "real", 3),            # "can't tell" is not a vote against
    (["cant_tell", "cant_tell"], None, 2),
    (["fake", "skipped", "skipped", "skipped"], "fake", 1),     # skips are not reviews
    (["real", "fake", "fake", None], "fake", 3),                # an annotation without a choice is ignored
    (["real", "real", "fake", "fake", "cant_tell"], None, 5),
])
def test_resolve(votes, label, reviewers):
    resolution = resolve(votes)
    assert resolution.label == label and resolution.reviewer_count == reviewers
    assert sum(resolution.counts.values()) == sum(v is not None for v in votes)


def test_vote_of_reads_the_label_choice_only():
    assert vote_of(_annotation("Real")) == "real"
    assert vote_of(_annotation("Fake")) == "fake"
    assert vote_of(_annotation("Can't tell")) == "cant_tell"
    assert vote_of(_annotation("Fake", cancelled=True)) == "skipped"
    assert vote_of(_annotation()) is None
    assert vote_of(_annotation("Fake", from_name="other")) is None    # another control's choice
    assert vote_of(_annotation("Maybe")) is None                      # not one of our choices
    assert vote_of(_annotation("Real", "Fake")) is None               # ambiguous
    assert vote_of({"result": [{"type": "choices", "from_name": "label", "value": "Fake"}]}) is None
    assert vote_of({"result": ["junk", None]}) is None


def test_a_region_before_the_choice_does_not_hide_it():
    annotation = _annotation("Fake")
    annotation["result"].insert(0, {"from_name": "faces", "to_name": "image", "type": "rectanglelabels",
                                    "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rectanglelabels": ["Face"]}})
    assert vote_of(annotation) == "fake"


def test_a_label_against_a_confident_model_waits_for_a_second_reviewer():
    rule = ReviewRule(max_reviews=3, confident_fake=0.95, confident_real=0.05)
    first = resolve(["real"], fake_probability=0.97, rule=rule)
    assert first.label is None and first.second_opinion and first.reviewer_count == 1
    assert not first.undecided(rule.max_reviews)
    assert resolve(["real", "real"], 0.97, rule).label == "real"                     # a second reviewer agrees
    assert resolve(["real", "fake"], 0.97, rule).label is None                       # a tie: a third one decides
    assert resolve(["real", "fake", "real"], 0.97, rule).label == "real"
    assert resolve(["real", "fake", "fake"], 0.97, rule).label == "fake"             # agreeing with the model
    assert resolve(["fake"], 0.97, rule).label == "fake"                             # no contradiction
    assert resolve(["fake"], 0.03, rule).second_opinion                              # confident real, said fake
    assert resolve(["real"], 0.5, rule).label == "real"                              # the model was not sure
    assert resolve(["real"], None, rule).label == "real"                             # no score, no rule
    assert resolve(["real", "cant_tell", "cant_tell"], 0.97, rule).undecided(3)      # out of reviews
