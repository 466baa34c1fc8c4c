"""The progress through one survey: a pure state machine, one reply at a time (no Redis, no Rasa).

The steps are: consent (intro, privacy notice, an explicit yes), then each question that applies, in order, until
the last one. At any question a reply may be a command instead of an answer:

- SKIP ("skip", "next"): move on without an answer (the question is recorded in ``skipped``);
- BACK ("go back"): return to the previous question asked, taking back its answer (at the first question: stay);
- STOP ("stop", "exit"): leave; the progress is kept so the survey can be carried on later;
- RESTART ("start again"): clear every answer and go back to question 1 (consent is kept).

For a statement, "pass" is an answer (Pol.is "pass"), not SKIP. A reply that is not understood is INVALID the first
time (the caller asks again, listing the options); the second time the survey gives up on that question and moves
on (GAVE_UP), so nobody is stuck. Free text goes through ``redact`` before it is kept. A question whose ``ask_if``
no longer holds, because an earlier answer changed, loses its answer.

``step`` never changes the ``Progress`` it is given and never raises on any text: it returns a new ``Progress``
inside a ``Step``. ``Progress.to_dict`` / ``from_dict`` give its JSON form for the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from bot.surveys.answers import NO_WORDS, YES_WORDS, Command, normalise, parse_answer, parse_command
from bot.surveys.definitions import FREE_TEXT, STATEMENT, Question, Survey

CONSENT = "consent"  # the pseudo-step before question 1: intro + privacy notice + an explicit yes
MAX_RETRIES = 1  # one "Sorry, I didn't catch that", then move on
# Consent needs a clear yes: "yes", "ok", "start", "1" (the first button), 👍.
CONSENT_YES = YES_WORDS | frozenset({
    "start", "yes start", "start survey", "start the survey", "lets start", "lets go", "go", "begin", "ready",
    "yes lets start", "yes lets go", "yes im ready",
})
CONSENT_NO = NO_WORDS | frozenset({"not now", "no not now", "later", "maybe later", "not today", "no thanks"})


class Outcome(Enum):
    """What one reply did."""

    ANSWERED = "answered"  # a valid answer was kept; the next question follows
    INVALID = "invalid"  # not understood: ask the same question again, with the options spelled out
    GAVE_UP = "gave_up"  # not understood twice: moved on without an answer
    SKIPPED = "skipped"  # the person skipped the question
    WENT_BACK = "went_back"  # back to the previous question (or still the first one)
    STOPPED = "stopped"  # the person left; the progress is kept to carry on later
    RESTARTED = "restarted"  # answers cleared, back to question 1
    COMPLETED = "completed"  # no question left: time to store the answers and say thanks
    CONSENTED = "consented"  # said yes to the intro and privacy notice; question 1 follows
    DECLINED = "declined"  # said no to taking part


@dataclass
class Progress:
    """Where one person is in one survey; kept between messages (as ``to_dict()``) by the survey store."""

    survey_id: str  # the survey's id
    consented: bool = False  # said yes after the intro and privacy notice
    answers: Dict[str, Any] = field(default_factory=dict)  # question id -> value (multiple choice: a tuple)
    path: List[str] = field(default_factory=list)  # ids answered, skipped or given up on, in order (for BACK)
    current: Optional[str] = None  # the question being asked; None before consent and when complete
    retries: int = 0  # replies to the current question that were not understood (0 or 1)
    skipped: List[str] = field(default_factory=list)  # ids the person chose to skip

    @property
    def step_name(self) -> Optional[str]:
        """What is being asked: ``CONSENT``, a question id, or None when the survey is complete."""
        return CONSENT if not self.consented else self.current

    @property
    def complete(self) -> bool:
        """True when every question that applies has been dealt with."""
        return self.consented and self.current is None

    def copy(self) -> "Progress":
        """An independent copy (lists and dicts copied too)."""
        return Progress(survey_id=self.survey_id, consented=self.consented, answers=dict(self.answers),
                        path=list(self.path), current=self.current, retries=self.retries, skipped=list(self.skipped))

    def to_dict(self) -> Dict[str, Any]:
        """The progress as JSON-able data (multiple-choice answers as lists)."""
        return {
            "survey_id": self.survey_id,
            "consented": self.consented,
            "answers": {qid: list(v) if isinstance(v, tuple) else v for qid, v in self.answers.items()},
            "path": list(self.path),
            "current": self.current,
            "retries": self.retries,
            "skipped": list(self.skipped),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Progress":
        """Read ``to_dict()``'s form back (lists become tuples again).

        Raises:
            ValueError: ``data`` is not a progress (a field is missing or of the wrong type).
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("survey_id"), str):
            raise ValueError("a survey progress needs a survey_id")
        answers, path, skipped = data.get("answers", {}), data.get("path", []), data.get("skipped", [])
        current, retries, consented = data.get("current"), data.get("retries", 0), data.get("consented", False)
        if not isinstance(answers, Mapping) or not all(isinstance(k, str) for k in answers):
            raise ValueError("a survey progress's answers must map question ids to values")
        for name, ids in (("path", path), ("skipped", skipped)):
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise ValueError(f"a survey progress's {name} must be a list of question ids")
        if current is not None and not isinstance(current, str):
            raise ValueError("a survey progress's current must be a question id or null")
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError("a survey progress's retries must be a whole number")
        if not isinstance(consented, bool):
            raise ValueError("a survey progress's consented must be true or false")
        return cls(
            survey_id=data["survey_id"], consented=consented,
            answers={qid: tuple(v) if isinstance(v, list) else v for qid, v in answers.items()},
            path=list(path), current=current, retries=retries, skipped=list(skipped),
        )


@dataclass(frozen=True)
class Step:
    """What one reply did, the progress after it, and what to ask next."""

    outcome: Outcome  # what happened
    progress: Progress  # the new progress (to store); the one passed to ``step`` is unchanged
    question: Optional[Question]  # the question to ask next; None when finished, stopped, declined or at consent


def start(survey: Survey) -> Progress:
    """A new progress for ``survey``: nothing answered, consent still to ask."""
    return Progress(survey_id=survey.id)


def next_question(survey: Survey, progress: Progress) -> Optional[Question]:
    """The first question not yet dealt with whose ``ask_if`` holds for the answers so far; None when none is left."""
    done = set(progress.path)
    for question in survey.questions:
        if question.id not in done and _asked(question, progress.answers):
            return question
    return None


def position(survey: Survey, progress: Progress, question: Question) -> Tuple[int, int]:
    """``question``'s number and the number of questions that currently apply ("Question 3 of 8").

    A follow-up whose condition is not decided yet counts, so the total only ever goes down as answers come in.
    """
    applies = _applicable(survey, progress)
    number = 1 + sum(1 for q in survey.questions[: _index(survey, question.id)] if applies[q.id])
    return number, max(number, sum(applies.values()))


def step(survey: Survey, progress: Progress, text: str, redact: Callable[[str], str] = lambda s: s) -> Step:
    """Take one reply to whatever ``progress`` is asking.

    Args:
        survey: the survey being answered.
        progress: where the person is (not changed).
        text: their reply, as typed or as a button's payload.
        redact: applied to a free-text answer before it is kept (the caller passes the real redactor).

    Returns:
        The outcome, the new progress, and the question to ask next.
    """
    progress = _repaired(survey, progress)
    if not isinstance(text, str):
        text = ""
    if not progress.consented:
        return _consent(survey, progress, text)
    if progress.current is None:
        return Step(Outcome.COMPLETED, progress, None)
    question = survey.question(progress.current)
    command = parse_command(text)
    if command is Command.SKIP and question.kind == STATEMENT and parse_answer(question, text) is not None:
        command = None  # "pass" answers a statement (Pol.is): it is kept as an answer
    if command is Command.STOP:
        progress.retries = 0
        return Step(Outcome.STOPPED, progress, None)
    if command is Command.RESTART:
        restarted = Progress(survey_id=survey.id, consented=True)
        restarted.current = _id(next_question(survey, restarted))
        return Step(Outcome.RESTARTED, restarted, _question(survey, restarted))
    if command is Command.BACK:
        return _back(survey, progress)
    if command is Command.SKIP:
        progress.skipped.append(question.id)
        return _advance(survey, progress, Outcome.SKIPPED)
    value = parse_answer(question, text)
    if value is not None and question.kind == FREE_TEXT:
        redacted = redact(value)
        value = redacted.strip() if isinstance(redacted, str) and redacted.strip() else None
        if value is None:  # nothing left once names and numbers are out: moved on, nothing kept
            return _advance(survey, progress, Outcome.ANSWERED)
    if value is None:
        if progress.retries < MAX_RETRIES:
            progress.retries += 1
            return Step(Outcome.INVALID, progress, question)
        return _advance(survey, progress, Outcome.GAVE_UP)
    progress.answers[question.id] = value
    return _advance(survey, progress, Outcome.ANSWERED)


# --- helpers ----------------------------------------------------------------------------------------------------


def _consent(survey: Survey, progress: Progress, text: str) -> Step:
    key = normalise(text) if len(text) <= 100 else ""
    if key in CONSENT_YES:
        progress.consented, progress.retries = True, 0
        progress.current = _id(next_question(survey, progress))
        return Step(Outcome.CONSENTED, progress, _question(survey, progress))
    if key in CONSENT_NO or parse_command(text) is Command.STOP:
        return Step(Outcome.DECLINED, progress, None)
    return Step(Outcome.INVALID, progress, None)


def _advance(survey: Survey, progress: Progress, outcome: Outcome) -> Step:
    """Close the current question (answered, skipped or given up on) and move to the next one that applies."""
    progress.path.append(progress.current)  # type: ignore[arg-type]  # only called while a question is asked
    progress.retries = 0
    progress.current = _id(next_question(survey, progress))
    if progress.current is None:
        return Step(Outcome.COMPLETED, progress, None)
    return Step(outcome, progress, _question(survey, progress))


def _back(survey: Survey, progress: Progress) -> Step:
    progress.retries = 0
    if progress.path:
        previous = progress.path.pop()
        progress.answers.pop(previous, None)
        progress.skipped = [qid for qid in progress.skipped if qid != previous]
        progress.current = previous
    return Step(Outcome.WENT_BACK, progress, _question(survey, progress))


def _repaired(survey: Survey, progress: Progress) -> Progress:
    """A copy of ``progress`` made consistent with ``survey``: unknown ids dropped, answers whose question no
    longer applies dropped, ``current`` the question that is due. (A survey file may change between messages.)"""
    copy = progress.copy()
    order = {q.id: i for i, q in enumerate(survey.questions)}
    copy.survey_id = survey.id
    copy.retries = min(max(copy.retries, 0), MAX_RETRIES) if isinstance(copy.retries, int) else 0
    if not copy.consented:
        copy.answers, copy.path, copy.skipped, copy.current = {}, [], [], None
        return copy
    path = sorted({qid for qid in copy.path if qid in order}, key=order.__getitem__)
    kept: List[str] = []
    answers: Dict[str, Any] = {}
    for qid in path:
        question = survey.questions[order[qid]]
        if not _asked(question, answers):
            continue  # its condition no longer holds (an earlier answer changed): its answer goes too
        kept.append(qid)
        value = copy.answers.get(qid)
        value = tuple(value) if isinstance(value, list) else value
        if value is not None and question.accepts(value):  # a corrupt value is dropped, never passed on
            answers[qid] = value
    copy.path, copy.answers = kept, answers
    copy.skipped = [qid for qid in dict.fromkeys(copy.skipped) if qid in kept and qid not in answers]
    due = _id(next_question(survey, copy))
    if due != copy.current:
        copy.current, copy.retries = due, 0
    return copy


def _asked(question: Question, answers: Mapping[str, Any]) -> bool:
    return question.ask_if is None or question.ask_if.holds(answers.get(question.ask_if.question))


def _applicable(survey: Survey, progress: Progress) -> Dict[str, bool]:
    """Question id -> whether it is (or may still be) asked: a follow-up of an undecided question counts."""
    decided = set(progress.path)
    applies: Dict[str, bool] = {}
    for question in survey.questions:
        condition = question.ask_if
        if condition is None:
            applies[question.id] = True
        elif not applies.get(condition.question, False):
            applies[question.id] = False
        elif condition.question in decided:
            applies[question.id] = condition.holds(progress.answers.get(condition.question))
        else:
            applies[question.id] = True
    return applies


def _index(survey: Survey, qid: str) -> int:
    return next((i for i, q in enumerate(survey.questions) if q.id == qid), len(survey.questions))


def _id(question: Optional[Question]) -> Optional[str]:
    return question.id if question is not None else None


def _question(survey: Survey, progress: Progress) -> Optional[Question]:
    return survey.question(progress.current) if progress.current is not None else None
