"""What a survey's results are, as published: the shape every writer, chart and page renders.

``bot.forum.aggregates`` fills it from the stored responses; ``bot.forum.themes`` adds the themes of free text;
``bot.forum.writers`` and ``bot.forum.report`` render it. Everything here is already safe to publish: a count
below the suppression threshold, or one that a total or a difference would give away, is ``None`` (shown as
"fewer than 5"), and so is every percentage, mean or score computed from it. Nothing in these objects holds a
respondent, a time of day, or a free-text answer other than the quotes a theme is allowed to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional, Tuple

DEFAULT_THRESHOLD = 5
OTHER = "Other"  # the theme of an answer that fits none of the framework areas


SMALL = "small"  # a count below the threshold: shown as "fewer than 5"
SECONDARY = "secondary"  # a count of 5 or more hidden because a total would give a small one away: "not shown"


@dataclass(frozen=True)
class Figure:
    """One published count, and its share of the base it belongs to."""

    count: Optional[int]  # None: suppressed (see ``hidden``)
    percent: Optional[float] = None  # 0-100, one decimal; None when suppressed or when there is no base
    hidden: Optional[str] = None  # SMALL or SECONDARY when suppressed, else None

    @property
    def suppressed(self) -> bool:
        return self.count is None

    def text(self, threshold: int) -> str:
        """``"12"``; ``"fewer than 5"`` for a small count; ``"not shown"`` for one hidden to protect a small one."""
        if self.count is not None:
            return str(self.count)
        return "not shown" if self.hidden == SECONDARY else f"fewer than {threshold}"


@dataclass(frozen=True)
class Row:
    """One cell of a question's breakdown: an option, a score, yes/no or agree/disagree/pass."""

    value: str  # the stored value: "haf", "4", "yes", "agree"; "not_answered" for the skipped/not-asked cell
    label: str  # what the person read: "HAF holiday club", "Agree"
    figure: Figure


@dataclass(frozen=True)
class Nps:
    """Net Promoter Score: promoters (9-10) minus detractors (0-6), as percentages of those who answered."""

    promoters: Figure
    passives: Figure
    detractors: Figure
    score: Optional[int]  # -100..100; None when any of the three groups is suppressed


@dataclass(frozen=True)
class QuestionResult:
    """The published figures of one question."""

    id: str
    text: str
    kind: str  # likert, single_choice, multiple_choice, yes_no, nps, statement, free_text
    area: str  # one of bot.surveys.definitions.FRAMEWORK_AREAS
    answered: Figure  # how many answered it (the base of its percentages); percent: of all responses
    rows: Tuple[Row, ...] = ()  # the breakdown in the question's own order (free text: none)
    not_answered: Optional[Figure] = None  # skipped or not asked (ask_if); part of the suppression table
    mean: Optional[float] = None  # likert 1-5, two decimals; None if suppressed or a cell is
    nps: Optional[Nps] = None  # nps questions only
    agreement: Optional[float] = None  # statement: agree as a % of those who answered; None if suppressed
    positive: Optional[float] = None  # likert 4-5 / yes / agree / nps 9-10 as a % of answered; None if unsafe


@dataclass(frozen=True)
class AreaSummary:
    """One framework area across its questions (and the free-text themes filed under it)."""

    area: str
    question_ids: Tuple[str, ...]
    positive: Optional[float]  # mean of its questions' published ``positive`` shares; None if none published
    themed_answers: Optional[Figure] = None  # free-text answers given this theme; None when there was no free text


@dataclass(frozen=True)
class Theme:
    """One theme of the free-text answers: a framework area or Other."""

    name: str  # "Identification", ..., "Inclusion", or OTHER
    answers: Figure  # answers classified into it (multi-label: one answer may count in several themes)
    key_phrases: Tuple[str, ...] = ()  # the phrases that mark it, each used in two or more answers
    quotes: Tuple[str, ...] = ()  # two or three already-redacted answers; none when ``answers`` is suppressed
    mean_confidence: Optional[float] = None  # 0-1, of the answers in it


@dataclass(frozen=True)
class Themes:
    """The free-text answers of a survey, grouped by theme."""

    question_ids: Tuple[str, ...]  # the free-text questions read
    answers: Figure  # how many free-text answers there were
    themes: Tuple[Theme, ...]  # in FRAMEWORK_AREAS order, then OTHER


@dataclass(frozen=True)
class Update:
    """A "you said, we did" update a forum member wrote for a survey."""

    text: str
    author: str  # the forum member's user name
    written: date


@dataclass(frozen=True)
class Statements:
    """Agree/disagree/pass statements ranked by agreement (only those whose figures are published)."""

    most_agreed: Tuple[str, ...] = ()  # question ids, highest agreement first (up to three)
    least_agreed: Tuple[str, ...] = ()  # question ids, lowest agreement first (up to three)


@dataclass(frozen=True)
class SurveyResults:
    """Everything published about one survey for one export or page."""

    survey_id: str
    title: str
    audience: str
    threshold: int  # counts below this are suppressed
    generated: datetime  # when the figures were made (UTC, timezone-aware)
    date_from: Optional[date]  # the date range asked for (None: from the start / to the end)
    date_to: Optional[date]
    closed_only: bool
    opens: date
    closes: date
    responses: Figure  # how many responses the figures are made from
    over_time: Tuple[Tuple[date, Figure], ...] = ()  # responses per week (the Monday), suppressed like any table
    questions: Tuple[QuestionResult, ...] = ()
    areas: Tuple[AreaSummary, ...] = ()
    statements: Statements = field(default_factory=Statements)
    themes: Optional[Themes] = None
    update: Optional[Update] = None
    # True when no table can be published safely (a tiny survey whose hidden counts the labels alone would give
    # away, see ``bot.forum.suppression.CannotProtect``): only ``responses`` is published, nothing else is filled.
    withheld: bool = False


def withheld_text(results: SurveyResults) -> str:
    """Why a withheld survey shows only its number of responses: said the same way on the page and in every file."""
    return (f"With only {results.responses.text(results.threshold)} responses, no breakdown can be shown without "
            "risking that someone's answers could be worked out, so only the number of responses is published. "
            "The figures will appear when more people have answered.")
