"""Which offers apply and from when, against the calendar with fixed dates. Issue #3."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dates import load_funding_periods
from bot.funding import (
    NOT_WORKING,
    ROUTE_BENEFITS,
    ROUTE_DISABILITY,
    ROUTE_NEITHER,
    UNSURE,
    WORKING,
    entitlements,
    format_day,
    is_school_age,
    parse_support_route,
    parse_work_answer,
)

PERIODS = load_funding_periods()


@pytest.mark.parametrize(
    "text, asked, expected",
    [
        ("yes", True, WORKING),
        ("yeah we both work", False, WORKING),
        ("im self employed", False, WORKING),
        ("no", True, NOT_WORKING),
        ("Nope", True, NOT_WORKING),
        ("im on maternity leave", False, NOT_WORKING),
        ("my partner lost his job", False, NOT_WORKING),
        ("not sure", True, UNSURE),
        ("yes", False, None),
        ("banana", True, None),
    ],
    ids=["yes", "both-work", "self-employed", "no", "nope", "maternity", "lost-job", "unsure", "yes-unasked", "nonsense"],
)
def test_parse_work_answer(text: str, asked: bool, expected) -> None:
    """Short answers count only when the question was asked; clear statements count any time."""
    assert parse_work_answer(text, asked=asked) == expected


@pytest.mark.parametrize(
    "text, asked, expected",
    [
        ("we get universal credit", False, ROUTE_BENEFITS),
        ("on UC", False, ROUTE_BENEFITS),
        ("tax credits", False, ROUTE_BENEFITS),
        ("he gets DLA", False, ROUTE_DISABILITY),
        ("she has an EHCP", False, ROUTE_DISABILITY),
        ("neither", True, ROUTE_NEITHER),
        ("dunno", True, UNSURE),
        ("neither", False, None),
        ("purple", True, None),
    ],
    ids=["uc", "uc-short", "tax-credits", "dla", "ehcp", "neither", "dunno", "neither-unasked", "nonsense"],
)
def test_parse_support_route(text: str, asked: bool, expected) -> None:
    """Benefits, DLA or an EHC plan are read from plain words."""
    assert parse_support_route(text, asked=asked) == expected


def _offers(birth, works, route, today):
    return [(e.answer, e.starts, e.started) for e in entitlements(birth, works, route, today, PERIODS)]


def test_a_two_year_old_on_benefits_with_working_parents_gets_all_three_in_order() -> None:
    """Born 3 Nov 2024, asked 1 Oct 2026: working hours already started, 2-year offer from 1 Jan 2027, universal
    from 1 Jan 2028 (the term after the 3rd birthday)."""
    offers = _offers(date(2024, 11, 3), WORKING, ROUTE_BENEFITS, date(2026, 10, 1))
    assert offers == [
        ("checker_working", date(2025, 9, 1), True),
        ("checker_two_year", date(2027, 1, 1), False),
        ("checker_universal", date(2028, 1, 1), False),
    ]


def test_skipped_questions_still_get_conditional_offers() -> None:
    """"Not sure" to both questions: the offers come with their conditions."""
    answers = [a for a, _, _ in _offers(date(2025, 2, 10), UNSURE, UNSURE, date(2026, 6, 1))]
    assert answers == ["checker_working_if", "checker_two_year_if", "checker_universal"]


def test_no_work_and_no_benefits_leaves_the_universal_hours() -> None:
    """Everyone gets the universal hours."""
    assert [a for a, _, _ in _offers(date(2024, 5, 5), NOT_WORKING, ROUTE_NEITHER, date(2026, 1, 1))] == [
        "checker_universal"]


def test_a_three_year_old_is_not_offered_the_two_year_hours() -> None:
    """Once the universal hours have begun, the 2-year-old offer no longer matters."""
    offers = _offers(date(2022, 6, 1), NOT_WORKING, ROUTE_DISABILITY, date(2026, 3, 1))
    assert offers == [("checker_universal", date(2025, 9, 1), True)]


@pytest.mark.parametrize(
    "birth, universal",
    [
        (date(2023, 3, 31), date(2026, 4, 1)),
        (date(2023, 4, 1), date(2026, 9, 1)),
        (date(2023, 8, 31), date(2026, 9, 1)),
        (date(2023, 9, 1), date(2027, 1, 1)),
        (date(2023, 12, 31), date(2027, 1, 1)),
        (date(2024, 2, 29), date(2027, 4, 1)),
    ],
    ids=["31-mar", "1-apr", "31-aug", "1-sep", "31-dec", "leap-day"],
)
def test_universal_hours_start_the_term_after_the_third_birthday(birth: date, universal: date) -> None:
    """Term boundaries from Coventry's funding periods, including a 29 February birthday."""
    offers = _offers(birth, NOT_WORKING, ROUTE_NEITHER, date(2025, 1, 1))
    assert offers[-1][:2] == ("checker_universal", universal)


def test_school_age_and_date_format() -> None:
    """A 5-year-old is past nursery funding; dates read as families write them."""
    assert is_school_age(date(2020, 1, 1), date(2026, 1, 1))
    assert not is_school_age(date(2022, 1, 1), date(2026, 1, 1))
    assert format_day(date(2027, 1, 1)) == "1 January 2027"
