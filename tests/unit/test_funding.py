"""Which offers apply and from when, against the calendar with fixed dates. Issue #3."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dates import load_funding_periods
from bot.funding import (
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
    UNSURE,
    STARTING_WORK,
    WORKING,
    WORKING_IF,
    entitlements,
    format_day,
    is_school_age,
    parse_support_route,
    parse_work_answer,
    work_situation,
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
        # Was NOT_WORKING (a wrong entitlement): a parent on maternity leave counts as working (facts, section 1).
        ("im on maternity leave", False, WORKING),
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


# --- The tricky outcomes: a wrong reading must never become a plain offer (issue: checker reads by keywords) ------
BIRTH, TODAY = date(2024, 11, 3), date(2026, 10, 1)


def _answers(works, route):
    return [a for a, _, _ in _offers(BIRTH, works, route, TODAY)]


@pytest.mark.parametrize("text", ["only my husband works", "my partner has a job but I don't",
                                  "just me working, OH is at home"])
def test_one_parent_working_gets_no_working_hours(text: str) -> None:
    """Each parent in a couple must work: one working parent gets the reason, not the working parent hours."""
    works = work_situation(parse_work_answer(text, asked=True), PARTNER_NO)
    assert works == ONE_WORKS
    answers = _answers(works, ROUTE_NEITHER)
    assert "checker_working" not in answers and "checker_working_if" not in answers
    assert answers[-1] == "checker_working_not_both"


@pytest.mark.parametrize("text", ["no job at the moment", "not right now", "used to work", "I was made redundant",
                                  "between jobs", "I'm not in a job right now"])
def test_not_working_gets_no_working_hours(text: str) -> None:
    """Answers that say the parent is not working get no working parent hours at all."""
    assert parse_work_answer(text, asked=True) == NOT_WORKING
    assert _answers(NOT_WORKING, ROUTE_NEITHER) == ["checker_universal"]


@pytest.mark.parametrize(
    "parents_work, partner, expected",
    [
        (ONE_WORKS, PARTNER_YES, ONE_WORKS_PARTNER_CARER),
        (ONE_WORKS, UNSURE, ONE_WORKS_PARTNER_CARER),
        (ONE_WORKS, None, ONE_WORKS_PARTNER_CARER),
        (ONE_WORKS, PARTNER_NO, ONE_WORKS),
        (ONE_WORKS, PARTNER_NONE, WORKING),
        (WORKING, PARTNER_NO, WORKING),
        (ONE_WORKS_PARTNER_CARER, None, ONE_WORKS_PARTNER_CARER),
    ],
)
def test_the_follow_up_about_the_other_parent(parents_work, partner, expected) -> None:
    """"Yes" or "not sure" keep the carer exception open; "no partner" makes "just me" a working single parent."""
    assert work_situation(parents_work, partner) == expected


def test_partner_on_carers_allowance_gets_the_conditional_wording() -> None:
    """The exception is a condition ("If ... you may still get"), never the plain working parent offer."""
    works = parse_work_answer("my husband works, I get carers allowance", asked=True)
    answers = _answers(work_situation(works, None), ROUTE_NEITHER)
    assert answers[0] == "checker_working_partner_carer_if" and "checker_working" not in answers


@pytest.mark.parametrize("text", ["waiting to hear about DLA", "we applied for DLA but heard nothing yet"])
def test_waiting_for_dla_gets_the_conditional_two_year_wording(text: str) -> None:
    """Applied or waiting is not yet a route: "If your child is awarded DLA...", never "because of your DLA"."""
    route = parse_support_route(text, asked=True)
    assert route == ROUTE_APPLIED
    answers = _answers(NOT_WORKING, route)
    assert "checker_two_year_applied_if" in answers
    assert "checker_two_year" not in answers and "checker_two_year_child" not in answers


@pytest.mark.parametrize("text", ["she hasn't got an EHCP", "we had tax credits years ago", "not on UC anymore"])
def test_denied_benefits_get_no_two_year_offer(text: str) -> None:
    """Denials and the past are not a route: no 2-year-old line at all."""
    route = parse_support_route(text, asked=True)
    assert route == ROUTE_NEITHER
    assert _answers(NOT_WORKING, route) == ["checker_universal"]


def test_the_child_route_and_the_benefits_route_are_worded_apart() -> None:
    """DLA or an EHC plan has no income test; benefits carry the Universal Credit one."""
    assert "checker_two_year_child" in _answers(NOT_WORKING, ROUTE_DISABILITY)
    assert "checker_two_year" in _answers(NOT_WORKING, ROUTE_BENEFITS)


@pytest.mark.parametrize(
    "works, answer",
    [(WORKING_IF, "checker_working_if"), (STARTING_WORK, "checker_working_starting_if"),
     (UNSURE, "checker_working_if"), ("an unknown value", "checker_working_if")],
)
def test_uncertain_work_gets_conditional_working_hours(works, answer) -> None:
    """Zero hours, a job starting soon, not sure, or a slot value we do not know: the conditions, never the offer."""
    assert _answers(works, ROUTE_NEITHER)[0] == answer
