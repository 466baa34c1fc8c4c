"""Deciding whether a message discloses harm or risk, so it gets the emergency and Childline routes at once.

Two parts, one decision (``SafeguardingRule``):

- ``patterns``: a floor of phrases (data/knowledge/safeguarding.yml) that always count, so a clear disclosure never
  depends on a model;
- the NLU's own confidence in the ``safeguarding`` intent, above a threshold calibrated on the labelled messages in
  data/knowledge/safeguarding_examples.yml (``calibration``, ``measure``).

Pure Python, so the rule is tested without a server; ``python -m bot.safeguarding.measure --model …`` measures it
with the trained model.
"""

from bot.safeguarding.patterns import PATTERNS_FILE, DisclosureDetector, normalise
from bot.safeguarding.rule import SafeguardingRule, safeguarding_rule

__all__ = ["PATTERNS_FILE", "DisclosureDetector", "SafeguardingRule", "normalise", "safeguarding_rule"]
