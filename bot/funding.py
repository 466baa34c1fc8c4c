"""Which funded hours a child can get and from when: the logic behind the funded hours checker.

Pure functions over dates and the family's answers, so the rules are tested against the calendar without Rasa.
The answers themselves are read by meaning in ``bot/checker_answers.py``; here each reading gets its offer.
The ages at which each offer begins mirror ``facts.yml`` (2-year-old offer, universal hours at 3, working parent
hours from 9 months); the funding periods come from ``funding_periods.yml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import List, Optional, Sequence

from bot.checker_answers import (  # noqa: F401  (the readings are part of this module's interface)
    NOT_WORKING,
    ONE_WORKS,
    ONE_WORKS_PARTNER_CARER,
    PARTNER_NO,
    PARTNER_NONE,
    PARTNER_YES,
    ROUTE_APPLIED,
    ROUTE_BENEFITS,
    ROUTE_DISABILITY,
    ROUTE_NEITHER,
    STARTING_WORK,
    UNSURE,
    WORKING,
    WORKING_IF,
    is_unsure,
    parse_partner_benefit,
    parse_support_route,
    parse_work_answer,
)
from bot.dates import FundingPeriod, add_months, funding_from, turns

TWO_YEAR_OFFER_AGE = 2
UNIVERSAL_AGE = 3
WORKING_FROM_MONTHS = 9
# Past this age a child is at school: funded nursery hours no longer apply.
SCHOOL_AGE_YEARS = 5

# Answer names in answers.yml, one per line of the checker's result.
TWO_YEAR_OFFER = "checker_two_year"  # because of the family's benefits (with the Universal Credit income test)
TWO_YEAR_OFFER_CHILD = "checker_two_year_child"  # because of the child's DLA or EHC plan
TWO_YEAR_OFFER_APPLIED_IF = "checker_two_year_applied_if"  # applied or waiting: if it is agreed
TWO_YEAR_OFFER_IF = "checker_two_year_if"  # not sure: the conditions
UNIVERSAL = "checker_universal"
WORKING_HOURS = "checker_working"
WORKING_HOURS_IF = "checker_working_if"  # not sure, or earnings may be under the test
WORKING_HOURS_STARTING_IF = "checker_working_starting_if"  # a job that starts soon
WORKING_HOURS_PARTNER_CARER_IF = "checker_working_partner_carer_if"  # one works, the other cares or is disabled
WORKING_HOURS_NOT_BOTH = "checker_working_not_both"  # one works: why the working hours are not listed
WORKING_HOURS_GENERAL = "funding_30h"  # the hours explained, for a check without a date of birth

# Each reading of "do you both work?" and the working parent hours answer it gets (None: no such line).
_WORK_ANSWER = {
    WORKING: WORKING_HOURS,
    WORKING_IF: WORKING_HOURS_IF,
    UNSURE: WORKING_HOURS_IF,
    None: None,  # never asked (the form always asks, so only a school-age or skipped check)
    STARTING_WORK: WORKING_HOURS_STARTING_IF,
    ONE_WORKS_PARTNER_CARER: WORKING_HOURS_PARTNER_CARER_IF,
    ONE_WORKS: None,
    NOT_WORKING: None,
}
# Each reading of "benefits, DLA or an EHC plan?" and the 2-year-old answer it gets.
_ROUTE_ANSWER = {
    ROUTE_BENEFITS: TWO_YEAR_OFFER,
    ROUTE_DISABILITY: TWO_YEAR_OFFER_CHILD,
    ROUTE_APPLIED: TWO_YEAR_OFFER_APPLIED_IF,
    UNSURE: TWO_YEAR_OFFER_IF,
    None: TWO_YEAR_OFFER_IF,
    ROUTE_NEITHER: None,
}
# Readings where a parent works, so the family may get the working parent hours (used without a date of birth).
MAY_GET_WORKING_HOURS = frozenset(reading for reading, answer in _WORK_ANSWER.items() if answer and reading)


def work_situation(parents_work: Optional[str], partner_benefit: Optional[str]) -> Optional[str]:
    """The work reading once the follow-up about the parent who isn't working is answered.

    "Only one of us works" is asked whether the other parent gets Carer's Allowance or a disability benefit:
    "yes" or "not sure" make it the conditional exception; "I don't have a partner" makes it a single parent who
    works; "no" leaves one working parent (no working parent hours). Unanswered, the exception stays possible.
    """
    if parents_work != ONE_WORKS:
        return parents_work
    if partner_benefit == PARTNER_NONE:
        return WORKING
    if partner_benefit == PARTNER_NO:
        return ONE_WORKS
    return ONE_WORKS_PARTNER_CARER


def undated_working_answer(works: Optional[str]) -> Optional[str]:
    """Without a date of birth, the working parent hours line for ``works``, or None when there is none.

    The same readings as ``entitlements``: the conditional exception, the reason one working parent gets none,
    and otherwise the general answer about the hours (``funding_30h``) wherever a parent works.
    """
    if works == ONE_WORKS_PARTNER_CARER:
        return WORKING_HOURS_PARTNER_CARER_IF
    if works == ONE_WORKS:
        return WORKING_HOURS_NOT_BOTH
    return WORKING_HOURS_GENERAL if works in MAY_GET_WORKING_HOURS else None


def working_hours_answer(works: Optional[str]) -> Optional[str]:
    """The answers.yml entry for the working parent hours line, or None when they do not apply."""
    return _WORK_ANSWER.get(works, WORKING_HOURS_IF)  # an unknown slot value: the conditions, never a plain offer


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
        works: the work reading (``bot.checker_answers.WORK_READINGS``, after ``work_situation``), or None if not
            asked.
        route: the benefits / DLA / EHC plan reading (``ROUTE_READINGS``), or None if not asked.
        today: the day the family asks.
        periods: the council's funding periods.

    Returns:
        Plain offers only where the family said they qualify; conditional ones (``*_if``) where they were not sure,
        have only applied, or fit an exception; none where they said they do not qualify. A couple where only one
        parent works gets no working parent hours, but the reason (``checker_working_not_both``), dated with the
        universal hours so it sits beside the other offers.
    """
    offers = []
    working_answer = working_hours_answer(works)
    if working_answer:
        starts, _ = funding_from(add_months(birth, WORKING_FROM_MONTHS), periods)
        offers.append((working_answer, starts))
    two_year_answer = _ROUTE_ANSWER.get(route, TWO_YEAR_OFFER_IF)
    if two_year_answer and two_year_offer_still_ahead(birth, today, periods):
        starts, _ = funding_from(turns(birth, TWO_YEAR_OFFER_AGE), periods)
        offers.append((two_year_answer, starts))
    universal_start, _ = funding_from(turns(birth, UNIVERSAL_AGE), periods)
    offers.append((UNIVERSAL, universal_start))
    result = [Entitlement(answer, starts, starts <= today) for answer, starts in sorted(offers, key=lambda o: o[1])]
    if works == ONE_WORKS:
        result.append(Entitlement(WORKING_HOURS_NOT_BOTH, universal_start, universal_start <= today))
    return result


def format_day(day: date) -> str:
    """A date as families write it: "1 September 2026"."""
    return f"{day.day} {day:%B %Y}"
