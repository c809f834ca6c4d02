"""Label resolution: what reviewers agreed on, from their Label Studio annotations. Pure functions."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The labeling config's choices (feedback/tasks.py) and what each means for the review outcome.
CHOICE_VOTES = {"Real": "real", "Fake": "fake", "Can't tell": "cant_tell"}
VOTES = ("real", "fake", "cant_tell", "skipped")


@dataclass(frozen=True)
class Resolution:
    """The outcome of a review: `label` is None while unresolved (no votes, or a tie)."""

    label: str | None
    reviewer_count: int
    counts: dict[str, int] = field(default_factory=dict)

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


def resolve(votes: Iterable[str | None]) -> Resolution:
    """Majority of real vs fake among non-cancelled annotations; "can't tell" is ignored, ties stay open.

    Args:
        votes: one entry per annotation, as returned by `vote_of`.

    Returns:
        The label ("real"/"fake" or None), how many reviewers answered (skips and empty
        annotations are not answers), and the count of each vote.
    """
    counts = Counter(vote for vote in votes if vote in VOTES)
    real, fake = counts["real"], counts["fake"]
    label = "real" if real > fake else "fake" if fake > real else None
    reviewers = real + fake + counts["cant_tell"]
    return Resolution(label, reviewers, {vote: counts[vote] for vote in VOTES})
