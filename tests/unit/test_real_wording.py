"""The real-world dev set measures something: its pages never fed training, and every real example names its page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List

import yaml

from bot.nlu.evaluation import load_questions
from bot.nlu.wording_split import DEV, TRAIN, page_of, split_of

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "tests" / "data" / "real_world_dev.jsonl"
SCORER_TOPICS = {
    "funding_2yo", "funding_universal", "funding_30h", "funding_codes", "funding_start", "funding_send_support",
    "ehc_request", "ehc_timescales", "ehc_refusal_appeal", "ehc_draft_plan", "ehc_review", "ehc_advice",
    "haf_eligibility", "haf_booking", "haf_send_access", "safeguarding", "out_of_scope", "human_handoff", "feedback",
}
URL = re.compile(r"https?://[^\s\"'<>)\]]+")


def dev_questions() -> List[Dict[str, str]]:
    return load_questions(DEV_SET)


def training_examples() -> List[Dict[str, str]]:
    """Every example under data/nlu given with its source (the list form with ``metadata``)."""
    found = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            examples = block.get("examples")
            if isinstance(examples, list):
                found += [{"text": e["text"], "source": (e.get("metadata") or {}).get("source"),
                           "file": path.name} for e in examples]
    return found


def test_the_dev_set_is_big_enough_and_every_question_names_its_page() -> None:
    questions = dev_questions()
    assert len(questions) >= 200
    assert all(q["topic"] in SCORER_TOPICS and q["text"].strip() and q["source"].startswith("http")
               for q in questions)
    assert len({page_of(q["source"]) for q in questions}) >= 100


def test_dev_pages_and_training_pages_never_meet() -> None:
    dev_pages = {page_of(q["source"]) for q in dev_questions()}
    assert all(split_of(q["source"]) == DEV for q in dev_questions())
    used = set()
    for path in [*(ROOT / "data").rglob("*.yml")]:
        used |= {page_of(url) for url in URL.findall(path.read_text(encoding="utf-8"))}
    assert not dev_pages & used


def test_every_real_training_example_names_a_training_page() -> None:
    examples = training_examples()
    assert len(examples) >= 500
    assert all(e["source"] and split_of(e["source"]) == TRAIN for e in examples), \
        [e for e in examples if not e["source"] or split_of(e["source"]) != TRAIN][:3]


def test_no_dev_question_is_also_a_training_example() -> None:
    def squash(text: str) -> str:
        return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())

    trained = {squash(e["text"]) for e in training_examples()}
    assert not [q["text"] for q in dev_questions() if squash(q["text"]) in trained]
