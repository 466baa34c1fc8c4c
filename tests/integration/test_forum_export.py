"""The forum's export of answers given through the running stack (issue #8): every stored response is a row, no
identifier leaves Redis, formulas typed into an answer stay text, small numbers cannot be recovered from what is
published, the HTML report is self-contained, and "you said, we did" reaches the parent who took part.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Dict, Set

import pytest
import redis
from openpyxl import load_workbook

from bot.forum.export import ExportOptions, build_export, load_classifier
from bot.forum.results import SMALL
from bot.forum.updates import UpdateStore
from bot.stack import Stack
from bot.surveys.definitions import load_surveys
from bot.surveys.store import SurveyStore, redis_client as survey_redis_client
from tests.integration.clients import Phone
from tests.integration.seeding import ForumSeed
from tests.unit.test_forum_suppression import recoverable_cells

pytestmark = pytest.mark.integration

FORUM = load_surveys()["parent_carer_forum"]
INDEX = f"send:survey:{FORUM.id}:index"
INJECTED = "HYPERLINK"


def _cli(stack: Stack, *args: str, env: Dict[str, str] = None, stdin: str = "") -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {}), "REDIS_URL": stack.settings.redis_url}
    return subprocess.run([sys.executable, "-m", "bot", *args], env=environment, input=stdin, capture_output=True,
                          text=True, timeout=600)


def _export(stack: Stack, fmt: str, out: Path) -> subprocess.CompletedProcess:
    done = _cli(stack, "export", "--survey", FORUM.id, "--format", fmt, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return done


def test_the_xlsx_has_every_stored_response_and_no_identifier(forum_seed: ForumSeed, stack: Stack,
                                                              redis_client: redis.Redis, tmp_path: Path) -> None:
    """One row per response kept in Redis, the four sheets, numbers as numbers, and no sender id or respondent hash
    anywhere in the workbook; the typed formula is text, not a formula."""
    _export(stack, "xlsx", tmp_path / "forum.xlsx")
    stored = redis_client.zcard(INDEX)
    assert stored >= forum_seed.responses
    book = load_workbook(tmp_path / "forum.xlsx")
    assert {"Responses", "Summary", "Data dictionary", "About"} <= set(book.sheetnames)
    sheet = book["Responses"]
    header = [cell.value for cell in sheet[1]]
    assert sheet.max_row - 1 == stored
    assert "recommend_forum" in header and "one_change" in header and "submitted_week" in header
    scores = [row[header.index("recommend_forum")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(score is None or isinstance(score, int) for score in scores)
    everything = " ".join(str(cell.value) for ws in book.worksheets for row in ws.iter_rows() for cell in row
                          if cell.value is not None)
    respondents = redis_client.zrange(INDEX, 0, -1)
    assert not any(sender in everything for sender in forum_seed.senders)
    assert not any(respondent in everything for respondent in respondents)
    injected = [cell for row in sheet.iter_rows() for cell in row if INJECTED in str(cell.value or "")]
    assert injected, "the seeded answer with a formula is missing"
    for cell in injected:
        assert cell.data_type != "f" and not str(cell.value).startswith("=")


def test_the_csv_neutralises_the_typed_formula(forum_seed: ForumSeed, stack: Stack, redis_client: redis.Redis,
                                                tmp_path: Path) -> None:
    """CSV in UTF-8 with a BOM for Excel; the answer typed as "=HYPERLINK(...)" starts with an apostrophe."""
    done = _export(stack, "csv", tmp_path / "forum.csv")
    raw = (tmp_path / "forum.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert len(rows) - 1 == redis_client.zcard(INDEX)
    cells = [cell for row in rows for cell in row if INJECTED in cell]
    assert cells and all(cell.startswith("'") for cell in cells)
    assert (tmp_path / "forum_summary.csv").exists() and (tmp_path / "forum_dictionary.csv").exists()
    assert "forum_summary.csv" in done.stdout


def test_small_numbers_cannot_be_recovered_from_the_published_figures(forum_seed: ForumSeed,
                                                                      stack: Stack) -> None:
    """With a handful of real responses some cells are small: each is hidden, and a linear-programming attacker
    given every published figure cannot pin any hidden one (issue #8)."""

    async def build():
        store = SurveyStore(survey_redis_client(stack.settings.redis_url), retention_seconds=86400 * 365,
                            draft_seconds=86400)
        try:
            return await build_export(store, FORUM, ExportOptions(), classifier=load_classifier(), update=None)
        finally:
            await store.close()

    data = asyncio.run(build())
    results = data.results
    hidden = [row for question in results.questions for row in question.rows if row.figure.hidden == SMALL]
    assert hidden, "the seeded responses should give some small cells"
    assert recoverable_cells(results) == []
    # Published figures are the stored truth: recount one question from the responses themselves.
    question = next(q for q in results.questions if q.id == "help_right_time")
    truth = {value: sum(1 for r in data.responses if r["answers"].get("help_right_time") == value)
             for value in ("agree", "disagree", "pass")}
    for row in question.rows:
        if row.figure.count is not None:
            assert row.figure.count == truth[row.value]
        else:
            assert row.figure.hidden == "secondary" or truth[row.value] < results.threshold


def test_the_html_report_is_one_self_contained_file(forum_seed: ForumSeed, stack: Stack, tmp_path: Path) -> None:
    """The report a forum member emails or prints loads nothing from anywhere: no scripts, styles, fonts or images
    by address; it has the charts (SVG) and their tables."""
    _export(stack, "html", tmp_path / "forum.html")
    page = (tmp_path / "forum.html").read_text(encoding="utf-8")
    assert "<svg" in page and "<table" in page and FORUM.title in page
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I) and "@import" not in page


def test_the_json_export_carries_the_definition_and_parameters(forum_seed: ForumSeed, stack: Stack,
                                                                 tmp_path: Path) -> None:
    _export(stack, "json", tmp_path / "forum.json")
    document = json.loads((tmp_path / "forum.json").read_text(encoding="utf-8"))
    assert document["export"]["threshold"] == 5 and document["export"]["survey_id"] == FORUM.id
    assert [q["id"] for q in document["survey"]["questions"]] == [q.id for q in FORUM.questions]
    assert len(document["responses"]) >= forum_seed.responses


def test_you_said_we_did_reaches_the_parent_who_took_part(forum_seed: ForumSeed, stack: Stack, phone: Phone,
                                                          channel_env: Dict[str, str], sensitive: Set[str]) -> None:
    """A parent takes part by SMS and joins the panel; the forum writes an update; `survey update` texts it to them
    once, and never to a panel member who did not take part (issue #8)."""
    phone.ask("FORUM")
    for reply in ("yes", "1", "no", "agree", "1", "8", "skip"):
        last = phone.ask(reply)
    assert "you said, we did" in last.lower()
    assert "joined" in phone.ask("JOIN FORUM").lower()
    bystander = Phone(stack, phone.twilio, channel_env, sensitive)
    assert "joined" in bystander.ask("JOIN FORUM").lower()  # on the panel, never answered
    text = f"You said holiday clubs were hard to book. We made one booking page. ({date.today():%d %B})"

    async def write() -> None:
        client = survey_redis_client(stack.settings.redis_url)
        await UpdateStore(client).set(FORUM.id, text, "alex", date.today())
        await client.close()

    asyncio.run(write())
    done = _cli(stack, "survey", "update", "--survey", FORUM.id, env=channel_env)
    assert done.returncode == 0, done.stderr
    phone.twilio.wait_for(lambda r: r.fields.get("To") == phone.number and text in (r.fields.get("Body") or ""))
    assert not any(text in body for body in phone.twilio.texts_to(bystander.number))
    again = _cli(stack, "survey", "update", "--survey", FORUM.id, env=channel_env)
    assert "sent 0" in again.stdout
    assert sum(text in body for body in phone.twilio.texts_to(phone.number)) == 1
