"""Label resolution: what reviewers agreed on, from their Label Studio annotations. Pure functions."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.settings import Settings

# The labeling config's choices (feedback/tasks.py) and what each means for the review outcome.
CHOICE_VOTES = {"Real": "real", "Fake": "fake", "Can't tell": "cant_tell"}
VOTES = ("real", "fake", "cant_tell", "skipped")


@dataclass(frozen=True)
class ReviewRule:
    """How many answers an image may get, and when one label is not enough.

    A label that contradicts a confident model (Real where the check scored at least `confident_fake`,
    Fake where it scored at most `confident_real`) counts only when a second reviewer agrees: a careless
    or hostile answer alone cannot teach the model the opposite of what it is sure of.
    """

    max_reviews: int = Settings.model_fields["review_max_reviews"].default
    confident_fake: float = Settings.model_fields["review_confident_fake"].default
    confident_real: float = Settings.model_fields["review_confident_real"].default

    @classmethod
    def of(cls, settings: Settings) -> ReviewRule:
        """The rule of DFG_REVIEW_MAX_REVIEWS, DFG_REVIEW_CONFIDENT_FAKE and DFG_REVIEW_CONFIDENT_REAL."""
        return cls(settings.review_max_reviews, settings.review_confident_fake, settings.review_confident_real)

    def contradicts(self, label: str, fake_probability: float | None) -> bool:
        """True when `label` goes against what the model was confident of."""
        if fake_probability is None:
            return False
        return (label == "real" and fake_probability >= self.confident_fake) or \
            (label == "fake" and fake_probability <= self.confident_real)


@dataclass(frozen=True)
class Resolution:
    """The outcome of a review: `label` is None while unresolved (no votes, a tie, or a contradiction of a
    confident model that no second reviewer has agreed with yet: `second_opinion`)."""

    label: str | None
    reviewer_count: int
    counts: dict[str, int] = field(default_factory=dict)
    second_opinion: bool = False

    def undecided(self, max_reviews: int) -> bool:
        """No label after `max_reviews` answers: the review ends without one (never trained on)."""
        return self.label is None and self.reviewer_count >= max_reviews


def vote_of(annotation: Mapping) -> str | None:
    """One annotation's vote: real, fake, cant_tell, skipped (cancelled), or None (no choice made).

    Args:
        annotation: a Label Studio annotation (`was_cancelled`, `result` list of regions).
    """
    if annotation.get("was_cancelled"):
        return "skipped"
    for region in annotation.get("result") or []:
        if not isinstance(region, Mapping) or region.get("type") != "choices" or region.get("from_name") != "label":
            continue
        choices = (region.get("value") or {}).get("choices") if isinstance(region.get("value"), Mapping) else None
        if isinstance(choices, list) and len(choices) == 1 and choices[0] in CHOICE_VOTES:
            return CHOICE_VOTES[choices[0]]
    return None


def resolve(votes: Iterable[str | None], fake_probability: float | None = None,
            rule: ReviewRule = ReviewRule()) -> Resolution:
    """Majority of real vs fake among non-cancelled annotations; "can't tell" is ignored, ties stay open, and a
    majority that contradicts a confident model needs two votes.

    Args:
        votes: one entry per annotation, as returned by `vote_of`.
        fake_probability: the score of the check the item came from (None: no contradiction rule).
        rule: when a label contradicts a confident model.

    Returns:
        The label ("real"/"fake" or None), how many reviewers answered (skips and empty
        annotations are not answers), and the count of each vote.
    """
    counts = Counter(vote for vote in votes if vote in VOTES)
    real, fake = counts["real"], counts["fake"]
    label = "real" if real > fake else "fake" if fake > real else None
    reviewers = real + fake + counts["cant_tell"]
    second_opinion = label is not None and rule.contradicts(label, fake_probability) and counts[label] < 2
    return Resolution(None if second_opinion else label, reviewers, {vote: counts[vote] for vote in VOTES},
                      second_opinion)
