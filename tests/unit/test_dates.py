"""Date logic for funded hours and EHC deadlines (bot/dates.py): every "now" is a fixed ``today``.

Rules from ../shared/facts/domain-facts.md, sections 1 (when funding starts) and 2 (EHC timescales).
"""

from __future__ import annotations

import ast
import sys
from datetime import date
from pathlib import Path
from typing import Optional

import pytest

from bot.dates import (
    FUNDING_PERIODS_FILE,
    STEP_DECIDE_ASSESS,
    STEP_DECIDE_PLAN,
    STEP_FINAL_PLAN,
    BirthDate,
    FundingPeriodsError,
    add_months,
    age_in_months,
    deadline_progress,
    ehc_deadlines,
    funding_from,
    load_funding_periods,
    parse_birth_date,
    parse_request_date,
    turns,
)

TODAY = date(2026, 11, 20)  # a Friday, when the facts were gathered
SOURCE_URL = (
    "https://www.coventry.gov.uk/early-years-childcare/early-education-funding-coventry-information-professionals"
)
PERIODS = load_funding_periods()

THREE_PERIODS = """
periods:
  - {birthdays_from: "01-01", birthdays_to: "03-31", funding_from: "04-01", term: summer term}
  - {birthdays_from: "04-01", birthdays_to: "08-31", funding_from: "09-01", term: autumn term}
  - {birthdays_from: "09-01", birthdays_to: "12-31", funding_from: "01-01", term: spring term}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "funding_periods.yml"
    path.write_text(text, encoding="utf-8")
    return path


# --- Funding periods file ---------------------------------------------------------------------------------------


def test_project_file_has_coventrys_three_periods() -> None:
    """The shipped file holds the facts table: Jan–Mar → summer, Apr–Aug → autumn, Sep–Dec → spring."""
    assert [(p.birthdays_from, p.birthdays_to, p.funding_from, p.term) for p in PERIODS] == [
        ((1, 1), (3, 31), (4, 1), "summer term"),
        ((4, 1), (8, 31), (9, 1), "autumn term"),
        ((9, 1), (12, 31), (1, 1), "spring term"),
    ]


def test_project_file_names_its_source() -> None:
    """A council officer can see where the periods came from."""
    assert SOURCE_URL in FUNDING_PERIODS_FILE.read_text(encoding="utf-8")


def test_a_period_may_run_over_new_year(tmp_path: Path) -> None:
    """Periods are days of the year, so one may wrap from December into January."""
    path = _write(
        tmp_path,
        """
periods:
  - {birthdays_from: "11-01", birthdays_to: "02-29", funding_from: "04-01", term: summer term}
  - {birthdays_from: "03-01", birthdays_to: "10-31", funding_from: "11-01", term: winter term}
""",
    )
    periods = load_funding_periods(path)
    assert funding_from(date(2026, 12, 5), periods) == (date(2027, 4, 1), "summer term")
    assert funding_from(date(2027, 1, 5), periods) == (date(2027, 4, 1), "summer term")


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param(THREE_PERIODS.replace('"03-31"', '"02-28"'), "29 February is in no period", id="leap-day-gap"),
        pytest.param(THREE_PERIODS.replace('"03-31"', '"03-30"'), "31 March is in no period", id="gap"),
        pytest.param(THREE_PERIODS.replace('"08-31"', '"09-01"'), "1 September is in 2 periods", id="overlap"),
        pytest.param(THREE_PERIODS.replace('"04-01", term', '"02-29", term'), "cannot be 29 February",
                     id="funding-on-leap-day"),
        pytest.param(THREE_PERIODS.replace('"01-01", birthdays_to', '"1-1", birthdays_to'), "MM-DD", id="bad-format"),
        pytest.param(THREE_PERIODS.replace('"03-31"', '"02-30"'), "MM-DD", id="no-such-day"),
        pytest.param(THREE_PERIODS.replace('"03-31"', "331"), "MM-DD", id="not-a-string"),
        pytest.param(THREE_PERIODS.replace("term: summer term", "trem: summer term"), "exactly these keys",
                     id="misspelt-key"),
        pytest.param(THREE_PERIODS.replace("term: summer term", 'term: ""'), "needs a term name", id="empty-term"),
        pytest.param("periods: []\n", "non-empty 'periods'", id="no-periods"),
        pytest.param("- just a list\n", "non-empty 'periods'", id="wrong-shape"),
        pytest.param("periods: [\n", "cannot read", id="broken-yaml"),
    ],
)  # fmt: skip
def test_bad_periods_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """A typo stops loading with a message naming the problem, instead of giving a family a wrong term."""
    with pytest.raises(FundingPeriodsError, match=message):
        load_funding_periods(_write(tmp_path, text))


def test_bad_periods_raise_value_error(tmp_path: Path) -> None:
    """Callers may catch the plain ``ValueError`` the brief promises."""
    assert issubclass(FundingPeriodsError, ValueError)
    with pytest.raises(ValueError):
        load_funding_periods(tmp_path / "missing.yml")


# --- When funding starts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_day, expected",
    [
        pytest.param(date(2025, 11, 15), (date(2026, 1, 1), "spring term"), id="15-nov-spring"),
        pytest.param(date(2026, 1, 1), (date(2026, 4, 1), "summer term"), id="1-jan-summer"),
        pytest.param(date(2026, 3, 31), (date(2026, 4, 1), "summer term"), id="31-mar-next-day"),
        pytest.param(date(2026, 4, 1), (date(2026, 9, 1), "autumn term"), id="1-apr-autumn"),
        pytest.param(date(2026, 8, 31), (date(2026, 9, 1), "autumn term"), id="31-aug-next-day"),
        pytest.param(date(2026, 9, 1), (date(2027, 1, 1), "spring term"), id="1-sep-spring-next-year"),
        pytest.param(date(2026, 12, 31), (date(2027, 1, 1), "spring term"), id="31-dec-next-year"),
        pytest.param(date(2024, 2, 29), (date(2024, 4, 1), "summer term"), id="29-feb-summer"),
    ],
)
def test_funding_starts_the_term_after(event_day: date, expected: tuple) -> None:
    """Funding starts on the first day of the term after the birthday, never on the birthday itself."""
    assert funding_from(event_day, PERIODS) == expected


@pytest.mark.parametrize(
    "birth, event, expected",
    [
        pytest.param(date(2023, 5, 31), lambda b: add_months(b, 9), (date(2024, 4, 1), "summer term"),
                     id="9-months-from-31-may-leap"),
        pytest.param(date(2024, 5, 31), lambda b: add_months(b, 9), (date(2025, 4, 1), "summer term"),
                     id="9-months-from-31-may-non-leap"),
        pytest.param(date(2023, 11, 15), lambda b: turns(b, 2), (date(2026, 1, 1), "spring term"), id="turns-2-nov"),
        pytest.param(date(2024, 2, 29), lambda b: turns(b, 2), (date(2026, 4, 1), "summer term"),
                     id="29-feb-turns-2-on-1-mar"),
        pytest.param(date(2023, 8, 31), lambda b: turns(b, 3), (date(2026, 9, 1), "autumn term"), id="turns-3-31-aug"),
        pytest.param(date(2023, 9, 1), lambda b: turns(b, 3), (date(2027, 1, 1), "spring term"), id="turns-3-1-sep"),
    ],
)  # fmt: skip
def test_entitlements_from_birth(birth: date, event, expected: tuple) -> None:
    """The working-parent hours (9 months) and the 2- and 3-year-old offers, from a birth date."""
    assert funding_from(event(birth), PERIODS) == expected


def test_funding_from_needs_a_covering_period() -> None:
    """Periods that were never checked may leave a day out; that is an error, not a guess."""
    with pytest.raises(ValueError, match="no funding period"):
        funding_from(date(2026, 5, 1), PERIODS[:1])


# --- Months and ages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, months, expected",
    [
        pytest.param(date(2023, 5, 31), 9, date(2024, 2, 29), id="31-may-plus-9-leap"),
        pytest.param(date(2024, 5, 31), 9, date(2025, 2, 28), id="31-may-plus-9-non-leap"),
        pytest.param(date(2026, 1, 31), 1, date(2026, 2, 28), id="31-jan-plus-1"),
        pytest.param(date(2026, 1, 15), 9, date(2026, 10, 15), id="same-day"),
        pytest.param(date(2026, 11, 30), 2, date(2027, 1, 30), id="over-new-year"),
        pytest.param(date(2026, 3, 31), -1, date(2026, 2, 28), id="back-1-clamped"),
        pytest.param(date(2026, 2, 15), -3, date(2025, 11, 15), id="back-over-new-year"),
        pytest.param(date(2026, 5, 5), 0, date(2026, 5, 5), id="zero"),
    ],
)
def test_add_months_clamps_to_month_end(day: date, months: int, expected: date) -> None:
    """A day the target month lacks becomes its last day."""
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    "birth, years, expected",
    [
        pytest.param(date(2024, 2, 29), 1, date(2025, 3, 1), id="29-feb-non-leap-is-1-mar"),
        pytest.param(date(2024, 2, 29), 2, date(2026, 3, 1), id="29-feb-turns-2"),
        pytest.param(date(2024, 2, 29), 4, date(2028, 2, 29), id="29-feb-leap-is-29-feb"),
        pytest.param(date(2023, 11, 3), 3, date(2026, 11, 3), id="ordinary"),
        pytest.param(date(2023, 11, 3), 0, date(2023, 11, 3), id="zero"),
    ],
)
def test_turns(birth: date, years: int, expected: date) -> None:
    """A child born on 29 February turns a year older on 1 March in a non-leap year (English law)."""
    assert turns(birth, years) == expected


def test_turns_refuses_negative_age() -> None:
    """There is no such birthday."""
    with pytest.raises(ValueError):
        turns(date(2024, 1, 1), -1)


@pytest.mark.parametrize(
    "birth, today, expected",
    [
        pytest.param(date(2026, 1, 31), date(2026, 2, 28), 1, id="31-jan-is-1-month-on-28-feb"),
        pytest.param(date(2026, 1, 15), date(2026, 2, 14), 0, id="day-before"),
        pytest.param(date(2026, 1, 15), date(2026, 2, 15), 1, id="on-the-day"),
        pytest.param(date(2023, 5, 31), date(2024, 2, 28), 8, id="31-may-leap-not-yet-9"),
        pytest.param(date(2023, 5, 31), date(2024, 2, 29), 9, id="31-may-leap-9-on-29-feb"),
        pytest.param(date(2024, 5, 31), date(2025, 2, 28), 9, id="31-may-non-leap-9-on-28-feb"),
        pytest.param(date(2023, 11, 3), TODAY, 36, id="three-years"),
        pytest.param(TODAY, TODAY, 0, id="born-today"),
    ],
)
def test_age_in_months(birth: date, today: date, expected: int) -> None:
    """Whole months lived, counted as ``add_months`` counts them."""
    assert age_in_months(birth, today) == expected


@pytest.mark.parametrize("months", [0, 1, 9, 13, 24, 36])
@pytest.mark.parametrize("birth", [date(2023, 5, 31), date(2024, 2, 29), date(2024, 1, 30)], ids=str)
def test_age_in_months_agrees_with_add_months(birth: date, months: int) -> None:
    """The day ``add_months`` gives is the day the child reaches that many months, and not the day before."""
    reached = add_months(birth, months)
    assert age_in_months(birth, reached) == months
    if months:
        assert age_in_months(birth, date.fromordinal(reached.toordinal() - 1)) == months - 1


def test_age_in_months_refuses_unborn() -> None:
    """An unborn baby has no age."""
    with pytest.raises(ValueError):
        age_in_months(date(2026, 12, 1), TODAY)


# --- Birth dates ------------------------------------------------------------------------------------------------

EXACT = BirthDate(date(2022, 11, 3), approximate=False)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("born 3/11/22", id="slash-2-digit-year"),
        pytest.param("03/11/2022", id="slash-padded"),
        pytest.param("3.11.22", id="dots"),
        pytest.param("3-11-2022", id="dashes"),
        pytest.param("3 November 2022", id="month-name"),
        pytest.param("3rd Nov 22", id="ordinal-short-month-2-digit-year"),
        pytest.param("on the 3rd of november 2022", id="of"),
        pytest.param("November 3rd, 2022", id="month-first"),
        pytest.param("2022-11-03", id="iso"),
        pytest.param("She was born on 3/11/22 and she's 4 now", id="date-beats-age"),
        pytest.param("DOB: 03.11.2022.", id="full-stop-after"),
    ],
)
def test_birth_date_written_out(text: str) -> None:
    """UK day-first dates, in figures or words, are exact."""
    assert parse_birth_date(text, TODAY) == EXACT


@pytest.mark.parametrize(
    "text, today, expected",
    [
        pytest.param("Nov 2022", TODAY, date(2022, 11, 1), id="month-year-short"),
        pytest.param("november 2022", TODAY, date(2022, 11, 1), id="month-year-lower"),
        pytest.param("born in sept '23", TODAY, date(2023, 9, 1), id="month-apostrophe-year"),
        pytest.param("she's 2 and a half", TODAY, date(2024, 5, 20), id="and-a-half"),
        pytest.param("2 and a half", TODAY, date(2024, 5, 20), id="bare-and-a-half"),
        pytest.param("two and a half years old", TODAY, date(2024, 5, 20), id="words-and-a-half"),
        pytest.param("2.5 years", TODAY, date(2024, 5, 20), id="decimal-years"),
        pytest.param("she is 2\u00bd", TODAY, date(2024, 5, 20), id="half-sign"),
        pytest.param("2 1/2 years old", TODAY, date(2024, 5, 20), id="slash-half"),
        pytest.param("he is 2", TODAY, date(2024, 5, 20), id="he-is-2-midpoint"),
        pytest.param("she's two", TODAY, date(2024, 5, 20), id="word-age"),
        pytest.param("hes 3", TODAY, date(2023, 5, 20), id="no-apostrophe"),
        pytest.param("2 years old", TODAY, date(2024, 5, 20), id="years-old"),
        pytest.param("my 2-year-old", TODAY, date(2024, 5, 20), id="hyphenated"),
        pytest.param("2yo", TODAY, date(2024, 5, 20), id="yo"),
        pytest.param("3 y/o", TODAY, date(2023, 5, 20), id="y-slash-o"),
        pytest.param("aged 4", TODAY, date(2022, 5, 20), id="aged"),
        pytest.param("she is 2 and gets 15 hours", TODAY, date(2024, 5, 20), id="age-beside-hours"),
        pytest.param("10 months old", TODAY, date(2026, 1, 20), id="months-old"),
        pytest.param("18 months", TODAY, date(2025, 5, 20), id="months"),
        pytest.param("he's 2 years and 3 months", TODAY, date(2024, 8, 20), id="years-and-months"),
        pytest.param("1 year 6 months", TODAY, date(2025, 5, 20), id="year-months-no-and"),
        pytest.param("6 weeks old", TODAY, date(2026, 10, 9), id="weeks-old"),
        pytest.param("9 months old", date(2026, 11, 30), date(2026, 2, 28), id="months-clamped"),
        pytest.param("turns 3 in Nov", TODAY, date(2023, 11, 1), id="turns-in-this-month"),
        pytest.param("will be 3 in november", TODAY, date(2023, 11, 1), id="will-be"),
        pytest.param("turns 3 in january", TODAY, date(2024, 1, 1), id="turns-next-year"),
        pytest.param("she turns 2 in october", TODAY, date(2025, 10, 1), id="month-already-gone"),
        pytest.param("3 next month", TODAY, date(2023, 12, 1), id="next-month"),
        pytest.param("turns 3 next month", date(2026, 12, 10), date(2024, 1, 1), id="next-month-new-year"),
        pytest.param("turns 2 this month", TODAY, date(2024, 11, 1), id="this-month"),
    ],
)
def test_birth_date_estimated(text: str, today: date, expected: date) -> None:
    """Ages and months without a day give an approximate date, chosen as the module docstring says."""
    assert parse_birth_date(text, today) == BirthDate(expected, approximate=True)


@pytest.mark.parametrize(
    "text, today, expected",
    [
        pytest.param("birthday is 14 feb, he's 2", TODAY, date(2024, 2, 14), id="birthday-passed-this-year"),
        pytest.param("her birthday is 25 december, she is 2", TODAY, date(2023, 12, 25), id="birthday-to-come"),
        pytest.param("birthday is 14 feb and she turns 3", TODAY, date(2024, 2, 14), id="turns"),
        pytest.param("turns 3 on the 20th of november", TODAY, date(2023, 11, 20), id="turns-today"),
        pytest.param("born feb 14, 2 years old", TODAY, date(2024, 2, 14), id="month-first"),
        pytest.param("birthday 29 feb, she's 2", TODAY, date(2024, 2, 29), id="leap-day"),
    ],
)
def test_birthday_with_age_is_exact(text: str, today: date, expected: date) -> None:
    """A day and month plus the age fix the year."""
    assert parse_birth_date(text, today) == BirthDate(expected, approximate=False)


def test_impossible_birthday_for_age_falls_back_to_age() -> None:
    """No child born on 29 February is 3 in November 2026, so only the age is used."""
    assert parse_birth_date("birthday 29 feb, he's 3", TODAY) == BirthDate(date(2023, 5, 20), approximate=True)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("31/02/22", id="31-feb"),
        pytest.param("29/02/2023", id="29-feb-non-leap"),
        pytest.param("3/13/22", id="month-13"),
        pytest.param("32 jan 2023", id="day-32"),
        pytest.param("birthday 31 feb, she's 2", id="31-feb-with-age"),
        pytest.param("born 3/11/27", id="due-in-a-year"),
        pytest.param("born 3/11/99", id="two-digit-year-is-2099"),
        pytest.param("born 3/11/2019", id="turned-7"),
        pytest.param("he is 7", id="age-7"),
        pytest.param("8 years old", id="age-8"),
        pytest.param("15 hours", id="15-hours"),
        pytest.param("can we get 30 hours?", id="30-hours"),
        pytest.param("we get 30 hours a week", id="30-hours-a-week"),
        pytest.param("my 11-digit code is 50012345678", id="11-digit-code"),
        pytest.param("call 024 7683 1614", id="phone-number"),
        pytest.param("I have to reconfirm every 3 months", id="every-3-months"),
        pytest.param("the deadline is 6 weeks", id="six-weeks"),
        pytest.param("born 14 feb", id="day-month-no-year-no-age"),
        pytest.param("I have 2 children", id="count-of-children"),
        pytest.param("not sure", id="no-date"),
        pytest.param("", id="empty"),
    ],
)
def test_birth_date_rejected(text: str) -> None:
    """Impossible dates, babies not due for months, children over 6 and unrelated numbers give None."""
    assert parse_birth_date(text, TODAY) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("due 20/2/27", BirthDate(date(2027, 2, 20), approximate=False), id="due-in-3-months"),
        pytest.param("due 21/2/27", None, id="due-in-3-months-and-a-day"),
        pytest.param("born 21/11/2019", BirthDate(date(2019, 11, 21), approximate=False), id="6-turns-7-tomorrow"),
        pytest.param("born 20/11/2019", None, id="turns-7-today"),
        pytest.param("he is 6", BirthDate(date(2020, 5, 20), approximate=True), id="age-6"),
    ],
)
def test_birth_date_limits(text: str, expected: Optional[BirthDate]) -> None:
    """A due date up to 3 months ahead is kept (parents plan ahead); a child stays in scope until turning 7."""
    assert parse_birth_date(text, TODAY) == expected


# --- Request dates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, today, expected",
    [
        pytest.param("we asked on 3 March", TODAY, date(2026, 3, 3), id="day-month"),
        pytest.param("3 March", date(2026, 3, 1), date(2025, 3, 3), id="day-month-not-yet-this-year"),
        pytest.param("3 March", date(2026, 3, 3), date(2026, 3, 3), id="day-month-today"),
        pytest.param("31st december", date(2027, 1, 2), date(2026, 12, 31), id="day-month-over-new-year"),
        pytest.param("29 feb", TODAY, date(2024, 2, 29), id="29-feb-last-leap-year"),
        pytest.param("march the 3rd", TODAY, date(2026, 3, 3), id="month-first"),
        pytest.param("on 3/3", TODAY, date(2026, 3, 3), id="slash-no-year"),
        pytest.param("3/3/26", TODAY, date(2026, 3, 3), id="slash-year"),
        pytest.param("on the 3rd of march 2026", TODAY, date(2026, 3, 3), id="words-year"),
        pytest.param("8 weeks ago", TODAY, date(2026, 9, 25), id="weeks-ago"),
        pytest.param("8 weeks ago", date(2027, 1, 10), date(2026, 11, 15), id="weeks-ago-over-new-year"),
        pytest.param("two months ago", TODAY, date(2026, 9, 20), id="months-ago-words"),
        pytest.param("twelve weeks ago", TODAY, date(2026, 8, 28), id="twelve-words"),
        pytest.param("a month ago", date(2026, 3, 31), date(2026, 2, 28), id="month-ago-clamped"),
        pytest.param("about 10 days ago", TODAY, date(2026, 11, 10), id="days-ago"),
        pytest.param("a fortnight ago", TODAY, date(2026, 11, 6), id="fortnight"),
        pytest.param("it's been 7 weeks", TODAY, date(2026, 10, 2), id="been-weeks"),
        pytest.param("we've been waiting for 12 weeks", TODAY, date(2026, 8, 28), id="been-waiting"),
        pytest.param("yesterday", TODAY, date(2026, 11, 19), id="yesterday"),
        pytest.param("we sent it today", TODAY, TODAY, id="today"),
        pytest.param("last tuesday", TODAY, date(2026, 11, 17), id="last-tuesday"),
        pytest.param("on friday", TODAY, date(2026, 11, 13), id="weekday-same-as-today-means-last-week"),
        pytest.param("last week", TODAY, date(2026, 11, 9), id="last-week-monday"),
        pytest.param("last week", date(2026, 1, 5), date(2025, 12, 29), id="last-week-over-new-year"),
        pytest.param("last month", date(2027, 1, 15), date(2026, 12, 1), id="last-month-over-new-year"),
        pytest.param("in January", TODAY, date(2026, 1, 1), id="in-month"),
        pytest.param("in november", TODAY, date(2026, 11, 1), id="in-this-month"),
        pytest.param("in december", TODAY, date(2025, 12, 1), id="in-month-last-year"),
        pytest.param("in december", date(2027, 1, 10), date(2026, 12, 1), id="in-month-over-new-year"),
        pytest.param("in late march", TODAY, date(2026, 3, 21), id="late-month"),
        pytest.param("mid-june", TODAY, date(2026, 6, 11), id="mid-month"),
        pytest.param("in January 2025", TODAY, date(2025, 1, 1), id="month-with-year"),
        pytest.param("september 2026", TODAY, date(2026, 9, 1), id="bare-month-year"),
    ],
)
def test_request_date(text: str, today: date, expected: date) -> None:
    """Dates, counts back and named periods; a day without a year is the most recent one not after today."""
    assert parse_request_date(text, today) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("3/3/27", id="future-date"),
        pytest.param("31 feb", id="31-feb"),
        pytest.param("31/04/2026", id="31-apr"),
        pytest.param("we want 30 hours", id="30-hours"),
        pytest.param("they have 6 weeks", id="weeks-without-ago"),
        pytest.param("in 3 weeks", id="future-count"),
        pytest.param("tomorrow", id="tomorrow"),
        pytest.param("I don't remember", id="no-date"),
        pytest.param("", id="empty"),
    ],
)
def test_request_date_rejected(text: str) -> None:
    """No date, a day that does not exist, or one after today gives None."""
    assert parse_request_date(text, TODAY) is None


# --- EHC deadlines ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_day, expected",
    [
        pytest.param(date(2026, 3, 3), (date(2026, 4, 14), date(2026, 6, 23), date(2026, 7, 21)), id="march"),
        pytest.param(date(2026, 12, 1), (date(2027, 1, 12), date(2027, 3, 23), date(2027, 4, 20)),
                     id="over-new-year"),
        pytest.param(date(2027, 11, 15), (date(2027, 12, 27), date(2028, 3, 6), date(2028, 4, 3)),
                     id="over-29-feb-2028"),
    ],
)  # fmt: skip
def test_ehc_deadlines_default_weeks(request_day: date, expected: tuple) -> None:
    """6, 16 and 20 weeks from the day the council received the request."""
    deadlines = ehc_deadlines(request_day)
    assert deadlines.requested == request_day
    assert (deadlines.decide_assess, deadlines.decide_plan, deadlines.final_plan) == expected


def test_ehc_deadlines_take_week_counts() -> None:
    """The week counts come from the facts file, so they are arguments."""
    deadlines = ehc_deadlines(date(2026, 3, 3), decide_assess_weeks=1, decide_plan_weeks=2, final_plan_weeks=3)
    assert deadlines.steps() == (
        (STEP_DECIDE_ASSESS, date(2026, 3, 10)),
        (STEP_DECIDE_PLAN, date(2026, 3, 17)),
        (STEP_FINAL_PLAN, date(2026, 3, 24)),
    )


@pytest.mark.parametrize(
    "weeks",
    [pytest.param((0, 16, 20), id="zero"), pytest.param((6, 20, 16), id="out-of-order"),
     pytest.param((-6, 16, 20), id="negative")],
)  # fmt: skip
def test_ehc_deadlines_refuse_bad_weeks(weeks: tuple) -> None:
    """A typo in the facts must not produce deadlines in the wrong order."""
    with pytest.raises(ValueError, match="in order"):
        ehc_deadlines(date(2026, 3, 3), *weeks)


REQUESTED = ehc_deadlines(date(2026, 3, 3))


@pytest.mark.parametrize(
    "today, days, weeks, passed, next_step, next_due",
    [
        pytest.param(date(2026, 3, 3), 0, 0, (), STEP_DECIDE_ASSESS, date(2026, 4, 14), id="request-day"),
        pytest.param(date(2026, 4, 13), 41, 5, (), STEP_DECIDE_ASSESS, date(2026, 4, 14), id="day-before-6-weeks"),
        pytest.param(date(2026, 4, 14), 42, 6, (), STEP_DECIDE_ASSESS, date(2026, 4, 14), id="6-week-day-not-passed"),
        pytest.param(date(2026, 4, 15), 43, 6, (STEP_DECIDE_ASSESS,), STEP_DECIDE_PLAN, date(2026, 6, 23),
                     id="6-weeks-passed"),
        pytest.param(date(2026, 6, 24), 113, 16, (STEP_DECIDE_ASSESS, STEP_DECIDE_PLAN), STEP_FINAL_PLAN,
                     date(2026, 7, 21), id="16-weeks-passed"),
        pytest.param(date(2026, 7, 22), 141, 20, (STEP_DECIDE_ASSESS, STEP_DECIDE_PLAN, STEP_FINAL_PLAN), None, None,
                     id="all-passed"),
    ],
)  # fmt: skip
def test_deadline_progress(
    today: date, days: int, weeks: int, passed: tuple, next_step: Optional[str], next_due: Optional[date]
) -> None:
    """A deadline passes once its day is over; weeks are whole weeks since the request."""
    progress = deadline_progress(REQUESTED, today)
    assert (progress.days_elapsed, progress.weeks_elapsed) == (days, weeks)
    assert progress.passed == passed
    assert (progress.next_step, progress.next_due) == (next_step, next_due)


def test_deadline_progress_refuses_today_before_request() -> None:
    """The clock cannot have started yet."""
    with pytest.raises(ValueError):
        deadline_progress(REQUESTED, date(2026, 3, 2))


def test_family_words_to_deadlines() -> None:
    """ "We asked 8 weeks ago": the decision on assessing is overdue, the plan decision is next."""
    progress = deadline_progress(ehc_deadlines(parse_request_date("We asked 8 weeks ago", TODAY)), TODAY)
    assert progress.weeks_elapsed == 8
    assert progress.passed == (STEP_DECIDE_ASSESS,)
    assert progress.next_step == STEP_DECIDE_PLAN


# --- The module itself ------------------------------------------------------------------------------------------


def test_dates_imports_only_stdlib_and_yaml(project_dir: Path) -> None:
    """No Rasa and no third-party date library, so actions, channels and tests can all use it."""
    tree = ast.parse((project_dir / "bot" / "dates.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - {"__future__"} == {"yaml"}
