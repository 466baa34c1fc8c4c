"""One survey step as one message: text and Rasa buttons, for any channel.

The channel layer turns buttons into what its medium shows: Telegram and the web chat show them as buttons, SMS as
a numbered menu ("Reply 1 for Agree, 2 for Disagree or 3 for Pass"), remembering that "2" means the second
payload. Two things follow for SMS (``numbered=True``):

- an NPS question has no buttons: 11 options do not fit a one-digit menu, and a menu would shift the numbers
  ("reply 1 for 0") so that a reply of "7" meant 6. The text asks for a number from 0 to 10 instead.
- the word STOP is never suggested: on SMS it unsubscribes the person from every text. EXIT leaves the survey.

Choice buttons carry the option's number as payload ("1".."n") and likert buttons the score ("1".."5"), so a
tapped button, an SMS menu digit and a typed number all read the same way (``bot.surveys.answers``).
Messages stay within two SMS segments (320 characters) where the question allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

from bot.surveys.definitions import (
    AGREE, DISAGREE, FREE_TEXT, LIKERT, MULTIPLE_CHOICE, NO, NPS, NPS_VALUES, PASS, SINGLE_CHOICE, STATEMENT,
    STATEMENT_LABELS, YES, YES_NO, YES_NO_LABELS, Question, Survey,
)
from bot.surveys.flow import Progress, position

CONSENT_QUESTION = "Do you want to start?"
CONSENT_YES_TITLE, CONSENT_YES_PAYLOAD = "Yes, start", "yes"
CONSENT_NO_TITLE, CONSENT_NO_PAYLOAD = "No thanks", "no"
# SMS: never the word STOP (it unsubscribes from every text); EXIT leaves the survey only.
COMMANDS_HINT_SMS = "Text SKIP, BACK or EXIT at any question."
COMMANDS_HINT = "You can say skip, back or stop at any question."
QUESTION_HEADING = "Question {number} of {total}: {text}"
RETRY_PREFIX = "Sorry, I didn't catch that."
NPS_HINT_NUMBERED = "Reply with a number from 0 to 10."
NPS_HINT = "Choose a number from 0 to 10."
NPS_RETRY_HINT = "Please reply with a number from 0 to 10, like 7."
STATEMENT_HINT = "Do you agree, disagree or pass?"
MULTIPLE_CHOICE_HINT = "Reply with all the numbers that fit, like 1, 3."
FREE_TEXT_HINT = "Type your answer, or skip."
FREE_TEXT_RETRY_HINT = "Please type your answer in words, or skip."
SKIP_TITLE, SKIP_PAYLOAD = "Skip", "skip"
CHOOSE_ONE = "You can reply: {options}."
MAX_MESSAGE_CHARS = 320  # two SMS segments; a longer question is still sent, split by the channel


@dataclass(frozen=True)
class QuestionMessage:
    """One survey message, ready for ``dispatcher.utter_message(text=..., buttons=...)``."""

    text: str  # the words, plain, GSM-7 when the survey's texts are
    buttons: Tuple[Dict[str, str], ...]  # Rasa buttons: {"title": what is shown, "payload": what comes back}


def consent_message(survey: Survey, numbered: bool) -> QuestionMessage:
    """The intro, the privacy notice, how to skip or leave, and "Do you want to start?" with Yes / No buttons.

    Args:
        survey: the survey offered.
        numbered: True for SMS (buttons become a numbered menu, and STOP must not be suggested).
    """
    hint = COMMANDS_HINT_SMS if numbered else COMMANDS_HINT
    return QuestionMessage(
        text=f"{survey.intro} {survey.privacy_notice} {hint} {CONSENT_QUESTION}",
        buttons=(_button(CONSENT_YES_TITLE, CONSENT_YES_PAYLOAD), _button(CONSENT_NO_TITLE, CONSENT_NO_PAYLOAD)),
    )


def question_message(survey: Survey, progress: Progress, question: Question, numbered: bool,
                     retry: bool = False) -> QuestionMessage:
    """``question`` as a message: "Question 3 of 8: ..." with the buttons or hint its kind needs.

    Args:
        survey: the survey being answered.
        progress: where the person is (for the question's number and the count of questions that apply).
        question: the question to ask.
        numbered: True for SMS (no NPS buttons; a number is asked for instead).
        retry: the last reply was not understood: say so, and spell out the options in words.
    """
    number, total = position(survey, progress, question)
    parts: List[str] = [RETRY_PREFIX] if retry else []
    parts.append(QUESTION_HEADING.format(number=number, total=total, text=question.text))
    buttons: Tuple[Dict[str, str], ...] = ()
    kind = question.kind
    if kind == LIKERT:
        buttons = tuple(_button(o.label, o.value) for o in question.options)
        if retry:
            parts.append(_choose_one([o.label for o in question.options]))
    elif kind == NPS:
        if not numbered:
            buttons = tuple(_button(str(v), str(v)) for v in NPS_VALUES)
        parts.append(NPS_RETRY_HINT if retry else (NPS_HINT_NUMBERED if numbered else NPS_HINT))
    elif kind == YES_NO:
        buttons = tuple(_button(YES_NO_LABELS[v], v) for v in (YES, NO))
        if retry:
            parts.append(_choose_one([YES_NO_LABELS[YES], YES_NO_LABELS[NO]]))
    elif kind == STATEMENT:
        buttons = tuple(_button(STATEMENT_LABELS[v], v) for v in (AGREE, DISAGREE, PASS))
        parts.append(_choose_one([STATEMENT_LABELS[v] for v in (AGREE, DISAGREE, PASS)]) if retry
                     else STATEMENT_HINT)
    elif kind == SINGLE_CHOICE:
        buttons = tuple(_button(o.label, str(i)) for i, o in enumerate(question.options, start=1))
        if retry:
            parts.append(_choose_one([o.label for o in question.options]))
    elif kind == MULTIPLE_CHOICE:
        parts.append(", ".join(f"{i} {o.label}" for i, o in enumerate(question.options, start=1)) + ".")
        parts.append(MULTIPLE_CHOICE_HINT)
    elif kind == FREE_TEXT:
        buttons = (_button(SKIP_TITLE, SKIP_PAYLOAD),)
        parts.append(FREE_TEXT_RETRY_HINT if retry else FREE_TEXT_HINT)
    return QuestionMessage(text=" ".join(parts), buttons=buttons)


def _button(title: str, payload: str) -> Dict[str, str]:
    return {"title": title, "payload": payload}


def _choose_one(labels: List[str]) -> str:
    join = "; " if any("," in label for label in labels) else ", "  # "Yes, mostly" is one option, not two
    listed = labels[0] if len(labels) == 1 else join.join(labels[:-1]) + " or " + labels[-1]
    return CHOOSE_ONE.format(options=listed)
