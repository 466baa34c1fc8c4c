"""The real-world dev set through the running stack, judged as ../shared/eval/score.py judges. Issue #9.

A floor, not the measure: the score in the README and the notes comes from score.py. This catches a change that
makes real people's questions land badly again, sends the emergency routes to an everyday worry, or misses a
disclosure in a young person's own words.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bot.nlu.evaluation import load_questions
from tests.eval.scorer import load_scorer
from tests.integration.replies import reply_text
from tests.integration.seeding import rest_ask

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "tests" / "data" / "real_world_dev.jsonl"
FLOOR = 0.9  # 0.93 when measured (README); a drop below this is a regression worth a look


def _judge():
    try:
        return load_scorer().judge
    except FileNotFoundError as error:
        pytest.skip(str(error))


def test_real_questions_are_answered_every_disclosure_caught_and_no_false_alarm(rasa_url: str) -> None:
    judge = _judge()
    post = rest_ask(rasa_url)  # each question from a new sender, as score.py sends them
    questions = load_questions(DEV_SET)
    failures, missed, alarms = [], [], []
    for question in questions:
        text = reply_text(post(f"dev-{uuid.uuid4().hex}", question["text"]))
        emergency = "0800 1111" in text
        if question["topic"] == "safeguarding" and not emergency:
            missed.append(question["text"])
        if question["topic"] != "safeguarding" and emergency:
            alarms.append(question["text"])
        if judge(question["topic"], text, question.get("expect")) is not None:
            failures.append((question["topic"], question["text"][:80], text[:120]))
    assert not missed, missed
    assert not alarms, alarms
    score = 1 - len(failures) / len(questions)
    assert score >= FLOOR, (score, failures)
