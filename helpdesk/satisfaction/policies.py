"""Pure rules of satisfaction ratings."""
from __future__ import annotations

SCORES = (1, 2, 3, 4, 5)
LOW_RATING_ACTIONS = ("reopen", "alert")


def clean_score(raw) -> int | None:
    try:
        score = int(raw)
    except (TypeError, ValueError):
        return None
    return score if score in SCORES else None


def is_low(score: int, threshold: int) -> bool:
    return score <= threshold
