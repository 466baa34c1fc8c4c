"""Pulse surveys for Strong Voices and the Parent Carer Forum: a Rasa form driven by ``data/surveys/<id>.yml``.

The form has one slot, ``survey_answer``: each reply is read against the current question by ``bot.surveys``
(numbers, words and emoji; skip, back, stop and start again), the progress is kept — free text redacted — in the
survey store under a keyed hash of the person *and the survey*, and the form asks the next question
(``action_ask_survey_answer``) until the survey is finished, stopped or declined; then ``survey_answer`` says how it
ended and ``action_survey_end`` says goodbye. Answers are never slots, so they never reach the tracker.

A message that is not an answer — a disclosure of harm, "delete my data", a confident question about a topic we
answer — makes the form reject the turn: the rules answer it, and the answer offers to carry on the survey. A
survey left half-way can be carried on later ("carry on with the survey"), from the store, in a new session.
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import clock
from actions.forms import SURVEY_ID, is_disclosure, is_interruption, latest_intent
from actions.knowledge import knowledge, send_answer
from bot.feedback_tone import Tone, ToneReader
from bot.privacy.hashing import log_ref, respondent_id
from bot.privacy.redaction import default_redactor
from bot.safeguarding import safeguarding_rule
from bot.settings import Settings
from bot.surveys.answers import parse_answer, parse_command
from bot.surveys.definitions import Survey, load_surveys
from bot.surveys.flow import Outcome, Progress, start, step
from bot.surveys.panel import PanelStore
from bot.surveys.render import consent_message, question_message
from bot.surveys.store import SurveyStore, SurveyStoreError

logger = logging.getLogger(__name__)

FORM = "survey_form"
ANSWER = "survey_answer"
SURVEY_ENTITY = "survey"
# How a survey ended, for action_survey_end; "none_open" and "unavailable" were already explained when they happened.
COMPLETED, STOPPED, DECLINED, UNAVAILABLE, NONE_OPEN = "completed", "stopped", "declined", "unavailable", "none_open"
SMS_CHANNEL = "sms"
# Channels that know who to invite (a phone number, a chat id); the web chat does not.
PANEL_CHANNELS = frozenset({"sms", "telegram"})
FEEDBACK_INTENT = "give_feedback"
# A survey answer is often feedback, and feedback often mentions a topic: those are answers, not new questions.
NOT_INTERRUPTIONS = frozenset({"give_feedback", "out_of_scope", "inform", "survey_offer", "survey_resume"})
# A free-text answer is anything at all, so only a confident question interrupts it.
INTERRUPTION_MIN_CONFIDENCE = 0.6
FREE_TEXT_INTERRUPTION_MIN_CONFIDENCE = 0.85
QUESTION_START = re.compile(
    r"^\s*(how|what|when|where|who|which|why|can|could|do|does|did|is|are|will|would|should|am)\b", re.I
)
# Someone who asks to take part needs no "thank you for telling us" first.
ASKED_TO_TAKE_PART = re.compile(r"\b(survey|feedback|have my say|take part|questionnaire|give my views?)\b", re.I)
# Complaint and praise words are data (data/knowledge/feedback_tone.yml): a complaint gets the SEND team and the
# complaint route, praise a warm thank you; both then get the survey.
ACKNOWLEDGEMENT = {Tone.PRAISE: "utter_survey_thanks_praise", Tone.NEUTRAL: "utter_survey_thanks"}
COMPLAINT_ACKNOWLEDGEMENT = "feedback_complaint"  # sorry, and the SEND team's number (answers.yml)
COMPLAINT_ROUTE = "complaint_route"
NO_THANKS = re.compile(r"^\s*(no|nope|nah|no thanks?|not now|maybe later|later)\W*$", re.I)
DECLINE_PAYLOAD = "no"


@functools.lru_cache(maxsize=1)
def surveys() -> Dict[str, Survey]:
    """The survey definitions, loaded once per action-server process (restart it after editing them)."""
    return load_surveys()


@functools.lru_cache(maxsize=1)
def _settings() -> Settings:
    return Settings.from_env()


@functools.lru_cache(maxsize=1)
def survey_store() -> SurveyStore:
    """One survey store (one Redis client) per action-server process."""
    return SurveyStore.from_settings(_settings())


@functools.lru_cache(maxsize=1)
def panel_store() -> PanelStore:
    """One panel store per action-server process."""
    return PanelStore.from_settings(_settings())


@functools.lru_cache(maxsize=1)
def tone_reader() -> ToneReader:
    """The complaint and praise patterns, loaded once per action-server process."""
    return ToneReader.from_file()


def respondent(tracker: Tracker, survey_id: str) -> str:
    """Who is answering, for this survey only: never the sender id itself."""
    return respondent_id(_settings().require_privacy_key(), survey_id, tracker.sender_id)


def open_surveys(today: date) -> List[Survey]:
    """The surveys that can be answered today, in a stable order."""
    return [s for _, s in sorted(surveys().items()) if s.is_open(today)]


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split())


def survey_named(tracker: Tracker, candidates: List[Survey]) -> Optional[Survey]:
    """The survey a button, deep link, keyword or the words of the message name, if any."""
    by_id = {s.id: s for s in candidates}
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == SURVEY_ENTITY and entity.get("value") in by_id:
            return by_id[entity["value"]]
    text = f" {_normalised(tracker.latest_message.get('text') or '')} "
    for survey in candidates:
        names = {_normalised(survey.title), survey.keyword.lower(), survey.id.replace("_", " ")}
        if any(f" {name} " in text for name in names if name):
            return survey
    return None


def _is_numbered(tracker: Tracker) -> bool:
    return tracker.get_latest_input_channel() == SMS_CHANNEL


def _looks_like_question(text: str) -> bool:
    return text.rstrip().endswith("?") or bool(QUESTION_START.match(text))


def _choice_buttons(candidates: List[Survey]) -> List[Dict[str, str]]:
    buttons = [{"title": s.title, "payload": f'/survey_offer{{"{SURVEY_ENTITY}":"{s.id}"}}'} for s in candidates]
    return buttons + [{"title": "No thanks", "payload": DECLINE_PAYLOAD}]


async def _load_progress(survey: Survey, person: str) -> Optional[Progress]:
    draft = await survey_store().load_draft(survey.id, person)
    return Progress.from_dict(draft) if draft else None


class ActionOfferSurvey(Action):
    """Thanks someone for feedback and offers a survey: the one they named, the one they started, or a choice.

    The survey form runs next (rules.yml); this action only sets which survey it is about.
    """

    def name(self) -> Text:
        return "action_offer_survey"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        tone = tone_reader().tone(text)
        if latest_intent(tracker).get("name") == FEEDBACK_INTENT and not ASKED_TO_TAKE_PART.search(text):
            if tone is Tone.COMPLAINT:
                send_answer(dispatcher, COMPLAINT_ACKNOWLEDGEMENT)
            else:
                dispatcher.utter_message(response=ACKNOWLEDGEMENT[tone])
        if tone is Tone.COMPLAINT:
            send_answer(dispatcher, COMPLAINT_ROUTE)
        today = clock.today()
        candidates = open_surveys(today)
        if not candidates:
            dispatcher.utter_message(response="utter_survey_none_open")
            return [SlotSet(SURVEY_ID, None), SlotSet(ANSWER, NONE_OPEN)]
        chosen = survey_named(tracker, candidates)
        try:
            started = [s for s in candidates if await _load_progress(s, respondent(tracker, s.id))]
        except SurveyStoreError:
            logger.error("survey store unavailable while offering a survey (%s)", log_ref(tracker.sender_id),
                         exc_info=True)
            dispatcher.utter_message(response="utter_survey_unavailable")
            return [SlotSet(SURVEY_ID, None), SlotSet(ANSWER, UNAVAILABLE)]
        if chosen is None and len(started) == 1:
            chosen = started[0]  # "carry on with the survey": the one they left half-way
        if chosen in started:
            dispatcher.utter_message(response="utter_survey_resumed")
        return [SlotSet(SURVEY_ID, chosen.id if chosen else None), SlotSet(ANSWER, None)]


class ActionAskSurveyAnswer(Action):
    """Asks what the survey needs next: which survey, the consent question, or the current question."""

    def name(self) -> Text:
        return "action_ask_survey_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        numbered = _is_numbered(tracker)
        survey = surveys().get(tracker.get_slot(SURVEY_ID) or "")
        if survey is None:
            dispatcher.utter_message(response="utter_survey_choose", buttons=_choice_buttons(open_surveys(clock.today())))
            return []
        try:
            progress = await _load_progress(survey, respondent(tracker, survey.id)) or start(survey)
        except SurveyStoreError:
            logger.error("survey store unavailable while asking (%s)", log_ref(tracker.sender_id), exc_info=True)
            dispatcher.utter_message(response="utter_survey_unavailable")
            return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet(ANSWER, None)]
        if not progress.consented or progress.current is None:
            message = consent_message(survey, numbered)
        else:
            message = question_message(survey, progress, survey.question(progress.current), numbered,
                                       retry=progress.retries == 1)
        dispatcher.utter_message(text=message.text, buttons=list(message.buttons) or None)
        return []


class ValidateSurveyForm(FormValidationAction):
    """Reads each reply against the survey's current step and keeps the progress (redacted) in the store."""

    def name(self) -> Text:
        return "validate_survey_form"

    async def extract_survey_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """One reply: ``{survey_answer: None}`` to ask the next step, an ending to finish, ``{}`` to let the rules
        answer a message that is not an answer."""
        if tracker.get_slot("requested_slot") != ANSWER:
            return {}  # the message that started the form is not an answer
        text = tracker.latest_message.get("text") or ""
        # The same rule as the NLU override (one per process), so both agree on what a disclosure is.
        if is_disclosure(tracker) or safeguarding_rule().is_disclosure(text):
            return {}  # never stored: the safeguarding rule answers it and stops the survey
        survey = surveys().get(tracker.get_slot(SURVEY_ID) or "")
        try:
            if survey is None:
                return self._choose(dispatcher, tracker)
            return await self._answer(dispatcher, tracker, survey, text)
        except SurveyStoreError:
            logger.error("survey store unavailable; survey stopped (%s)", log_ref(tracker.sender_id), exc_info=True)
            dispatcher.utter_message(response="utter_survey_unavailable")
            return {ANSWER: UNAVAILABLE}

    def _choose(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        candidates = open_surveys(clock.today())
        chosen = survey_named(tracker, candidates)
        text = tracker.latest_message.get("text") or ""
        if chosen is None and text.strip().isdigit() and 1 <= int(text) <= len(candidates):
            chosen = candidates[int(text) - 1]
        if chosen is not None:
            return {SURVEY_ID: chosen.id, ANSWER: None}
        if NO_THANKS.match(text):
            return {ANSWER: DECLINED}
        if self._interrupts(tracker, free_text=False):
            return {}
        dispatcher.utter_message(response="utter_survey_not_understood")
        return {ANSWER: None}

    async def _answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, survey: Survey,
                      text: str) -> Dict[Text, Any]:
        store = survey_store()
        person = respondent(tracker, survey.id)
        progress = await _load_progress(survey, person) or start(survey)
        question = survey.question(progress.current) if progress.consented and progress.current else None
        free_text = question is not None and question.kind == "free_text"
        # Skip, back, stop and start again belong to the survey, whatever the NLU made of them; a free-text answer
        # is always "understood", so only a confident question interrupts it.
        understood = parse_command(text) is not None or (
            question is not None and not free_text and parse_answer(question, text) is not None)
        if not understood and self._interrupts(tracker, free_text=free_text):
            return {}
        result = step(survey, progress, text, redact=default_redactor().redact)
        outcome = result.outcome
        if outcome is Outcome.DECLINED:
            await store.delete_draft(survey.id, person)
            return {ANSWER: DECLINED}
        if outcome is Outcome.COMPLETED:
            await store.submit(survey, person, result.progress.answers, submitted=clock.today())
            logger.info("survey %s response stored", survey.id)
            return {ANSWER: COMPLETED}
        await store.save_draft(survey, person, result.progress.to_dict(), today=clock.today())
        if outcome is Outcome.STOPPED:
            return {ANSWER: STOPPED}
        if outcome is Outcome.GAVE_UP:
            dispatcher.utter_message(response="utter_survey_gave_up")
        return {ANSWER: None}

    @staticmethod
    def _interrupts(tracker: Tracker, free_text: bool) -> bool:
        """A confident question about a topic we answer, or a control intent ("delete my data")."""
        text = tracker.latest_message.get("text") or ""
        if free_text and not _looks_like_question(text):
            return False
        threshold = FREE_TEXT_INTERRUPTION_MIN_CONFIDENCE if free_text else INTERRUPTION_MIN_CONFIDENCE
        return is_interruption(tracker, topics=knowledge().titles, min_confidence=threshold,
                               not_interruptions=NOT_INTERRUPTIONS)


class ActionSurveyEnd(Action):
    """The survey's last message: thanks and what happens next, or how to carry on later."""

    def name(self) -> Text:
        return "action_survey_end"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        ending = tracker.get_slot(ANSWER)
        survey = surveys().get(tracker.get_slot(SURVEY_ID) or "")
        if ending == COMPLETED and survey is not None:
            dispatcher.utter_message(text=survey.thanks)
            if tracker.get_latest_input_channel() in PANEL_CHANNELS:
                dispatcher.utter_message(response="utter_survey_join_panel", keyword=survey.keyword,
                                         panel=survey.panel, title=survey.title)
        elif ending == STOPPED:
            dispatcher.utter_message(response="utter_survey_stopped", days=_settings().draft_expiry_days)
        elif ending == DECLINED:
            dispatcher.utter_message(response="utter_survey_declined")
        return [SlotSet(ANSWER, None), SlotSet(SURVEY_ID, None)]


class ActionDeleteMyData(Action):
    """Deletes this person's answers to open surveys, their drafts, their panel membership and the conversation."""

    def name(self) -> Text:
        return "action_delete_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        try:
            for survey in open_surveys(clock.today()):
                await survey_store().delete_response(survey.id, respondent(tracker, survey.id))
            await panel_store().leave_all(tracker.sender_id)
        except SurveyStoreError:
            logger.error("could not delete survey data (%s)", log_ref(tracker.sender_id), exc_info=True)
            dispatcher.utter_message(response="utter_data_not_deleted")
            return []
        dispatcher.utter_message(response="utter_data_deleted")
        # Restarted: the tracker store keeps nothing from before it, so the conversation itself is gone too.
        return [ActiveLoop(None), Restarted()]
