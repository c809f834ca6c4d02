"""Reviewers against gold tasks: accuracy from Real/Fake answers, the bar, and the votes that still count."""
from __future__ import annotations

from core.resolution import resolve
from core.reviewers import HELD_BACK, TRUSTED, UNMEASURED, ReviewerBar, ReviewerRecord, reviewer_records, votes_of_trusted


def _entries(*votes: tuple[int | None, str | None]) -> dict:
    return {str(index): {"task": 1, "vote": vote, "by": by} for index, (by, vote) in enumerate(votes)}


def test_gold_answers_score_reviewers_and_other_answers_count_as_labels():
    records = reviewer_records([
        ("real", _entries((1, "real"), (2, "fake"))),
        ("fake", _entries((1, "fake"), (2, "fake"), (3, "cant_tell"))),
        ("fake", _entries((2, "real"), (1, "skipped"), (None, "fake"))),   # no author: nobody to score
        (None, _entries((1, "fake"), (2, "real"), (3, "cant_tell"))),       # a user's image: labels, no score
    ])
    assert records == {1: ReviewerRecord(1, gold_answers=2, gold_correct=2, labels=1),
                       2: ReviewerRecord(2, gold_answers=3, gold_correct=1, labels=1),
                       3: ReviewerRecord(3, gold_cant_tell=1)}
    assert records[2].accuracy == 1 / 3 and records[3].accuracy is None


def test_the_bar_holds_back_measured_reviewers_under_it_only():
    bar = ReviewerBar(min_accuracy=0.8, min_answers=3)
    assert bar.status(ReviewerRecord(1, gold_answers=2, gold_correct=0)) == UNMEASURED
    assert bar.status(ReviewerRecord(1, gold_answers=3, gold_correct=2)) == HELD_BACK      # 67 % < 80 %
    assert bar.status(ReviewerRecord(1, gold_answers=5, gold_correct=4)) == TRUSTED        # 80 % is enough
    records = {1: ReviewerRecord(1, 5, 1), 2: ReviewerRecord(2, 5, 5), 3: ReviewerRecord(3, 1, 0)}
    assert bar.held_back(records) == {1}


def test_a_held_back_reviewer_neither_labels_nor_outvotes():
    entries = _entries((1, "fake"), (2, "real"), (1, "fake"))
    assert resolve(votes_of_trusted(entries, frozenset())).label == "fake"
    assert resolve(votes_of_trusted(entries, frozenset({1}))).label == "real"
    assert resolve(votes_of_trusted(_entries((1, "fake")), frozenset({1}))).label is None
