"""Reviewers measured against known answers: each one's accuracy on gold tasks, and whose labels are held back.

A gold task is an image whose label is known (feedback/gold.py mixes them into the review queue). Every
Real or Fake answer on one is right or wrong; "Can't tell" and skips are neither. A reviewer measured on at
least `min_answers` gold answers with an accuracy under `min_accuracy` is held back: their labels on the
images users sent count for nothing when retraining builds its data (feedback/dataset.py), so the other
reviewers' answers alone decide those images. Pure functions over the votes review items keep
(core/outcomes.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from core.settings import Settings

TRUSTED, HELD_BACK, UNMEASURED = "trusted", "held back", "unmeasured"


@dataclass(frozen=True)
class ReviewerRecord:
    """One reviewer (a Label Studio user id): gold answers, how many were right, and labels on users' images."""

    reviewer: int
    gold_answers: int = 0      # Real or Fake on a gold task
    gold_correct: int = 0
    gold_cant_tell: int = 0    # "Can't tell" on a gold task: neither right nor wrong
    labels: int = 0            # Real or Fake on images users sent

    @property
    def accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answers if self.gold_answers else None


@dataclass(frozen=True)
class ReviewerBar:
    """The accuracy on gold tasks a reviewer needs for their labels to train, once measured on enough of them."""

    min_accuracy: float = Settings.model_fields["review_gold_min_accuracy"].default
    min_answers: int = Settings.model_fields["review_gold_min_answers"].default

    @classmethod
    def of(cls, settings: Settings) -> ReviewerBar:
        """The bar of DFG_REVIEW_GOLD_MIN_ACCURACY and DFG_REVIEW_GOLD_MIN_ANSWERS."""
        return cls(settings.review_gold_min_accuracy, settings.review_gold_min_answers)

    def status(self, record: ReviewerRecord) -> str:
        """trusted, held back (measured and under the bar) or unmeasured (too few gold answers yet: trusted)."""
        if record.gold_answers < self.min_answers:
            return UNMEASURED
        return HELD_BACK if record.accuracy < self.min_accuracy else TRUSTED

    def held_back(self, records: Mapping[int, ReviewerRecord]) -> frozenset[int]:
        return frozenset(reviewer for reviewer, record in records.items() if self.status(record) == HELD_BACK)


def reviewer_records(items: Iterable[tuple[str | None, Mapping[str, Mapping]]]) -> dict[int, ReviewerRecord]:
    """Every reviewer's record from review items' annotations.

    Args:
        items: (gold label or None, the item's annotation entries `{"<id>": {"vote": …, "by": user id}}`).
    """
    records: dict[int, ReviewerRecord] = {}
    for gold_label, entries in items:
        for entry in entries.values():
            reviewer, vote = entry.get("by"), entry.get("vote")
            if not isinstance(reviewer, int):
                continue
            record = records.get(reviewer, ReviewerRecord(reviewer))
            if gold_label is None:
                record = replace(record, labels=record.labels + (vote in ("real", "fake")))
            elif vote in ("real", "fake"):
                record = replace(record, gold_answers=record.gold_answers + 1,
                                 gold_correct=record.gold_correct + (vote == gold_label))
            elif vote == "cant_tell":
                record = replace(record, gold_cant_tell=record.gold_cant_tell + 1)
            records[reviewer] = record
    return records


def votes_of_trusted(entries: Mapping[str, Mapping], held_back: frozenset[int]) -> list[str | None]:
    """An item's votes without those of held-back reviewers (the input of core.resolution.resolve)."""
    return [entry.get("vote") for entry in entries.values() if entry.get("by") not in held_back]
