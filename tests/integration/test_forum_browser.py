"""The forum dashboard in a real browser (Debian's Chromium via playwright) against the running stack (issue #8).

The path the issue asks for: a forum member made with ``python -m bot forum add-user`` goes from ``/forum`` (sent
to the login page) to logging in, seeing a chart with its data table, the themes with a quote, downloading the CSV
and the XLSX (whose rows match the count on the page), and logging out; axe finds nothing serious or critical.

The survey is seeded by ``forum_seed`` (conftest): the Parent Carer Forum survey answered through the running chat.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect

from bot.stack import PROJECT_DIR, Stack

from tests.integration.browser import (DESKTOP, NARROW, has_no_sideways_scroll, launch_chromium,
                                       serious_violations)

pytestmark = pytest.mark.integration

USER = "forum.tester"
SURVEY_ID = "parent_carer_forum"
# The first survey page makes the figures (reads, themes, aggregates): give it longer than a click.
FIGURES_TIMEOUT_MS = 60_000
ADD_USER_TIMEOUT_SECONDS = 60
LOGIN_URL = re.compile(r"/forum/login(\?|$)")


@pytest.fixture(scope="module")
def forum_user(stack: Stack, sensitive: Set[str]) -> Tuple[str, str]:
    """A forum member made the way an administrator would: ``python -m bot forum add-user NAME``."""
    password = "pw-" + secrets.token_urlsafe(18)
    sensitive.add(password)  # the privacy audit checks it reached no log and no Redis value
    env = dict(os.environ, REDIS_URL=stack.settings.redis_url)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "forum", "add-user", USER, "--password-stdin"],
        input=password + "\n", env=env, cwd=PROJECT_DIR, capture_output=True, text=True,
        timeout=ADD_USER_TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr
    return USER, password


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_chromium()


def _new_page(browser: Browser, viewport: Dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop width."""
    yield from _new_page(browser, DESKTOP)


@pytest.fixture
def narrow_page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context at 320 px, a small phone."""
    yield from _new_page(browser, NARROW)


def _log_in(page: Page, user: str, password: str) -> None:
    expect(page).to_have_url(LOGIN_URL)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _download(page: Page, link_name: str, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    download = info.value
    assert re.fullmatch(rf"{SURVEY_ID}-\d{{4}}-\d{{2}}-\d{{2}}\.\w+", download.suggested_filename), \
        download.suggested_filename
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return target


def _csv_rows(path: Path) -> List[List[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row for row in csv.reader(handle) if row]


def _xlsx_responses(path: Path) -> List[Tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return [row for row in workbook["Responses"].iter_rows(values_only=True) if any(v is not None for v in row)]
    finally:
        workbook.close()


def test_forum_without_a_session_goes_to_login(page: Page, web_url: str) -> None:
    page.goto(web_url + "/forum")

    expect(page).to_have_url(re.compile(r"/forum/login\?next=(%2F|/)forum$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")


def test_member_logs_in_reads_results_and_themes_downloads_and_logs_out(
        page: Page, web_url: str, forum_user: Tuple[str, str], forum_seed: Any, tmp_path: Path) -> None:
    """The issue's path, from the login page to the XLSX, and out again."""
    user, password = forum_user
    page.goto(f"{web_url}/forum/surveys/{forum_seed.survey_id}")
    assert serious_violations(page) == [], "login page"

    _log_in(page, user, password)

    expect(page).to_have_url(re.compile(rf"/forum/surveys/{forum_seed.survey_id}$"), timeout=FIGURES_TIMEOUT_MS)
    expect(page.get_by_text(f"Logged in as {user}")).to_be_visible()
    # The total is published unless a small week would be given away by it ("not shown"); then the files say it.
    shown = page.locator("#response-count").inner_text()
    assert re.fullmatch(r"\d+|fewer than \d+|not shown", shown), shown
    chart = page.locator("main svg").first
    expect(chart).to_be_visible()
    assert page.locator("main svg").count() >= 1
    assert page.locator("main table").count() >= 1  # every chart's text alternative
    expect(page.locator("main table").first).to_be_attached()
    assert serious_violations(page) == [], "survey page"

    csv_rows = _csv_rows(_download(page, "Responses (CSV)", tmp_path))
    xlsx_rows = _xlsx_responses(_download(page, "Workbook (Excel, XLSX)", tmp_path))
    responses = len(csv_rows) - 1  # a header, then one row per response
    assert responses >= forum_seed.responses
    assert len(xlsx_rows) - 1 == responses
    assert list(xlsx_rows[0]) == csv_rows[0]  # the same columns in both
    if shown.isdigit():
        assert int(shown) == responses

    page.get_by_role("link", name="Themes and quotes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Themes and quotes")
    expect(page.locator("main blockquote").first).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/forum/login\?logged_out=1$"))
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    page.goto(web_url + "/forum")
    expect(page).to_have_url(LOGIN_URL)


def test_you_said_we_did_update_shows_on_the_report(page: Page, web_url: str, forum_user: Tuple[str, str],
                                                    forum_seed: Any) -> None:
    user, password = forum_user
    text = "You said the plans were written before the meeting. We now share a draft a week before."
    page.goto(f"{web_url}/forum/surveys/{forum_seed.survey_id}")
    _log_in(page, user, password)
    expect(page).to_have_url(re.compile(rf"/forum/surveys/{forum_seed.survey_id}$"), timeout=FIGURES_TIMEOUT_MS)

    page.get_by_label(re.compile(r"(Write|Change) the update")).fill(text)
    page.get_by_role("button", name="Save the update").click()

    expect(page.get_by_text("Your update is saved.")).to_be_visible(timeout=FIGURES_TIMEOUT_MS)
    expect(page.locator(".forum-report").get_by_text(text)).to_be_visible()


def test_login_page_fits_a_phone(narrow_page: Page, web_url: str) -> None:
    narrow_page.goto(web_url + "/forum/login")

    assert has_no_sideways_scroll(narrow_page)
    for element in (narrow_page.get_by_label("User name"), narrow_page.get_by_label("Password"),
                    narrow_page.get_by_role("button", name="Log in")):
        expect(element).to_be_in_viewport()
        box = element.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"]
