"""Dates for families: when funded nursery hours start, how old a child is, and when EHC deadlines fall.

Every answer about *when* depends on two things a family types in their own words: the child's birth date ("born
3/11/22", "she's 2 and a half", "turns 3 in Nov") and the day they asked for an EHC needs assessment ("8 weeks ago",
"3 March"). This module turns those words into dates and applies the rules from ../shared/facts/domain-facts.md
(sections 1 and 2). It is plain Python with no Rasa import, so actions, channels and tests can all use it, and no
function reads the clock: each takes ``today``, so a test can pin the date and catch a year-end bug before a family
meets it in January.

Coventry's funding periods are data (``data/knowledge/funding_periods.yml``), edited by a council officer; the EHC
week counts are arguments, because they come from the facts file.

Parsers never raise on what a family types: they return ``None`` and the assistant asks again. Other functions
raise ``ValueError`` for arguments that cannot be right (a negative age, ``today`` before the request), and loading
bad funding periods raises a subclass::

    ValueError
     └── FundingPeriodsError   funding_periods.yml is unreadable or malformed, or a day of the year is in no
                               period or in two

Estimated birth dates (``BirthDate.approximate`` is True, so the assistant can say "about" and ask to confirm)
follow three rules:

- A month without a day ("Nov 2022", "turns 3 in November", "we asked in January") means the 1st of that month.
  Coventry's funding periods begin on the 1st of a month, so the day never changes which term funding starts.
- An age in whole years ("he is 2", "2 years old") means the middle of that year of life: 2 years and 6 months
  before today. A child who "is 2" is anywhere from 2y0m to 2y11m, and the midpoint is never more than six months
  out. A fractional age ("2 and a half", "2.5 years") is taken as said: 30 months before today.
- An age in months or weeks ("10 months old", "6 weeks old") counts back exactly that many from today.

A day and month with an age ("birthday is 14 feb, he's 2") fix the year, so that date is exact.

For request dates, a named period ("in January", "last week", "last month") means its first day (the 1st, the
Monday; "early", "mid", "late" March are the 1st, 11th and 21st), the earliest the request can have been made. Deadlines then come out at the earliest they can fall, so the assistant never tells a
family there is still time when a deadline may already have passed.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

import yaml

FUNDING_PERIODS_FILE = Path(__file__).resolve().parent.parent / "data" / "knowledge" / "funding_periods.yml"
PERIOD_KEYS = ("birthdays_from", "birthdays_to", "funding_from", "term")  # every period needs exactly these
LEAP_REFERENCE_YEAR = 2024  # periods are checked against a leap year, so 29 February must be covered too

MAX_AGE_YEARS = 6  # a child who has turned 7 is outside the assistant's early-years scope
MAX_MONTHS_BEFORE_BIRTH = 3  # a due date this close is accepted so parents can plan; later ones are typos
TWO_DIGIT_CENTURY = 2000  # "3/11/22" is 2022: every child we talk about was born this century
MONTHS_IN_YEAR = 12
DAYS_IN_WEEK = 7
WHOLE_YEAR_MIDPOINT_MONTHS = 6  # "he is 2" is taken as 2 years 6 months, the middle of the year of life
MAX_YEARS_TO_FIND_DAY = 8  # how far back to look for a day-and-month without a year (29 February needs 8)

DEFAULT_DECIDE_ASSESS_WEEKS = 6
DEFAULT_DECIDE_PLAN_WEEKS = 16
DEFAULT_FINAL_PLAN_WEEKS = 20
STEP_DECIDE_ASSESS = "decide_assess"  # the council says whether it will assess
STEP_DECIDE_PLAN = "decide_plan"  # the council says whether it will issue a plan
STEP_FINAL_PLAN = "final_plan"  # the final EHC plan is issued

MonthDay = Tuple[int, int]  # (month, day), a day of the year without a year


class FundingPeriodsError(ValueError):
    """``funding_periods.yml`` cannot be read, is malformed, or does not cover each day of the year once."""


# --- Funding periods --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingPeriod:
    """A range of birthdays that all start funding from the same term."""

    birthdays_from: MonthDay  # first birthday in the period, included
    birthdays_to: MonthDay  # last birthday in the period, included; before birthdays_from if it runs over New Year
    funding_from: MonthDay  # first day of the term the funding starts
    term: str  # the term's name as families hear it, e.g. "spring term"

    def contains(self, day: date) -> bool:
        """Whether ``day``'s month and day fall in this period, whatever the year.

        Args:
            day: the birthday (or the day an entitlement begins).

        Returns:
            True if the period includes that day of the year.
        """
        month_day = (day.month, day.day)
        if self.birthdays_from <= self.birthdays_to:
            return self.birthdays_from <= month_day <= self.birthdays_to
        return month_day >= self.birthdays_from or month_day <= self.birthdays_to


def load_funding_periods(path: Path = FUNDING_PERIODS_FILE) -> Tuple[FundingPeriod, ...]:
    """Load and check the funding periods, so a typo stops start-up instead of giving a family a wrong term.

    Args:
        path: the YAML file; the project's ``data/knowledge/funding_periods.yml`` by default.

    Returns:
        The periods, in file order.

    Raises:
        FundingPeriodsError: (a ``ValueError``) the file is unreadable or malformed, or some day of the year,
            29 February included, is in no period or in more than one.
    """
    try:
        with Path(path).open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise FundingPeriodsError(f"cannot read {path}: {error}") from error
    entries = document.get("periods") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise FundingPeriodsError(f"{path} must have a non-empty 'periods' list")
    periods = tuple(_parse_period(entry, number) for number, entry in enumerate(entries, start=1))
    _check_coverage(periods)
    return periods


def funding_from(event_day: date, periods: Sequence[FundingPeriod]) -> Tuple[date, str]:
    """The first day of funding for an entitlement that starts "the term after" ``event_day``.

    Funding never starts on the event day itself: a child who turns 3 on 1 April, the first day of the summer term,
    is funded from the autumn term, as the facts table says.

    Args:
        event_day: the day the child becomes entitled, e.g. ``turns(birth, 3)`` or ``add_months(birth, 9)``.
        periods: from ``load_funding_periods``.

    Returns:
        The first funded day (the next ``funding_from`` day after ``event_day``) and the term's name.

    Raises:
        ValueError: no period contains ``event_day`` (only possible with periods that were not loaded and checked).
    """
    for period in periods:
        if period.contains(event_day):
            month, day = period.funding_from
            start = date(event_day.year, month, day)
            if start <= event_day:
                start = date(event_day.year + 1, month, day)
            return start, period.term
    raise ValueError(f"no funding period contains {event_day:%d %B}")


def _parse_period(entry: object, number: int) -> FundingPeriod:
    if not isinstance(entry, dict) or set(entry) != set(PERIOD_KEYS):
        raise FundingPeriodsError(f"funding period {number} needs exactly these keys: {', '.join(PERIOD_KEYS)}")
    term = entry["term"]
    if not isinstance(term, str) or not term.strip():
        raise FundingPeriodsError(f"funding period {number} needs a term name")
    funding_day = _parse_month_day(entry["funding_from"], "funding_from", number)
    if funding_day == (2, 29):
        raise FundingPeriodsError(f"funding period {number}: funding_from cannot be 29 February")
    return FundingPeriod(
        birthdays_from=_parse_month_day(entry["birthdays_from"], "birthdays_from", number),
        birthdays_to=_parse_month_day(entry["birthdays_to"], "birthdays_to", number),
        funding_from=funding_day,
        term=term.strip(),
    )


def _parse_month_day(value: object, field: str, number: int) -> MonthDay:
    match = re.fullmatch(r"(\d{2})-(\d{2})", value) if isinstance(value, str) else None
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        try:
            date(LEAP_REFERENCE_YEAR, month, day)
        except ValueError:
            pass
        else:
            return month, day
    raise FundingPeriodsError(f"funding period {number}: {field} must be a quoted \"MM-DD\" day, not {value!r}")


def _check_coverage(periods: Sequence[FundingPeriod]) -> None:
    day = date(LEAP_REFERENCE_YEAR, 1, 1)
    while day.year == LEAP_REFERENCE_YEAR:
        terms = [period.term for period in periods if period.contains(day)]
        if len(terms) != 1:
            where = f"in {len(terms)} periods ({', '.join(terms)})" if terms else "in no period"
            raise FundingPeriodsError(f"{day.day} {day:%B} is {where}; every birthday must be in exactly one")
        day += timedelta(days=1)


# --- Ages -------------------------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (negative counts back), kept inside the target month.

    A month has no fixed length, so a day the target month lacks becomes its last day: 31 May + 9 months is
    28 February, or 29 February in a leap year. This is how "9 months old" is counted for the working-parent hours.

    Args:
        day: the starting day.
        months: how many months to move; negative moves back.

    Returns:
        The same day of the month, or the target month's last day if it is shorter.
    """
    index = day.year * MONTHS_IN_YEAR + day.month - 1 + months
    year, month = divmod(index, MONTHS_IN_YEAR)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def turns(birth: date, years: int) -> date:
    """The day a child born on ``birth`` turns ``years`` old.

    In English law a child born on 29 February turns a year older on 1 March in a non-leap year, not on
    28 February. Unlike ``add_months``, this does not clamp.

    Args:
        birth: the date of birth.
        years: the age, 0 or more.

    Returns:
        The birthday on which the child reaches that age.

    Raises:
        ValueError: ``years`` is negative.
    """
    if years < 0:
        raise ValueError(f"an age cannot be negative: {years}")
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February in a year without one
        return date(birth.year + years, 3, 1)


def age_in_months(birth: date, today: date) -> int:
    """Whole months a child has lived, counted as ``add_months`` counts them.

    A child born 31 January is 1 month old on 28 February, so this agrees with ``add_months(birth, 9)`` about when
    a child reaches 9 months.

    Args:
        birth: the date of birth.
        today: the day to measure on.

    Returns:
        The largest ``n`` with ``add_months(birth, n) <= today``.

    Raises:
        ValueError: ``today`` is before ``birth`` (the baby is not born yet).
    """
    if today < birth:
        raise ValueError("the child is not born yet")
    months = (today.year - birth.year) * MONTHS_IN_YEAR + today.month - birth.month
    if add_months(birth, months) > today:
        months -= 1
    return months


def _age_in_years(birth: date, today: date) -> int:
    years = today.year - birth.year
    if turns(birth, years) > today:
        years -= 1
    return years


# --- Reading what families type ---------------------------------------------------------------------------------

_MONTH_NAMES = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12,
}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _alternatives(words: Sequence[str]) -> str:
    # Longest first, so "january" is tried before "jan".
    return "|".join(sorted(words, key=len, reverse=True))


_MONTH = rf"\b({_alternatives(list(_MONTH_NAMES))})\.?(?![a-z])"  # captures the month's name
_ANY_MONTH = rf"\b(?:{_alternatives(list(_MONTH_NAMES))})(?![a-z])"  # the same, capturing nothing
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_WORDS = _alternatives(list(_NUMBER_WORDS))
# A number not glued to other digits, a decimal point, a date separator or a currency sign: "2" in "2yo" but not in
# "12345678901", "2.5", "3/11" or "£2".
_NOT_AFTER = r"(?<![\w.,/:£$-])"
_WHOLE = rf"{_NOT_AFTER}(\d{{1,2}}(?![\d.])|(?:{_WORDS})\b)"  # 2, 18, two
_DECIMAL = rf"{_NOT_AFTER}(\d{{1,2}}(?:\.\d{{1,2}})?(?![\d.])|(?:{_WORDS})\b)"  # 2, 2.5, two
_COUNT = rf"{_NOT_AFTER}(\d{{1,3}}(?![\d.])|(?:an?|{_WORDS})\b)"  # 8, a, two (in "8 weeks ago", "a month ago")
_UNITS = r"hours?|hrs?|h\b|mins?|minutes?|days?|weeks?|wks?|months?|mths?|mos?\b"  # what else a number counts
# Numbers that are not an age: "is 15 hours", "11-digit", "birthday is 14 feb", "is 3/11".
_NOT_AN_AGE = rf"(?!\s*(?:{_UNITS}|%|pm\b|am\b|o'clock|-?digit|st\b|nd\b|rd\b|th\b|/|(?:of\s+)?{_ANY_MONTH}))"
_NOT_A_YEAR = rf"(?!\s*-?\s*(?:{_UNITS}|years?|yrs?|y\.?o\b|y/o))"  # "14 feb, 10 months old": 10 is no year
_NOT_A_DURATION = r"(?<!every )(?<!in )(?<!next )(?<!for )"  # "reconfirm every 3 months" is not an age

_NUMERIC_DATE = re.compile(r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/-])(?!\.\d)")  # 3/11/22
_ISO_DATE = re.compile(r"(?<![\d/.-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d/-])")  # 2022-11-03
_DAY_MONTH_YEAR = re.compile(rf"(?<![\d.]){_DAY}\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}}|'?\d{{2}})(?![\d:]){_NOT_A_YEAR}")
_MONTH_DAY_YEAR = re.compile(rf"{_MONTH}\s+(?:the\s+)?{_DAY},?\s+(\d{{4}})(?!\d)")  # November 3rd, 2022
_DAY_MONTH = re.compile(rf"(?<![\d.]){_DAY}\s+(?:of\s+)?{_MONTH}")  # 14 feb, 3rd of March
_MONTH_DAY = re.compile(rf"{_MONTH}\s+(?:the\s+)?{_DAY}(?![\d:]){_NOT_A_YEAR}")  # feb 14, march the 3rd
_SLASH_DAY_MONTH = re.compile(r"(?<![\d/.-])(\d{1,2})/(\d{1,2})(?![\d/])")  # 3/3 (dots would be decimals)
_MONTH_YEAR = re.compile(
    rf"{_MONTH},?\s+(?:of\s+)?(\d{{4}}|'?\d{{2}})(?![\d:]|st|nd|rd|th){_NOT_A_YEAR}"
)  # Nov 2022, nov '22

_TURNS_IN_MONTH = re.compile(
    rf"(?:\bturns?|\bturning|\bbe)\s+{_WHOLE}\s+(?:years?\s+(?:old\s+)?)?(?:in\s+|on\s+)?{_MONTH}"
)  # turns 3 in Nov, will be 3 in november
_TURNS_NEXT_MONTH = re.compile(rf"{_WHOLE}\s+(?:years?\s+(?:old\s+)?)?(next|this)\s+month")  # (turns) 3 next month
_UPCOMING_AGE = re.compile(rf"(?:\bturns?|\bturning|\bbe)\s+{_WHOLE}{_NOT_AN_AGE}")  # turns 3, will be 3
_YEARS_AND_MONTHS = re.compile(
    rf"{_WHOLE}\s*-?\s*(?:years?|yrs?|yr)\s*(?:,|and|&)?\s*{_WHOLE}\s*-?\s*(?:months?|mths?|mos?)\b"
)  # 2 years and 3 months, 1 year 6 months
_MONTHS_OLD = re.compile(rf"{_NOT_A_DURATION}{_WHOLE}\s*-?\s*(?:months?|mths?|mos?)\b")  # 10 months old, 18mo
_WEEKS_OLD = re.compile(rf"{_WHOLE}\s*-?\s*(?:weeks?|wks?)\s*-?\s*old\b")  # 6 weeks old
_AND_A_HALF = re.compile(rf"{_WHOLE}\s*(?:and|&)\s+a\s+half(?!\s*(?:hours?|hrs?|days?|weeks?|months?))")
_YEARS_OLD = (
    re.compile(rf"{_NOT_A_DURATION}{_DECIMAL}\s*-?\s*(?:years?|yrs?|yr)\b"),  # 2 years old, 2-year-old, 2.5 years
    re.compile(rf"{_DECIMAL}\s*(?:y\.?o\.?|y/o)(?![a-z])"),  # 2yo, 2 y/o
    re.compile(rf"(?:\bis|'s|\b(?:he|she)s|\bare|\baged?|\bage:)\s+(?:now\s+|just\s+|only\s+)?{_DECIMAL}{_NOT_AN_AGE}"),
)

_AGO = re.compile(rf"{_COUNT}\s+(days?|weeks?|fortnights?|months?|years?)\s+ago\b")  # 8 weeks ago, a month ago
_BEEN = re.compile(
    rf"\bbeen\s+(?:waiting\s+)?(?:for\s+)?(?:about\s+|around\s+|over\s+|nearly\s+|almost\s+)?{_COUNT}\s+"
    r"(days?|weeks?|fortnights?|months?|years?)"
)  # it's been 8 weeks
_LAST_WEEKDAY = re.compile(rf"\b(?:last|on|this\s+past)\s+({_alternatives(_WEEKDAYS)})\b")
_IN_MONTH = re.compile(
    rf"(?:\b(?:in|during|since)\s+(?:(early|mid|late)\s*-?\s*)?|\b(early|mid|late)\s*-?\s*){_MONTH}"
    rf"(?:,?\s+(\d{{4}})(?!\d))?"
)  # in January, in late March 2026, early feb
_PERIOD_START_DAY = {None: 1, "early": 1, "mid": 11, "late": 21}  # first day of each part of a month


class _Impossible(Exception):
    """The text names a date that does not exist (31/02/22): the family meant a date, so nothing else is guessed."""


@dataclass(frozen=True)
class BirthDate:
    """A child's date of birth as read from a message."""

    date: date  # the birth date, or our best estimate of it
    approximate: bool  # True when estimated (an age, or a month without a day): confirm before relying on it


def parse_birth_date(text: str, today: date) -> Optional[BirthDate]:
    """Read a child's date of birth from what a family typed.

    Understands UK day-first dates ("3/11/22", "3.11.22", "3 November 2022", "3rd Nov 22"), a month and year
    ("Nov 2022"), ages ("she's 2 and a half", "2yo", "10 months old"), a coming birthday ("turns 3 in Nov",
    "3 next month") and a birthday with an age ("birthday is 14 feb, he's 2"). The module docstring explains how
    approximate dates are chosen. Two-digit years are 20yy.

    Args:
        text: the family's message.
        today: the day the message is read on.

    Returns:
        The birth date, or None if the text has no usable date, names a date that does not exist (31/02/22),
        puts the birth more than ``MAX_MONTHS_BEFORE_BIRTH`` months after today, or describes a child who has
        turned ``MAX_AGE_YEARS + 1``. A due date up to that many months ahead is returned so parents can plan;
        callers that need a born child (an EHC assessment) check ``result.date <= today``.
    """
    cleaned = _normalise(text)
    try:
        for parser in _BIRTH_PARSERS:
            found = parser(cleaned, today)
            if found is not None:
                return found if _plausible_birth(found.date, today) else None
    except _Impossible:
        return None
    return None


def parse_request_date(text: str, today: date) -> Optional[date]:
    """Read the day an EHC needs assessment was asked for.

    Understands dates ("3/3/26", "on the 3rd of march 2026"), a day and month, taken as the most recent one not
    after today ("we asked on 3 March"), counts back ("8 weeks ago", "two months ago", "it's been a fortnight"),
    "today", "yesterday", "last Tuesday", "last week", "last month", and months ("in January", "in late March
    2026"). A named period means its first day, as the module docstring explains.

    Args:
        text: the family's message.
        today: the day the message is read on.

    Returns:
        The request day, or None if the text has none, names a day that does not exist, or names a day after today.
    """
    cleaned = _normalise(text)
    try:
        for parser in _REQUEST_PARSERS:
            found = parser(cleaned, today)
            if found is not None:
                return found if found <= today else None
    except _Impossible:
        return None
    return None


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\s*\u00bd", ".5", text)  # 2½ -> 2.5
    text = re.sub(r"(\d)\s+1/2\b", r"\1.5", text)  # 2 1/2 -> 2.5
    return " ".join(text.split())


def _number(word: str) -> float:
    if word in ("a", "an"):
        return 1.0
    return float(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else float(word)


def _year(text: str) -> int:
    digits = text.lstrip("'")
    return TWO_DIGIT_CENTURY + int(digits) if len(digits) == 2 else int(digits)


def _month(name: str) -> int:
    return _MONTH_NAMES[name]


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as error:
        raise _Impossible(f"{day}/{month}/{year}") from error


def _check_day_of_year(month: int, day: int) -> None:
    _make_date(LEAP_REFERENCE_YEAR, month, day)  # 29 February exists in some year; 31 February in none


def _explicit_date(text: str) -> Optional[date]:
    """A full date with a year, in any of the written forms."""
    match = _ISO_DATE.search(text)
    if match:
        return _make_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    match = _NUMERIC_DATE.search(text)
    if match:
        return _make_date(_year(match.group(4)), int(match.group(3)), int(match.group(1)))
    match = _DAY_MONTH_YEAR.search(text)
    if match:
        return _make_date(_year(match.group(3)), _month(match.group(2)), int(match.group(1)))
    match = _MONTH_DAY_YEAR.search(text)
    if match:
        return _make_date(int(match.group(3)), _month(match.group(1)), int(match.group(2)))
    return None


def _day_and_month(text: str) -> Optional[MonthDay]:
    for pattern, day_group, month_group in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1), (_SLASH_DAY_MONTH, 1, 2)):
        match = pattern.search(text)
        if match:
            month_text = match.group(month_group)
            month = _MONTH_NAMES[month_text] if month_text in _MONTH_NAMES else int(month_text)
            day = int(match.group(day_group))
            _check_day_of_year(month, day)
            return month, day
    return None


def _plausible_birth(birth: date, today: date) -> bool:
    if birth > add_months(today, MAX_MONTHS_BEFORE_BIRTH):
        return False  # not born for months yet: a typo, or too early to help
    return turns(birth, MAX_AGE_YEARS + 1) > today


def _months_before(today: date, months: int) -> BirthDate:
    return BirthDate(date=add_months(today, -months), approximate=True)


def _birth_exact(text: str, today: date) -> Optional[BirthDate]:
    found = _explicit_date(text)
    return BirthDate(date=found, approximate=False) if found else None


def _mentioned_age(text: str) -> Optional[Tuple[int, bool]]:
    """A whole-year age in the text, and whether it is the age the child is about to turn."""
    match = _UPCOMING_AGE.search(text)
    if match:
        return int(_number(match.group(1))), True
    for pattern in _YEARS_OLD:
        match = pattern.search(text)
        if match and _number(match.group(1)).is_integer():
            return int(_number(match.group(1))), False
    return None


def _birth_from_birthday_and_age(text: str, today: date) -> Optional[BirthDate]:
    """ "birthday is 14 feb, he's 2": the day and month are given and the age fixes the year, so it is exact."""
    month_day = _day_and_month(text)
    age = _mentioned_age(text) if month_day else None
    if month_day is None or age is None:
        return None
    years, upcoming = age
    month, day = month_day
    births = []
    for year in range(today.year - years - 1, today.year - years + 2):
        try:
            births.append(date(year, month, day))
        except ValueError:  # 29 February in a year without one
            continue
    if upcoming:  # the nearest birthday on which the child turns ``years``, today included
        coming = [birth for birth in births if turns(birth, years) >= today]
        return BirthDate(date=min(coming), approximate=False) if coming else None
    current = [birth for birth in births if birth <= today and _age_in_years(birth, today) == years]
    return BirthDate(date=current[0], approximate=False) if current else None


def _birth_from_coming_birthday(text: str, today: date) -> Optional[BirthDate]:
    """ "turns 3 in Nov", "3 next month": the next such month from today, 1st of the month, minus the age."""
    match = _TURNS_IN_MONTH.search(text)
    if match:
        years, month = int(_number(match.group(1))), _month(match.group(2))
        year = today.year if month >= today.month else today.year + 1
    else:
        match = _TURNS_NEXT_MONTH.search(text)
        if not match:
            return None
        years = int(_number(match.group(1)))
        month_start = date(today.year, today.month, 1)
        if match.group(2) == "next":
            month_start = add_months(month_start, 1)
        year, month = month_start.year, month_start.month
    return BirthDate(date=date(year - years, month, 1), approximate=True)


def _birth_from_month_and_year(text: str, today: date) -> Optional[BirthDate]:
    """ "Nov 2022": the 1st of the month."""
    match = _MONTH_YEAR.search(text)
    if not match:
        return None
    return BirthDate(date=_make_date(_year(match.group(2)), _month(match.group(1)), 1), approximate=True)


def _birth_from_months_old(text: str, today: date) -> Optional[BirthDate]:
    """ "10 months old", "18 months", "2 years and 3 months", "6 weeks old": counted back exactly from today."""
    match = _YEARS_AND_MONTHS.search(text)
    if match:
        return _months_before(today, int(_number(match.group(1))) * MONTHS_IN_YEAR + int(_number(match.group(2))))
    match = _MONTHS_OLD.search(text)
    if match:
        return _months_before(today, int(_number(match.group(1))))
    match = _WEEKS_OLD.search(text)
    if match:
        return BirthDate(date=today - timedelta(weeks=_number(match.group(1))), approximate=True)
    return None


def _birth_from_years_old(text: str, today: date) -> Optional[BirthDate]:
    """ "2 and a half", "2.5 years" as said; "he is 2", "2yo" as the middle of that year of life."""
    match = _AND_A_HALF.search(text)
    if match:
        return _months_before(today, int(_number(match.group(1))) * MONTHS_IN_YEAR + MONTHS_IN_YEAR // 2)
    for pattern in _YEARS_OLD:
        match = pattern.search(text)
        if match:
            years = _number(match.group(1))
            if years.is_integer():
                return _months_before(today, int(years) * MONTHS_IN_YEAR + WHOLE_YEAR_MIDPOINT_MONTHS)
            return _months_before(today, round(years * MONTHS_IN_YEAR))
    return None


# Most specific first: a written date beats an age mentioned in the same message.
_BIRTH_PARSERS: Tuple[Callable[[str, date], Optional[BirthDate]], ...] = (
    _birth_exact,
    _birth_from_birthday_and_age,
    _birth_from_coming_birthday,
    _birth_from_month_and_year,
    _birth_from_months_old,
    _birth_from_years_old,
)


def _most_recent(month: int, day: int, today: date) -> Optional[date]:
    for year in range(today.year, today.year - MAX_YEARS_TO_FIND_DAY - 1, -1):
        try:
            found = date(year, month, day)
        except ValueError:  # 29 February in a year without one
            continue
        if found <= today:
            return found
    return None


def _request_exact(text: str, today: date) -> Optional[date]:
    return _explicit_date(text)


def _request_day_and_month(text: str, today: date) -> Optional[date]:
    """ "3 March": the most recent 3 March not after today."""
    month_day = _day_and_month(text)
    return _most_recent(*month_day, today) if month_day else None


def _counted_back(count: float, unit: str, today: date) -> date:
    amount = int(count)
    if unit.startswith("day"):
        return today - timedelta(days=amount)
    if unit.startswith("week"):
        return today - timedelta(weeks=amount)
    if unit.startswith("fortnight"):
        return today - timedelta(weeks=2 * amount)
    if unit.startswith("month"):
        return add_months(today, -amount)
    return add_months(today, -amount * MONTHS_IN_YEAR)


def _request_counted_back(text: str, today: date) -> Optional[date]:
    """ "8 weeks ago", "two months ago", "it's been a fortnight"."""
    if re.search(r"\ba\s+fortnight\s+ago\b", text):
        return today - timedelta(weeks=2)
    match = _AGO.search(text) or _BEEN.search(text)
    return _counted_back(_number(match.group(1)), match.group(2), today) if match else None


def _request_relative_day(text: str, today: date) -> Optional[date]:
    """ "today", "yesterday", "last Tuesday", "last week" (its Monday), "last month" (its 1st)."""
    if re.search(r"\byesterday\b", text):
        return today - timedelta(days=1)
    if re.search(r"\btoday\b", text):
        return today
    match = _LAST_WEEKDAY.search(text)
    if match:
        days_back = (today.weekday() - _WEEKDAYS.index(match.group(1))) % DAYS_IN_WEEK or DAYS_IN_WEEK
        return today - timedelta(days=days_back)
    if re.search(r"\blast\s+week\b", text):
        return today - timedelta(days=today.weekday() + DAYS_IN_WEEK)
    if re.search(r"\blast\s+month\b", text):
        return add_months(date(today.year, today.month, 1), -1)
    return None


def _request_month(text: str, today: date) -> Optional[date]:
    """ "in January": the 1st of the most recent January (this one if it is January now); "late March" the 21st."""
    match = _IN_MONTH.search(text)
    if match:
        part, month, year = match.group(1) or match.group(2), _month(match.group(3)), match.group(4)
    else:
        match = _MONTH_YEAR.search(text)
        if not match or len(match.group(2).lstrip("'")) != 4:  # a two-digit "nov 22" is read as 22 November
            return None
        part, month, year = None, _month(match.group(1)), match.group(2)
    day = _PERIOD_START_DAY[part]
    if year:
        return _make_date(int(year), month, day)  # "in January 0000" names no day
    return date(today.year if month <= today.month else today.year - 1, month, day)


# Most specific first: "on 3 March, about 8 weeks ago" is 3 March.
_REQUEST_PARSERS: Tuple[Callable[[str, date], Optional[date]], ...] = (
    _request_exact,
    _request_day_and_month,
    _request_counted_back,
    _request_relative_day,
    _request_month,
)


# --- EHC deadlines ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EhcDeadlines:
    """The statutory deadlines for one EHC needs assessment request.

    These are the default timescales; the law allows exceptions (the school summer holiday, exceptional personal
    circumstances), so the assistant presents them as the usual deadlines, not a promise.
    """

    requested: date  # the day the council received the request; every deadline counts from it
    decide_assess: date  # the council must say whether it will assess
    decide_plan: date  # the council must say whether it will issue a plan
    final_plan: date  # the final EHC plan must be issued

    def steps(self) -> Tuple[Tuple[str, date], ...]:
        """Each step's name (a ``STEP_`` constant) and deadline, in the order they fall."""
        return (
            (STEP_DECIDE_ASSESS, self.decide_assess),
            (STEP_DECIDE_PLAN, self.decide_plan),
            (STEP_FINAL_PLAN, self.final_plan),
        )


@dataclass(frozen=True)
class DeadlineProgress:
    """Where a request stands on a given day."""

    days_elapsed: int  # days since the request; 0 on the day it was received
    weeks_elapsed: int  # whole weeks since the request, as the deadlines count them
    passed: Tuple[str, ...]  # steps whose deadline day is over, in order
    next_step: Optional[str]  # the first step whose deadline has not passed; None once all have
    next_due: Optional[date]  # that step's deadline


def ehc_deadlines(
    request_day: date,
    decide_assess_weeks: int = DEFAULT_DECIDE_ASSESS_WEEKS,
    decide_plan_weeks: int = DEFAULT_DECIDE_PLAN_WEEKS,
    final_plan_weeks: int = DEFAULT_FINAL_PLAN_WEEKS,
) -> EhcDeadlines:
    """The deadlines for a request, counted in weeks from the day the council received it.

    The week counts are arguments because they are facts a council officer maintains, not code.

    Args:
        request_day: the day the council received the request.
        decide_assess_weeks: weeks to decide whether to assess (6 in the SEND Regulations 2014).
        decide_plan_weeks: weeks to decide whether to issue a plan (16).
        final_plan_weeks: weeks to issue the final plan (20).

    Returns:
        The deadlines.

    Raises:
        ValueError: the week counts are not positive and in order (assess, then plan decision, then final plan).
    """
    if not 0 < decide_assess_weeks <= decide_plan_weeks <= final_plan_weeks:
        raise ValueError(
            f"week counts must be positive and in order, got {decide_assess_weeks}, {decide_plan_weeks}, "
            f"{final_plan_weeks}"
        )
    return EhcDeadlines(
        requested=request_day,
        decide_assess=request_day + timedelta(weeks=decide_assess_weeks),
        decide_plan=request_day + timedelta(weeks=decide_plan_weeks),
        final_plan=request_day + timedelta(weeks=final_plan_weeks),
    )


def deadline_progress(deadlines: EhcDeadlines, today: date) -> DeadlineProgress:
    """Which deadlines have passed by ``today``, and how long the family has waited.

    A deadline has passed once its day is over: the council has the whole of the deadline day.

    Args:
        deadlines: from ``ehc_deadlines``.
        today: the day to measure on.

    Returns:
        Days and whole weeks since the request, the steps whose deadline has passed, and the next one due.

    Raises:
        ValueError: ``today`` is before the request.
    """
    if today < deadlines.requested:
        raise ValueError("today is before the request was made")
    days = (today - deadlines.requested).days
    passed = tuple(step for step, due in deadlines.steps() if due < today)
    upcoming = [(step, due) for step, due in deadlines.steps() if due >= today]
    next_step, next_due = upcoming[0] if upcoming else (None, None)
    return DeadlineProgress(
        days_elapsed=days,
        weeks_elapsed=days // DAYS_IN_WEEK,
        passed=passed,
        next_step=next_step,
        next_due=next_due,
    )
