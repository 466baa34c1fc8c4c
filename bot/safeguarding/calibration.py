"""Choosing the NLU confidence at which a message counts as a disclosure, from labelled messages.

Why a cost and not "catch every one": a threshold that catches the single hardest disclosure of the labelled set
may also flag a third of the everyday worries, and a family that gets 999 and Childline for "I'm exhausted" stops
trusting the service. Missing a disclosure is far worse than a false alarm, so a miss costs ``MISS_COST`` false
alarms; the threshold with the lowest total cost wins, and of equal costs the lower one (more recall). The messages
must be ones the model never trained on, or their confidences flatter it.
"""

from __future__ import annotations

from typing import Sequence, Tuple

MISS_COST = 10  # one missed disclosure weighs as much as this many false alarms
CANDIDATES: Tuple[float, ...] = tuple(round(0.05 * step, 2) for step in range(1, 20))  # 0.05 .. 0.95


def cost(threshold: float, confidences: Sequence[float], disclosures: Sequence[bool],
         caught_by_patterns: Sequence[bool]) -> int:
    """Misses times ``MISS_COST`` plus false alarms, for "a pattern matches OR confidence >= threshold"."""
    total = 0
    for confidence, disclosure, caught in zip(confidences, disclosures, caught_by_patterns):
        flagged = caught or confidence >= threshold
        if disclosure and not flagged:
            total += MISS_COST
        elif flagged and not disclosure:
            total += 1
    return total


def choose_threshold(confidences: Sequence[float], disclosures: Sequence[bool],
                     caught_by_patterns: Sequence[bool]) -> float:
    """The candidate threshold with the lowest cost (the lowest such threshold on a tie)."""
    return min(CANDIDATES, key=lambda t: (cost(t, confidences, disclosures, caught_by_patterns), t))
