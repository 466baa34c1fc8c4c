"""Pulse surveys through the running stack: a young person on Telegram, a parent by SMS, and the web chat's REST
channel, with answers read back from Redis (issue #7).

Every reply is what the person would see; every stored answer is read from Redis directly, not from what the test
sent.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List, Optional, Set

import pytest
import redis

from bot.privacy.hashing import respondent_id
from bot.surveys.definitions import Survey, load_surveys
from tests.integration.clients import Chat, Phone
from tests.integration.replies import reply_text
from tests.integration.standins import Received

pytestmark = pytest.mark.integration

SURVEYS = load_surveys()
STRONG_VOICES = SURVEYS["strong_voices"]
FORUM = SURVEYS["parent_carer_forum"]
EMERGENCY = re.compile(r"\b999\b.*0800 1111", re.S)

# Personal details typed into free-text answers: none may be stored (or logged) as typed.
SV_FREE_TEXT = ("My name is Jake Okafor and my teacher Mrs Patel at Whitley Academy never asks me. "
                "Call my mum on 07700 900123.")
SV_PERSONAL = ("Jake", "Okafor", "Patel", "Whitley Academy", "07700 900123")
FORUM_FREE_TEXT = ("We waited 9 months and nobody called back. Email me at jo.bloggs@example.com or come to "
                   "12 Acacia Avenue, CV6 5DE.")
FORUM_PERSONAL = ("jo.bloggs@example.com", "12 Acacia Avenue", "CV6 5DE")


def _question(survey: Survey, qid: str) -> str:
    return survey.question(qid).text


def _stored_response(client: redis.Redis, env: Dict[str, str], survey: Survey, sender_id: str) -> Optional[dict]:
    person = respondent_id(env["PRIVACY_KEY"].encode(), survey.id, sender_id)
    raw = client.get(f"send:survey:{survey.id}:response:{person}")
    return json.loads(raw) if raw else None


def _texts(replies: List[Received]) -> str:
    return "\n".join(r.fields.get("text") or "" for r in replies)


def _buttons(replies: List[Received]) -> List[Dict[str, str]]:
    return [button for r in replies for row in r.fields.get("reply_markup", {}).get("inline_keyboard", [])
            for button in row]


def _last_with_keyboard(replies: List[Received]) -> Received:
    return [r for r in replies if r.fields.get("reply_markup")][-1]


def test_a_young_person_completes_strong_voices_on_telegram(chat: Chat, redis_client: redis.Redis,
                                                            channel_env: Dict[str, str], sensitive: Set[str]) -> None:
    """The whole Strong Voices survey on Telegram: a deep link, the privacy notice and an explicit yes, one question
    per message with inline buttons (a 0-10 scale in rows), answers as presses, words and emoji, skip logic; the
    answers are in Redis, redacted, under a respondent hash; then the panel can be joined with one press."""
    sensitive.update(SV_PERSONAL)
    replies = chat.say(chat.message("/start strong_voices"))
    assert STRONG_VOICES.intro.split(".")[0] in _texts(replies)
    assert "delete my data" in _texts(replies)  # the privacy notice comes before any question
    consent = _last_with_keyboard(replies)
    assert {"yes", "no"} <= {b["callback_data"] for b in _buttons([consent])}

    replies = chat.say(chat.press("yes", under=consent))
    assert _question(STRONG_VOICES, "has_plan") in _texts(replies)
    assert chat.telegram.calls(lambda r: r.method == "answerCallbackQuery")  # the spinner stops
    replies = chat.say(chat.press("1", under=_last_with_keyboard(replies)))  # "Yes"
    assert _question(STRONG_VOICES, "review_listened") in _texts(replies)
    assert len(_buttons(replies)) == 5
    replies = chat.say(chat.message("👎"))  # 2: "Not really" -> the follow-up question
    assert _question(STRONG_VOICES, "review_why") in _texts(replies)
    replies = chat.say(chat.message(SV_FREE_TEXT))
    assert _question(STRONG_VOICES, "know_who_to_ask") in _texts(replies)
    replies = chat.say(chat.press("yes", under=_last_with_keyboard(replies)))
    assert _question(STRONG_VOICES, "help_when_needed") in _texts(replies)
    replies = chat.say(chat.message("strongly agree"))
    assert _question(STRONG_VOICES, "clubs_and_trips") in _texts(replies)
    replies = chat.say(chat.press("agree", under=_last_with_keyboard(replies)))
    assert _question(STRONG_VOICES, "planning_next_steps") in _texts(replies)
    replies = chat.say(chat.message("pass"))
    assert _question(STRONG_VOICES, "tell_a_friend") in _texts(replies)
    rows = _last_with_keyboard(replies).fields["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in rows for b in row] == [str(n) for n in range(11)] and len(rows) < 11
    replies = chat.say(chat.press("8", under=_last_with_keyboard(replies)))
    assert _question(STRONG_VOICES, "age_band") in _texts(replies)
    replies = chat.say(chat.press("2", under=_last_with_keyboard(replies)))  # 14 to 16
    assert "you said, we did" in _texts(replies).lower()
    join = [b for b in _buttons(replies) if b["callback_data"].startswith("panel:join:")]
    assert join, _texts(replies)

    stored = _stored_response(redis_client, channel_env, STRONG_VOICES, chat.sender_id)
    assert stored is not None
    answers = stored["answers"]
    assert answers["has_plan"] == "yes" and answers["review_listened"] == 2 and answers["know_who_to_ask"] == "yes"
    assert answers["help_when_needed"] == 5 and answers["clubs_and_trips"] == "agree"
    assert answers["planning_next_steps"] == "pass" and answers["tell_a_friend"] == 8
    assert answers["age_band"] == "age_14_16"
    free_text = answers["review_why"]
    assert "[NAME]" in free_text and "[PHONE]" in free_text and "[SCHOOL]" in free_text, free_text
    assert not any(detail in free_text for detail in SV_PERSONAL), free_text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T|\d{2}:\d{2}", json.dumps(stored))  # a day, not a moment

    replies = chat.say(chat.press(join[0]["callback_data"]))
    assert "joined the Strong Voices survey panel" in _texts(replies)
    members = list(redis_client.scan_iter("send:panel:strong_voices:member:*"))
    assert members and all(str(chat.chat_id) not in (redis_client.get(key) or "") for key in members)


def test_a_parent_completes_the_forum_survey_by_sms(phone: Phone, redis_client: redis.Redis,
                                                    channel_env: Dict[str, str], sensitive: Set[str]) -> None:
    """The Parent Carer Forum survey by SMS: started with its keyword, numbered replies, several answers in one
    ("1 and 2"), a 0-10 scale typed without a menu, skip logic from a multiple choice, "skip"; plain GSM-7 texts
    that never tell a parent to text STOP to leave a survey; answers in Redis, redacted; then JOIN FORUM."""
    sensitive.update(FORUM_PERSONAL)
    consent = phone.ask("FORUM")
    assert "Parent Carer Forum" in consent and "Reply 1 for" in consent
    assert "STOP" not in consent.upper().replace("STOPPED", "")
    services = phone.ask("1")
    assert _question(FORUM, "services_used") in services and "1 Nursery funded hours" in services
    assert _question(FORUM, "had_ehc_meeting") in phone.ask("1 and 2")
    assert _question(FORUM, "ehc_listened") in phone.ask("1")
    assert _question(FORUM, "ehc_why") in phone.ask("2")  # disagree -> why
    assert _question(FORUM, "help_right_time") in phone.ask(FORUM_FREE_TEXT)
    assert _question(FORUM, "last_move") in phone.ask("disagree")
    assert _question(FORUM, "haf_included") in phone.ask("3")  # asked because HAF was chosen
    scale = phone.ask("yes")
    assert _question(FORUM, "recommend_forum") in scale and "Reply 1 for" not in scale  # no shifted menu
    assert _question(FORUM, "one_change") in phone.ask("9")
    thanks = phone.ask("skip")
    assert "you said, we did" in thanks.lower() and "JOIN FORUM" in thanks

    stored = _stored_response(redis_client, channel_env, FORUM, phone.sender_id)
    assert stored is not None
    answers = stored["answers"]
    assert answers["services_used"] == ["nursery", "haf"] and answers["had_ehc_meeting"] == "yes"
    assert answers["ehc_listened"] == 2 and answers["help_right_time"] == "disagree"
    assert answers["last_move"] == "went_badly" and answers["haf_included"] == "yes"
    assert answers["recommend_forum"] == 9 and "one_change" not in answers
    assert "[EMAIL]" in answers["ehc_why"] and not any(d in answers["ehc_why"] for d in FORUM_PERSONAL)

    joined = phone.ask("JOIN FORUM")
    assert "joined the Parent Carer Forum survey panel" in joined
    left = phone.ask("LEAVE")
    assert "left the survey panel" in left


def test_skip_back_invalid_start_again_stop_and_resume(ask: Callable[[str], List[dict]]) -> None:
    """At any question: an invalid answer is asked again once with the options, then we move on; "back", "skip",
    "start again" and "stop" work; a stopped survey is carried on later from where it stopped."""
    consent = reply_text(ask("I want to give feedback to Strong Voices"))
    assert STRONG_VOICES.intro.split(".")[0] in consent and "Thank you for telling us" not in consent
    assert _question(STRONG_VOICES, "has_plan") in reply_text(ask("yes"))
    again = reply_text(ask("banana"))
    assert "didn't catch that" in again and _question(STRONG_VOICES, "has_plan") in again and "Not sure" in again
    moved_on = reply_text(ask("banana"))
    assert "move on" in moved_on and _question(STRONG_VOICES, "know_who_to_ask") in moved_on
    assert _question(STRONG_VOICES, "has_plan") in reply_text(ask("back"))
    assert _question(STRONG_VOICES, "review_listened") in reply_text(ask("yes i do"))
    assert _question(STRONG_VOICES, "know_who_to_ask") in reply_text(ask("skip"))
    assert _question(STRONG_VOICES, "has_plan") in reply_text(ask("start again"))
    assert _question(STRONG_VOICES, "review_listened") in reply_text(ask("1"))
    stopped = reply_text(ask("stop"))
    assert "stopped the survey" in stopped
    assert "free" in reply_text(ask("what free hours does a 3 year old get"))  # not in the survey any more
    resumed = reply_text(ask("carry on with the survey"))
    assert "carry on" in resumed.lower() and _question(STRONG_VOICES, "review_listened") in resumed


def test_a_question_mid_survey_is_answered_and_the_survey_offers_to_carry_on(ask) -> None:
    """A nursery funding question in the middle is answered; then one press carries on where it stopped."""
    ask("/survey_offer{\"survey\":\"parent_carer_forum\"}")
    ask("yes")
    assert _question(FORUM, "had_ehc_meeting") in reply_text(ask("2"))
    messages = ask("how many free hours can my 3 year old get at nursery?")
    text = reply_text(messages)
    assert "15" in text and _question(FORUM, "had_ehc_meeting") not in text
    carry_on = [b for m in messages for b in m.get("buttons") or [] if b["payload"] == "/survey_resume"]
    assert carry_on, text
    assert _question(FORUM, "had_ehc_meeting") in reply_text(ask(carry_on[0]["payload"]))


def test_a_disclosure_in_an_answer_gets_the_emergency_routes_and_is_not_stored(
        ask, sender: str, redis_client: redis.Redis, channel_env: Dict[str, str]) -> None:
    """Safeguarding first: a disclosure typed as an answer stops the survey, gets 999 and Childline at once, and is
    kept nowhere: not as an answer, not in the conversation."""
    ask("/survey_offer{\"survey\":\"strong_voices\"}")
    ask("yes")
    ask("1")
    assert _question(STRONG_VOICES, "review_why") in reply_text(ask("1"))
    text = reply_text(ask("my stepdad hits me when mum is at work"))
    assert EMERGENCY.search(text), text
    everything = " ".join(str(redis_client.get(key)) for key in redis_client.scan_iter("send:*")
                          if redis_client.type(key) == "string")
    assert "stepdad" not in everything
    after = reply_text(ask("hello"))
    assert _question(STRONG_VOICES, "review_why") not in after  # the survey has stopped


def test_venting_is_thanked_and_offered_a_survey(ask) -> None:
    """Someone venting in passing is thanked and offered the surveys (not a topic answer)."""
    messages = ask("nobody ever listens to us")
    text = reply_text(messages)
    assert "Thank you for telling us" in text
    titles = {b["title"] for m in messages for b in m.get("buttons") or []}
    assert {STRONG_VOICES.title, FORUM.title} <= titles, text
    assert "no problem" in reply_text(ask("no thanks"))


def test_a_complaint_gets_the_complaint_route(ask) -> None:
    """A complaint said in passing gets the complaint route as well as thanks."""
    text = reply_text(ask("I want to complain, the way the school treated us at the review was not good enough"))
    assert "complaint" in text.lower(), text


def test_the_keyword_starts_its_survey_on_any_channel(ask) -> None:
    """A survey's keyword alone starts it (here on the web chat, as by SMS)."""
    assert STRONG_VOICES.intro.split(".")[0] in reply_text(ask("voices"))


def test_delete_my_data_deletes_the_answers_and_the_conversation(
        ask, sender: str, redis_client: redis.Redis, channel_env: Dict[str, str], stored_tracker_key) -> None:
    """"Delete my data" while the survey is open: the response, the counts it added and the conversation go."""
    ask("/survey_offer{\"survey\":\"strong_voices\"}")
    for reply in ("yes", "2", "yes", "4", "agree", "agree", "5", "1"):
        ask(reply)
    assert _stored_response(redis_client, channel_env, STRONG_VOICES, sender) is not None
    text = reply_text(ask("please delete my data"))
    assert "deleted" in text
    assert _stored_response(redis_client, channel_env, STRONG_VOICES, sender) is None
    tracker = redis_client.get(stored_tracker_key(sender)) or ""
    assert "survey_offer" not in tracker and "agree" not in tracker


def test_what_a_family_types_is_stored_redacted_and_briefly(
        ask, sender: str, redis_client: redis.Redis, stored_tracker_key, sensitive: Set[str]) -> None:
    """The conversation in Redis holds no name, number or email as typed, and expires within a day."""
    details = ("Sarah Jones", "07700 900456", "sarah.jones@example.com")
    sensitive.update(details)
    text = reply_text(ask("hi my name is Sarah Jones, my number is 07700 900456 and my email is "
                          "sarah.jones@example.com. can my 2 year old get free hours?"))
    assert "15" in text
    stored = redis_client.get(stored_tracker_key(sender))
    assert stored and not any(detail in stored for detail in details)
    assert "[NAME]" in stored and "[PHONE]" in stored and "[EMAIL]" in stored
    assert 0 < redis_client.ttl(stored_tracker_key(sender)) <= 24 * 3600


def test_a_long_conversation_is_stored_short(ask, sender: str, redis_client: redis.Redis,
                                             stored_tracker_key) -> None:
    """Only the last turns of a long conversation are kept, and the dialogue still knows what it was doing."""
    ask("check what free hours we can get")
    ask("born 3/11/2023")
    for _ in range(25):
        ask("what is HAF")
    stored = json.loads(redis_client.get(stored_tracker_key(sender)))
    users = [e for e in stored["events"] if e["event"] == "user"]
    assert len(users) <= 10
    assert "For your child" in reply_text(ask("when does her funding start"))  # the date of birth was kept


def test_the_panel_is_invited_once_with_a_button_that_starts_the_survey(
        chat: Chat, stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Pulse surveys are sent, not only found: someone who joined the panel on Telegram is invited by
    `python -m bot survey invite`, once however often it runs, and the invitation's button starts the survey."""
    from bot.cli import main as cli_main

    chat.offer("panel:join:strong_voices")  # the button at the end of a survey
    joined = chat.say(chat.press("panel:join:strong_voices"))
    assert "joined the Strong Voices survey panel" in _texts(joined)
    monkeypatch.setenv("REDIS_URL", stack.settings.redis.url)
    assert cli_main(["survey", "invite", "--survey", "strong_voices"]) == 0
    invitations = chat.sent(len(joined) + 1)[len(joined):]
    assert len(invitations) == 1 and STRONG_VOICES.title in invitations[0].fields["text"]
    capsys.readouterr()
    assert cli_main(["survey", "invite", "--survey", "strong_voices"]) == 0
    second = re.search(r"sent (\d+), already invited (\d+)", capsys.readouterr().out)
    assert second and second.group(1) == "0" and int(second.group(2)) >= 1, second
    assert len(chat.telegram.sent_to(chat.chat_id)) == len(joined) + 1  # nobody is invited twice
    take_part = _buttons(invitations)[0]["callback_data"]
    replies = chat.say(chat.press(take_part, under=invitations[0]))
    assert "delete my data" in _texts(replies)  # the survey's privacy notice, then the explicit yes
