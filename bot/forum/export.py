"""One export of a survey: read the kept responses, theme the free text, aggregate and suppress, ready to write.

The CLI (``python -m bot export``) and the dashboard's downloads both go through ``build_export``, so a figure in a
downloaded spreadsheet is always the figure on the page, suppressed the same way.

Errors::

    ExportError              the export cannot be made as asked (the message says why, for the CLI or the page)
    └── SurveyStillOpen      ``closed_only`` was asked and the survey has not closed yet

plus ``bot.surveys.store.SurveyStoreUnavailable`` when Redis is down.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, BinaryIO, Callable, Dict, List, Mapping, Optional, Tuple

from bot.forum import writers
from bot.forum.aggregates import aggregate
from bot.forum.results import DEFAULT_THRESHOLD, Update
from bot.forum.themes import ThemeClassifier, build_themes
from bot.forum.writers import ExportData
from bot.surveys.definitions import FREE_TEXT

Writer = Callable[[BinaryIO, ExportData], None]


@dataclass(frozen=True)
class Format:
    """One downloadable format: how to write it, what it is and how its file ends."""

    write: Writer
    media_type: str
    suffix: str  # appended to the file's stem: ".xlsx", "_summary.csv"


# The formats the CLI's --format takes. "csv" writes three files: the responses, the summary and the dictionary.
FORMATS: Dict[str, Format] = {
    "csv": Format(writers.write_csv_responses, "text/csv; charset=utf-8", ".csv"),
    "xlsx": Format(writers.write_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   ".xlsx"),
    "json": Format(writers.write_json, "application/json", ".json"),
    "html": Format(writers.write_html, "text/html; charset=utf-8", ".html"),
}
# What travels with a CSV export (a CSV file has one sheet): the summary and the data dictionary, beside it.
CSV_COMPANIONS: Dict[str, Format] = {
    "summary.csv": Format(writers.write_csv_summary, "text/csv; charset=utf-8", "_summary.csv"),
    "dictionary.csv": Format(writers.write_csv_dictionary, "text/csv; charset=utf-8", "_dictionary.csv"),
}
# Everything the dashboard offers for download, by the name in its URL (export.<name>).
DOWNLOADS: Dict[str, Format] = {**FORMATS, **CSV_COMPANIONS}


class ExportError(ValueError):
    """The export cannot be made as asked."""


class SurveyStillOpen(ExportError):
    """Only final figures were asked for (``closed_only``) and the survey is still open."""


@dataclass(frozen=True)
class ExportOptions:
    """What to export: a date range (inclusive), final figures only, and the suppression threshold."""

    date_from: Optional[date] = None
    date_to: Optional[date] = None
    closed_only: bool = False
    threshold: int = DEFAULT_THRESHOLD

    def check(self, survey: Any, today: date) -> None:
        """Refuse options that cannot give a true picture.

        Raises:
            ExportError: the range ends before it starts, or the threshold is below 2.
            SurveyStillOpen: ``closed_only`` and the survey's last day is today or later.
        """
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ExportError(f"the date range ends ({self.date_to}) before it starts ({self.date_from})")
        if self.threshold < 2:
            raise ExportError("the suppression threshold must be 2 or more: 1 would publish counts of one person")
        if self.closed_only and today <= survey.closes:
            raise SurveyStillOpen(f"survey {survey.id!r} is open until {survey.closes.isoformat()}; its figures "
                                  "are not final (leave out --closed-only for figures so far)")


@functools.lru_cache(maxsize=1)
def load_classifier() -> ThemeClassifier:
    """The theme classifier, trained once per process from data/forum (about a second)."""
    return ThemeClassifier.from_file()


def free_text_questions(survey: Any) -> List[str]:
    """The ids of the survey's free-text questions, in order."""
    return [question.id for question in survey.questions if question.kind == FREE_TEXT]


async def build_export(store: Any, survey: Any, options: ExportOptions, *, classifier: ThemeClassifier,
                       update: Optional[Update], generated: Optional[datetime] = None,
                       progress: Optional[Callable[[int, int], None]] = None,
                       today: Optional[date] = None) -> ExportData:
    """Read, theme and aggregate one survey's responses.

    Args:
        store: the ``SurveyStore``.
        survey: the survey definition.
        options: the date range, closed-only and threshold.
        classifier: the theme classifier (``load_classifier()``).
        update: the survey's "you said, we did" update, if one was written.
        generated: when the figures are made (default: now, UTC).
        progress: called with (read, total) while responses are read.
        today: the day in Coventry (for ``closed_only``; default: today).

    Raises:
        ExportError: the options cannot be honoured.
        SurveyStoreUnavailable: Redis is down.
    """
    options.check(survey, today or date.today())
    responses = [response async for response in
                 store.responses(survey.id, since=options.date_from, until=options.date_to, progress=progress)]
    # Theming and suppression are CPU work (seconds for 100,000 answers): in a thread, so the web app that shares
    # this event loop keeps answering the chat meanwhile.
    return await asyncio.to_thread(_compute, survey, responses, options, classifier, update,
                                   generated or datetime.now(timezone.utc))


def _compute(survey: Any, responses: List[Mapping[str, Any]], options: ExportOptions, classifier: ThemeClassifier,
             update: Optional[Update], generated: datetime) -> ExportData:
    """Theme the free text, aggregate and suppress: everything after reading."""
    texts, places = _free_texts(survey, responses)
    labels = classifier.classify(texts) if texts else []
    answer_themes: Dict[int, Dict[str, Tuple[Tuple[str, float], ...]]] = defaultdict(dict)
    for (index, question_id), found in zip(places, labels):
        answer_themes[index][question_id] = found
    question_ids = free_text_questions(survey)
    themes = build_themes(question_ids, texts, labels, threshold=options.threshold) if question_ids else None
    results = aggregate(survey, responses, threshold=options.threshold, generated=generated,
                        date_from=options.date_from, date_to=options.date_to, closed_only=options.closed_only,
                        themes=themes, update=update)
    return ExportData(survey=survey, responses=responses, results=results, answer_themes=dict(answer_themes))


def _free_texts(survey: Any, responses: List[Mapping[str, Any]]) -> Tuple[List[str], List[Tuple[int, str]]]:
    """Every non-blank free-text answer, with (response index, question id) saying where it came from."""
    question_ids = free_text_questions(survey)
    texts: List[str] = []
    places: List[Tuple[int, str]] = []
    for index, response in enumerate(responses):
        answers = response.get("answers") or {}
        for question_id in question_ids:
            value = answers.get(question_id)
            if isinstance(value, str) and value.strip():
                texts.append(value)
                places.append((index, question_id))
    return texts, places

