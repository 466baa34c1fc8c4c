"""Co-production pulse surveys as data: one YAML file per survey in ``data/surveys/<id>.yml``.

A survey is short (6 to 10 questions, the issue's limit), asked one question per message, and every question
names the partnership's framework area it informs (Identification, Participation, Access, Transition, Inclusion),
so results can be read against the self-evaluation. The files are what the Parent Carer Forum and Strong Voices
edit, so loading checks everything a typo could break and says where: the file, the question and the field::

    data/surveys/strong_voices.yml: question 'review_listened': field 'kind': must be one of likert, ...

Kinds of question, and the value an answer is stored as (``bot.surveys.answers`` reads replies into them):

- ``likert``: 1..5 (labels Strongly disagree..Strongly agree, or five custom labels with values "1".."5")
- ``nps``: 0..10 ("How likely are you to tell a friend ...")
- ``yes_no``: "yes" / "no"
- ``statement``: "agree" / "disagree" / "pass" (Pol.is-style statements)
- ``single_choice``: an option's value; ``multiple_choice``: a tuple of option values (an option with the value
  ``none`` stands alone: "None of these")
- ``free_text``: the (redacted) text

A question may be asked only when an earlier answer says so (``ask_if``: "ask why if the score is 2 or less").

Errors::

    SurveyDefinitionError (ValueError)    a file is unreadable, malformed, or two surveys clash
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
SURVEYS_DIR = PROJECT_DIR / "data" / "surveys"
SURVEY_SUFFIX = ".yml"
# Files in the surveys folder that hold texts about surveys, not a survey (bot/surveys/invite.py reads it).
NON_SURVEY_FILES = frozenset({"invitations.yml"})
# The intent that offers a survey (a "Take part" button, a /start deep link, a "Have your say" link).
OFFER_INTENT = "survey_offer"

# Survey dates are Coventry's: a survey that closes on the 31st is open until midnight in the UK.
SURVEY_TIMEZONE = ZoneInfo("Europe/London")

FRAMEWORK_AREAS = ("Identification", "Participation", "Access", "Transition", "Inclusion")
KINDS = ("likert", "single_choice", "multiple_choice", "yes_no", "nps", "statement", "free_text")
LIKERT, SINGLE_CHOICE, MULTIPLE_CHOICE, YES_NO, NPS, STATEMENT, FREE_TEXT = KINDS
AUDIENCES = ("young_people", "parents_carers")
OPERATORS = ("<=", ">=", "<", ">", "==", "!=", "in")
ORDERED_OPERATORS = frozenset({"<=", ">=", "<", ">"})
CHOICE_KINDS = frozenset({SINGLE_CHOICE, MULTIPLE_CHOICE})
# Kinds whose answers are fixed by the kind itself: options in the YAML would be ignored, so they are refused.
NO_OPTION_KINDS = frozenset({YES_NO, NPS, STATEMENT, FREE_TEXT})

LIKERT_VALUES = tuple(range(1, 6))
NPS_VALUES = tuple(range(0, 11))
YES, NO = "yes", "no"
YES_NO_VALUES = (YES, NO)
AGREE, DISAGREE, PASS = "agree", "disagree", "pass"
STATEMENT_VALUES = (AGREE, DISAGREE, PASS)
NONE_OF_THESE = "none"  # the multiple-choice option value that cannot be combined with others

DEFAULT_LIKERT_LABELS = ("Strongly disagree", "Disagree", "Not sure", "Agree", "Strongly agree")
YES_NO_LABELS = {YES: "Yes", NO: "No"}
STATEMENT_LABELS = {AGREE: "Agree", DISAGREE: "Disagree", PASS: "Pass"}

MIN_QUESTIONS, MAX_QUESTIONS = 6, 10  # issue #7: a pulse survey, not a questionnaire
MIN_OPTIONS, MAX_OPTIONS = 2, 9  # 9 keeps every SMS menu reply one digit
DEFAULT_MAX_CHARS = 1000
# A free-text answer by SMS can be at most 1,600 characters (ten segments); a survey answer needs far less.
MAX_MAX_CHARS = 1600
# One SMS part is two segments (306 GSM-7 characters): a question with its "Question 3 of 8:" prefix and the menu
# must fit, and the consent message (intro, notice, how to skip) may take two parts.
MAX_QUESTION_CHARS = 200
MAX_INTRO_AND_PRIVACY_CHARS = 600
MAX_THANKS_CHARS = 320
MAX_TITLE_CHARS = 80
MAX_LABEL_CHARS = 60
PRIVACY_SENTENCES = 2

ID_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,39}")
OPTION_VALUE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_]{0,39}")
KEYWORD_PATTERN = re.compile(r"[A-Z]{2,20}")
# Keywords carriers (and Twilio) act on themselves: a survey keyword must never be one of them (domain facts 6).
CARRIER_KEYWORDS = frozenset({
    "STOP", "START", "HELP", "INFO", "YES", "END", "QUIT", "CANCEL", "UNSUBSCRIBE", "STOPALL", "REVOKE", "OPTOUT",
    "UNSTOP", "JOIN", "LEAVE",
})
# Words that already mean something inside a survey, so texting one alone cannot also start a survey.
SURVEY_COMMAND_KEYWORDS = frozenset({"SKIP", "BACK", "EXIT", "NEXT", "PASS", "RESTART", "NO"})
_ID_HINT = "lower_case letters, digits and _ (2-40, a letter first)"
_SENTENCE_END = re.compile(r"[.!?](?:\s+|$)")

SURVEY_FIELDS = {
    "id": True, "title": True, "audience": True, "panel": True, "keyword": True, "intro": True,
    "privacy_notice": True, "opens": True, "closes": True, "questions": True, "thanks": True,
}  # field -> required
QUESTION_FIELDS = {
    "id": True, "kind": True, "text": True, "area": True, "options": False, "ask_if": False, "max_chars": False,
    "band": False,
}
OPTION_FIELDS = {"value": True, "label": True, "synonyms": False}
CONDITION_FIELDS = {"question": True, "op": True, "value": True}


def survey_today() -> date:
    """Today in Coventry, the day survey dates (opens, closes, the day of an update) are counted in."""
    return datetime.now(SURVEY_TIMEZONE).date()


class SurveyDefinitionError(ValueError):
    """A survey file is unreadable or malformed, or two survey files clash (id, keyword)."""


@dataclass(frozen=True)
class Option:
    """One answer offered by a choice (or custom likert) question."""

    value: str  # what is stored and exported: a stable lower_case name, e.g. "haf" (likert: "1".."5")
    label: str  # what the person reads, e.g. "HAF holiday club"
    synonyms: Tuple[str, ...] = ()  # other words that mean this option, e.g. ("holiday club",)


@dataclass(frozen=True)
class Condition:
    """When a question is asked: a test on an earlier question's answer ("ask why if the score is 2 or less")."""

    question: str  # the id of an earlier question
    op: str  # one of OPERATORS; the ordered ones only for likert and nps
    value: Any  # int for likert/nps, a value name for the others; a tuple of them for "in"

    def holds(self, answer: Any) -> bool:
        """True when ``answer`` (the earlier question's stored value, None if unanswered) meets the condition.

        For a multiple-choice answer, ``==`` and ``in`` mean "chose this / any of these", ``!=`` "did not choose".
        An unanswered (skipped) question never meets a condition, so its follow-up is not asked.
        """
        if answer is None:
            return False
        if isinstance(answer, (tuple, list)):  # multiple choice
            chosen = set(answer)
            if self.op == "in":
                return bool(chosen & set(self.value))
            if self.op == "==":
                return self.value in chosen
            if self.op == "!=":
                return self.value not in chosen
            return False
        if self.op == "in":
            return answer in self.value
        if self.op == "==":
            return answer == self.value
        if self.op == "!=":
            return answer != self.value
        if not isinstance(answer, int) or isinstance(answer, bool) or not isinstance(self.value, int):
            return False
        return {
            "<=": answer <= self.value, ">=": answer >= self.value, "<": answer < self.value, ">": answer > self.value,
        }[self.op]


@dataclass(frozen=True)
class Question:
    """One question, asked in one message."""

    id: str  # stable name used in storage and exports, e.g. "review_listened"
    kind: str  # one of KINDS
    text: str  # what is asked, plain words, at most MAX_QUESTION_CHARS
    area: str  # the framework area it informs, one of FRAMEWORK_AREAS
    options: Tuple[Option, ...] = ()  # choices; likert: five labels for "1".."5" (defaults filled in when empty)
    ask_if: Optional[Condition] = None  # asked only when this holds for an earlier answer
    max_chars: int = DEFAULT_MAX_CHARS  # free text: longer answers are cut to this
    band: bool = False  # a demographic asked only in bands (e.g. age band); always single_choice

    def __post_init__(self) -> None:
        if self.kind == LIKERT and not self.options:
            defaults = tuple(Option(value=str(v), label=label)
                             for v, label in zip(LIKERT_VALUES, DEFAULT_LIKERT_LABELS))
            object.__setattr__(self, "options", defaults)  # frozen: set once, at construction

    def option(self, value: str) -> Optional[Option]:
        """The option with ``value``, or None."""
        return next((o for o in self.options if o.value == value), None)

    def accepts(self, value: Any) -> bool:
        """True when ``value`` is a stored answer this question can have (see the module docstring)."""
        if self.kind in (LIKERT, NPS):
            scale = LIKERT_VALUES if self.kind == LIKERT else NPS_VALUES
            return isinstance(value, int) and not isinstance(value, bool) and value in scale
        if self.kind in (YES_NO, STATEMENT):
            return isinstance(value, str) and value in (YES_NO_VALUES if self.kind == YES_NO else STATEMENT_VALUES)
        values = [o.value for o in self.options]
        if self.kind == SINGLE_CHOICE:
            return isinstance(value, str) and value in values
        if self.kind == MULTIPLE_CHOICE:
            return (isinstance(value, (tuple, list)) and bool(value) and all(isinstance(v, str) for v in value)
                    and list(value) == [v for v in values if v in value]
                    and (NONE_OF_THESE not in value or len(value) == 1))
        # Free text: ``max_chars`` bounds what was typed; redaction may make it a little longer ("[NAME]").
        return isinstance(value, str) and bool(value.strip())


@dataclass(frozen=True)
class Survey:
    """One pulse survey, as loaded and checked from its YAML file."""

    id: str  # the file name without .yml, e.g. "strong_voices"
    title: str  # a short name, for the dashboard and the export
    audience: str  # "young_people" or "parents_carers"
    panel: str  # the panel people join to be invited, e.g. "strong_voices"
    keyword: str  # one upper-case word texted alone to start it by SMS, e.g. "VOICES"
    intro: str  # what it is for, how long it takes, that it is anonymous
    privacy_notice: str  # exactly two sentences: what is kept, for how long, how to have it deleted
    opens: date  # first day answers are taken
    closes: date  # last day answers are taken
    questions: Tuple[Question, ...]  # in the order they are asked
    thanks: str  # the last message: thanks and what happens next
    path: Path  # the file it was loaded from

    def question(self, qid: str) -> Question:
        """The question with id ``qid``.

        Raises:
            KeyError: the survey has no such question.
        """
        for question in self.questions:
            if question.id == qid:
                return question
        raise KeyError(f"survey {self.id!r} has no question {qid!r}")

    def is_open(self, today: date) -> bool:
        """True when ``today`` is between ``opens`` and ``closes``, both included."""
        return self.opens <= today <= self.closes


def load_surveys(directory: Path = SURVEYS_DIR) -> Dict[str, Survey]:
    """Load every ``*.yml`` survey in ``directory`` (except ``NON_SURVEY_FILES``), keyed by id.

    Raises:
        SurveyDefinitionError: a file is malformed, a file name is not its survey's id, or two surveys share an id
            or a keyword.
    """
    surveys: Dict[str, Survey] = {}
    keywords: Dict[str, Survey] = {}
    for path in sorted(directory.glob(f"*{SURVEY_SUFFIX}")):
        if path.name in NON_SURVEY_FILES:
            continue
        survey = load_survey(path)
        if path.stem != survey.id:
            raise SurveyDefinitionError(f"{_shown(path)}: field 'id': must equal the file name {path.stem!r}")
        if survey.id in surveys:
            raise SurveyDefinitionError(
                f"{_shown(path)}: field 'id': {survey.id!r} is already used by {_shown(surveys[survey.id].path)}")
        if survey.keyword in keywords:
            raise SurveyDefinitionError(
                f"{_shown(path)}: field 'keyword': {survey.keyword!r} is already used by "
                f"{_shown(keywords[survey.keyword].path)}")
        surveys[survey.id] = survey
        keywords[survey.keyword] = survey
    return surveys


def load_survey(path: Path) -> Survey:
    """Load and check one survey file.

    Raises:
        SurveyDefinitionError: the file cannot be read, or a field is missing, of the wrong type or out of range;
            the message names the file, the question and the field.
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as error:  # ValueError: undecodable bytes, a date like 2026-13-01
        raise SurveyDefinitionError(f"{_shown(path)}: cannot read: {error}") from error
    return _Loader(path).survey(document)


def _shown(path: Path) -> str:
    """The path as a person would type it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


class _Loader:
    """Checks one file's document, building error messages that say where the problem is."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: str, name: str, message: str) -> SurveyDefinitionError:
        return SurveyDefinitionError(f"{_shown(self.path)}: {where}field {name!r}: {message}")

    def fields(self, raw: Any, spec: Mapping[str, bool], where: str, what: str) -> Dict[str, Any]:
        if not isinstance(raw, dict):
            raise SurveyDefinitionError(f"{_shown(self.path)}: {where}must be a mapping of fields ({what})")
        for name in raw:
            if name not in spec:
                raise self.error(where, str(name), f"unknown field; expected one of {', '.join(spec)}")
        for name, required in spec.items():
            if required and raw.get(name) is None:
                raise self.error(where, name, "is required")
        return raw

    def text(self, raw: Any, name: str, where: str = "", limit: Optional[int] = None) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.error(where, name, 'must be a non-empty text (quote "yes" and "no")')
        value = " ".join(raw.split())
        if limit is not None and len(value) > limit:
            raise self.error(where, name, f"is {len(value)} characters; at most {limit} fit an SMS")
        return value

    def pattern(self, raw: Any, name: str, pattern: re.Pattern, hint: str, where: str = "") -> str:
        if not isinstance(raw, str) or not pattern.fullmatch(raw):
            raise self.error(where, name, f"must be {hint}, not {raw!r}")
        return raw

    def day(self, raw: Any, name: str) -> date:
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        elif isinstance(raw, date) and not isinstance(raw, datetime):
            return raw
        raise self.error("", name, f"must be a date like 2026-11-01, not {raw!r}")

    def survey(self, document: Any) -> Survey:
        raw = self.fields(document, SURVEY_FIELDS, "", "a survey")
        survey_id = self.pattern(raw["id"], "id", ID_PATTERN, _ID_HINT)
        audience = raw["audience"]
        if audience not in AUDIENCES:
            raise self.error("", "audience", f"must be one of {', '.join(AUDIENCES)}, not {audience!r}")
        panel = self.pattern(raw["panel"], "panel", ID_PATTERN, "a panel name like strong_voices")
        keyword = self.pattern(raw["keyword"], "keyword", KEYWORD_PATTERN, "one word in capitals A-Z, like VOICES")
        if keyword in CARRIER_KEYWORDS:
            raise self.error("", "keyword", f"{keyword!r} is an SMS carrier keyword (opt-out, opt-in or help)")
        if keyword in SURVEY_COMMAND_KEYWORDS:
            raise self.error("", "keyword", f"{keyword!r} already means something during a survey")
        intro = self.text(raw["intro"], "intro")
        privacy = self.text(raw["privacy_notice"], "privacy_notice")
        if len(intro) + len(privacy) > MAX_INTRO_AND_PRIVACY_CHARS:
            raise self.error("", "privacy_notice", f"intro and privacy_notice together are {len(intro) + len(privacy)}"
                                                   f" characters; at most {MAX_INTRO_AND_PRIVACY_CHARS}")
        sentences = len(_SENTENCE_END.findall(privacy))
        if sentences != PRIVACY_SENTENCES or privacy[-1] not in ".!?":
            raise self.error("", "privacy_notice", f"must be exactly {PRIVACY_SENTENCES} sentences, found {sentences}")
        opens, closes = self.day(raw["opens"], "opens"), self.day(raw["closes"], "closes")
        if opens > closes:
            raise self.error("", "closes", f"{closes} is before opens {opens}")
        raw_questions = raw["questions"]
        if not isinstance(raw_questions, list):
            raise self.error("", "questions", "must be a list of questions")
        if not MIN_QUESTIONS <= len(raw_questions) <= MAX_QUESTIONS:
            raise self.error("", "questions", f"has {len(raw_questions)}; a survey asks {MIN_QUESTIONS} to "
                                              f"{MAX_QUESTIONS} questions")
        questions: List[Question] = []
        for index, raw_question in enumerate(raw_questions, start=1):
            questions.append(self.question(raw_question, index, questions))
        return Survey(
            id=survey_id, title=self.text(raw["title"], "title", limit=MAX_TITLE_CHARS), audience=audience,
            panel=panel, keyword=keyword, intro=intro, privacy_notice=privacy, opens=opens, closes=closes,
            questions=tuple(questions), thanks=self.text(raw["thanks"], "thanks", limit=MAX_THANKS_CHARS),
            path=self.path,
        )

    def question(self, raw: Any, index: int, earlier: List[Question]) -> Question:
        qid = raw.get("id") if isinstance(raw, dict) else None
        where = f"question {qid!r}: " if isinstance(qid, str) else f"question {index}: "
        raw = self.fields(raw, QUESTION_FIELDS, where, "a question")
        qid = self.pattern(raw["id"], "id", ID_PATTERN, _ID_HINT, where)
        if any(q.id == qid for q in earlier):
            raise self.error(where, "id", "is used by an earlier question; question ids must be unique")
        kind = raw["kind"]
        if kind not in KINDS:
            raise self.error(where, "kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
        area = raw["area"]
        if area not in FRAMEWORK_AREAS:
            raise self.error(where, "area", f"must be one of {', '.join(FRAMEWORK_AREAS)}, not {area!r}")
        text = self.text(raw["text"], "text", where, MAX_QUESTION_CHARS)
        options = self.options(raw.get("options"), kind, where)
        band = raw.get("band", False)
        if not isinstance(band, bool):
            raise self.error(where, "band", "must be true or false")
        if band and kind != SINGLE_CHOICE:
            raise self.error(where, "band", "a band question must be single_choice")
        max_chars = raw.get("max_chars", DEFAULT_MAX_CHARS)
        if "max_chars" in raw and kind != FREE_TEXT:
            raise self.error(where, "max_chars", "is only for free_text questions")
        if not isinstance(max_chars, int) or isinstance(max_chars, bool) or not 1 <= max_chars <= MAX_MAX_CHARS:
            raise self.error(where, "max_chars", f"must be a whole number from 1 to {MAX_MAX_CHARS}")
        ask_if = self.condition(raw.get("ask_if"), where, earlier) if raw.get("ask_if") is not None else None
        return Question(id=qid, kind=kind, text=text, area=area, options=options, ask_if=ask_if, max_chars=max_chars,
                        band=band)

    def options(self, raw: Any, kind: str, where: str) -> Tuple[Option, ...]:
        if raw is None:
            if kind in CHOICE_KINDS:
                raise self.error(where, "options", f"{kind} needs {MIN_OPTIONS} to {MAX_OPTIONS} options")
            return ()
        if kind in NO_OPTION_KINDS:
            raise self.error(where, "options", f"{kind} questions take no options (their answers are fixed)")
        if not isinstance(raw, list):
            raise self.error(where, "options", "must be a list of options (value, label)")
        if kind == LIKERT and len(raw) != len(LIKERT_VALUES):
            raise self.error(where, "options", f"likert takes exactly 5 custom labels, not {len(raw)}")
        if not MIN_OPTIONS <= len(raw) <= MAX_OPTIONS:
            raise self.error(where, "options", f"has {len(raw)}; give {MIN_OPTIONS} to {MAX_OPTIONS} options")
        options = []
        for number, entry in enumerate(raw, start=1):
            at = f"{where}option {number}: "
            entry = self.fields(entry, OPTION_FIELDS, at, "an option")
            value = str(entry["value"]) if isinstance(entry["value"], int) and not isinstance(entry["value"], bool) \
                else entry["value"]
            value = self.pattern(value, "value", OPTION_VALUE_PATTERN, "lower_case letters, digits and _", at)
            if kind == LIKERT and value != str(LIKERT_VALUES[number - 1]):
                raise self.error(at, "value", f"likert options are \"1\" to \"5\" in order; this one must be "
                                              f"\"{LIKERT_VALUES[number - 1]}\"")
            if any(o.value == value for o in options):
                raise self.error(at, "value", f"{value!r} is used by an earlier option; values must be unique")
            synonyms = entry.get("synonyms") or []
            if not isinstance(synonyms, list) or not all(isinstance(s, str) and s.strip() for s in synonyms):
                raise self.error(at, "synonyms", 'must be a list of words (quote "yes" and "no")')
            options.append(Option(value=value, label=self.text(entry["label"], "label", at, MAX_LABEL_CHARS),
                                  synonyms=tuple(" ".join(s.split()) for s in synonyms)))
        return tuple(options)

    def condition(self, raw: Any, where: str, earlier: List[Question]) -> Condition:
        at = f"{where}ask_if: "
        raw = self.fields(raw, CONDITION_FIELDS, at, "a condition: question, op, value")
        target = next((q for q in earlier if q.id == raw["question"]), None)
        if target is None:
            raise self.error(where, "ask_if", f"must refer to an earlier question, not {raw['question']!r}")
        op = raw["op"]
        if op not in OPERATORS:
            raise self.error(where, "ask_if", f"op must be one of {', '.join(OPERATORS)}, not {op!r}")
        if op in ORDERED_OPERATORS and target.kind not in (LIKERT, NPS):
            raise self.error(where, "ask_if", f"op {op!r} only compares likert or nps scores")
        if target.kind == FREE_TEXT:
            raise self.error(where, "ask_if", "cannot depend on a free_text answer")
        if op == "in":
            if not isinstance(raw["value"], list) or not raw["value"]:
                raise self.error(where, "ask_if", "op 'in' needs a list of values")
            value: Any = tuple(self.condition_value(v, target, where) for v in raw["value"])
        else:
            value = self.condition_value(raw["value"], target, where)
        return Condition(question=target.id, op=op, value=value)

    def condition_value(self, raw: Any, target: Question, where: str) -> Any:
        kind = target.kind
        if kind in (LIKERT, NPS):
            allowed: Tuple[Any, ...] = LIKERT_VALUES if kind == LIKERT else NPS_VALUES
            if isinstance(raw, int) and not isinstance(raw, bool) and raw in allowed:
                return raw
            raise self.error(where, "ask_if", f"value must be a whole number from {allowed[0]} to {allowed[-1]} for "
                                              f"{kind} question {target.id!r}, not {raw!r}")
        if kind == YES_NO and isinstance(raw, bool):
            return YES if raw else NO  # YAML 1.1 reads an unquoted yes/no as true/false
        allowed = {YES_NO: YES_NO_VALUES, STATEMENT: STATEMENT_VALUES}.get(kind) or tuple(
            o.value for o in target.options)
        value = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if value not in allowed:
            raise self.error(where, "ask_if", f"value must be one of {', '.join(allowed)} for {kind} question "
                                              f"{target.id!r}, not {raw!r}")
        return value


def offer_payload(survey_id: str) -> str:
    """The message that offers survey ``survey_id``: ``/survey_offer{"survey":"<id>"}``, as every channel sends it."""
    return f"/{OFFER_INTENT}" + json.dumps({"survey": survey_id}, separators=(",", ":"))
