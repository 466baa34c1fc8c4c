"""Which funded hours a child can get and from when: the logic behind the funded hours checker.

Pure functions over dates and the family's answers, so the rules are tested against the calendar without Rasa.
The ages at which each offer begins mirror ``facts.yml`` (2-year-old offer, universal hours at 3, working parent
hours from 9 months); the funding periods come from ``funding_periods.yml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import List, Optional, Sequence

from bot.dates import FundingPeriod, add_months, funding_from, turns

# The family's answers, as stored in the form's slots.
WORKING = "working"
NOT_WORKING = "not_working"
UNSURE = "unsure"
ROUTE_BENEFITS = "benefits"  # the family gets a qualifying benefit (2-year-old offer)
ROUTE_DISABILITY = "disability"  # the child gets DLA or has an EHC plan (2-year-old offer)
ROUTE_NEITHER = "neither"

TWO_YEAR_OFFER_AGE = 2
UNIVERSAL_AGE = 3
WORKING_FROM_MONTHS = 9
# Past this age a child is at school: funded nursery hours no longer apply.
SCHOOL_AGE_YEARS = 5

# Answer names in answers.yml, one per line of the checker's result.
TWO_YEAR_OFFER = "checker_two_year"
TWO_YEAR_OFFER_IF = "checker_two_year_if"
UNIVERSAL = "checker_universal"
WORKING_HOURS = "checker_working"
WORKING_HOURS_IF = "checker_working_if"

_UNSURE = re.compile(r"\b(not sure|unsure|dunno|dont know|do not know|no idea|skip|pass|maybe|not certain)\b")
_NO = re.compile(r"^\s*(no|nope|nah|n|neither|none|no we dont|not really|no i dont)\b")
_YES = re.compile(r"^\s*(yes|yeah|yep|yup|y|ye|aye|we do|i do|correct|both)\b")
_NOT_WORKING = re.compile(
    r"\b(not working|dont work|do not work|unemployed|no job|out of work|lost (my|his|her) job|on maternity|"
    r"stay at home|stay-at-home|carer full time|full time carer)\b"
)
_WORKING = re.compile(r"\b(work|working|employed|self employed|self-employed|job|full time|part time)\b")
_BENEFITS = re.compile(
    r"\b(universal credit|uc|benefits?|tax credits?|income support|jsa|esa|pension credit|asylum|"
    r"nrpf|no recourse)\b"
)
_DISABILITY = re.compile(r"\b(dla|disability living|ehc|ehcp|ehc plan|education health and care)\b")


def _clean(text: str) -> str:
    return " ".join(re.sub(r"['’]", "", text.lower()).split())


def is_unsure(text: str) -> bool:
    """True for "not sure", "dunno", "skip" and the like: every question of the checker can be skipped."""
    return bool(_UNSURE.search(_clean(text)))


def parse_work_answer(text: str, *, asked: bool) -> Optional[str]:
    """Read whether the parents work from a reply.

    Args:
        text: the reply.
        asked: True when the question was just asked, so a bare "yes" or "no" answers it.

    Returns:
        ``WORKING``, ``NOT_WORKING``, ``UNSURE`` or None when the reply says nothing about work.
    """
    clean = _clean(text)
    if asked and is_unsure(clean):
        return UNSURE
    if _NOT_WORKING.search(clean):
        return NOT_WORKING
    if asked and _NO.search(clean):
        return NOT_WORKING
    if _WORKING.search(clean) or (asked and _YES.search(clean)):
        return WORKING
    return None


def parse_support_route(text: str, *, asked: bool) -> Optional[str]:
    """Read whether the family gets benefits, or the child gets DLA or has an EHC plan.

    Args:
        text: the reply.
        asked: True when the question was just asked, so "neither" or "not sure" answers it.

    Returns:
        ``ROUTE_BENEFITS``, ``ROUTE_DISABILITY``, ``ROUTE_NEITHER``, ``UNSURE`` or None.
    """
    clean = _clean(text)
    if asked and is_unsure(clean):
        return UNSURE
    if _DISABILITY.search(clean):
        return ROUTE_DISABILITY
    if _BENEFITS.search(clean):
        return ROUTE_BENEFITS
    if asked and _NO.search(clean):
        return ROUTE_NEITHER
    return None


@dataclass(frozen=True)
class Entitlement:
    """One offer the child can (or may) get."""

    answer: str  # the answers.yml entry that describes it
    starts: date  # the first day of funding
    started: bool  # True when that day is already past


def two_year_offer_still_ahead(birth: date, today: date, periods: Sequence[FundingPeriod]) -> bool:
    """True while the universal hours have not begun, so the 2-year-old offer still matters to this family."""
    universal_start, _ = funding_from(turns(birth, UNIVERSAL_AGE), periods)
    return universal_start > today


def is_school_age(birth: date, today: date) -> bool:
    """True when the child is too old for funded nursery hours."""
    return turns(birth, SCHOOL_AGE_YEARS) <= today


def entitlements(
    birth: date,
    works: Optional[str],
    route: Optional[str],
    today: date,
    periods: Sequence[FundingPeriod],
) -> List[Entitlement]:
    """The offers that apply to a child born on ``birth``, in the order they begin.

    Args:
        birth: the child's date of birth (exact or estimated).
        works: the parents' answer about work (``WORKING``, ``NOT_WORKING``, ``UNSURE``) or None if not asked.
        route: the answer about benefits or DLA/EHC plan, or None if not asked.
        today: the day the family asks.
        periods: the council's funding periods.

    Returns:
        Conditional offers (``*_if``) where the family was not sure, so a skipped question still gets an answer.
    """
    offers = []
    if works in (WORKING, UNSURE):
        starts, _ = funding_from(add_months(birth, WORKING_FROM_MONTHS), periods)
        offers.append((WORKING_HOURS if works == WORKING else WORKING_HOURS_IF, starts))
    if two_year_offer_still_ahead(birth, today, periods) and route != ROUTE_NEITHER:
        starts, _ = funding_from(turns(birth, TWO_YEAR_OFFER_AGE), periods)
        known = route in (ROUTE_BENEFITS, ROUTE_DISABILITY)
        offers.append((TWO_YEAR_OFFER if known else TWO_YEAR_OFFER_IF, starts))
    universal_start, _ = funding_from(turns(birth, UNIVERSAL_AGE), periods)
    offers.append((UNIVERSAL, universal_start))
    return [Entitlement(answer, starts, starts <= today) for answer, starts in sorted(offers, key=lambda o: o[1])]


def format_day(day: date) -> str:
    """A date as families write it: "1 September 2026"."""
    return f"{day.day} {day:%B %Y}"
