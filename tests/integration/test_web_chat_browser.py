"""The web chat page in a real browser (Debian's Chromium via playwright) against the running web app and Rasa.

Needs a ``web_url`` fixture (from ``tests/integration/conftest.py``) giving the base URL of a running web app. The
tests use playwright's sync API, so that app must run in another process or thread, not on this test's event loop.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.integration.browser import (DESKTOP, NARROW, has_no_sideways_scroll, launch_chromium,
                                       serious_violations)

pytestmark = pytest.mark.integration

# Rasa's first answer after start-up can be slow (model warm-up, action server), hence the long wait for replies.
REPLY_TIMEOUT_MS = 60_000
GREETING = "hello"
QUESTION = "what is HAF"
# Enough to pass the conversation log and the links and buttons of a few replies on the way to the message box.
MAX_TABS = 40

BOT_MESSAGES = "#chat-log .msg--bot"
USER_MESSAGES = "#chat-log .msg--user"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module; each test gets its own context, so its own sessionStorage and sender id."""
    yield from launch_chromium()


def _open_page(browser: Browser, web_url: str, viewport: Dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(web_url + "/")
    # The welcome line is added by chat.js, so seeing it means the script loaded and ran.
    expect(page.locator(BOT_MESSAGES).first).to_contain_text("EHC needs assessments")
    yield page
    context.close()


@pytest.fixture
def page(browser: Browser, web_url: str) -> Iterator[Page]:
    """The chat page at desktop width, welcome line shown."""
    yield from _open_page(browser, web_url, DESKTOP)


@pytest.fixture
def narrow_page(browser: Browser, web_url: str) -> Iterator[Page]:
    """The chat page at 320 px, the narrowest width WCAG asks us to support without sideways scrolling."""
    yield from _open_page(browser, web_url, NARROW)


def _tab_to_message_box(page: Page) -> None:
    """Reach the message box with the Tab key alone, as a keyboard user would."""
    for _ in range(MAX_TABS):
        if page.evaluate("document.activeElement && document.activeElement.id") == "chat-input":
            return
        page.keyboard.press("Tab")
    pytest.fail("The message box could not be reached with the Tab key")


def _ask_by_keyboard(page: Page, question: str) -> Locator:
    """Type a question and press Enter; return the assistant's first new message once it appears."""
    replies_before = page.locator(BOT_MESSAGES).count()
    _tab_to_message_box(page)
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    expect(page.locator(USER_MESSAGES).last).to_have_text(re.compile(re.escape(question)))
    reply = page.locator(BOT_MESSAGES).nth(replies_before)
    expect(reply).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    return reply


def test_keyboard_question_gets_a_reply(page: Page) -> None:
    """Typing "what is HAF" and pressing Enter, with no mouse, brings an answer that says HAF is free."""
    reply = _ask_by_keyboard(page, QUESTION)

    expect(reply).to_contain_text(re.compile("free", re.IGNORECASE), timeout=REPLY_TIMEOUT_MS)
    expect(page.locator("#chat-status")).to_have_text("")  # "typing…" has gone
    expect(page.locator("#chat-input")).to_be_focused()  # ready for the next question


def test_no_serious_accessibility_violations(page: Page) -> None:
    """axe-core finds nothing serious or critical, on the fresh page and with a reply (links, buttons) shown."""
    assert serious_violations(page) == []

    _ask_by_keyboard(page, QUESTION)

    assert serious_violations(page) == []


def test_page_fits_320px_without_sideways_scroll(narrow_page: Page) -> None:
    """At 320 px nothing scrolls sideways and the message box and Send button are fully on screen, reply or not."""
    page = narrow_page
    for when in ("before a reply", "after a reply"):
        assert has_no_sideways_scroll(page), f"horizontal scroll at 320 px {when}"
        for element in (page.get_by_label("Your message"), page.get_by_role("button", name="Send")):
            expect(element).to_be_visible()
            expect(element).to_be_in_viewport()
            box = element.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], when
        if when == "before a reply":
            _ask_by_keyboard(page, QUESTION)


def test_interactive_elements_show_a_focus_outline(page: Page) -> None:
    """Keyboard users can see where they are: the message box and the Send button draw an outline when focused."""
    _tab_to_message_box(page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    for element in (page.locator("#chat-input"), page.locator("#chat-send")):
        element.focus()
        style = element.evaluate("e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]")
        assert style[0] != "none" and style[1] != "0px", style


def test_reply_buttons_are_real_buttons(page: Page) -> None:
    """Choices in a reply are <button>s; pressing one shows its title as the user's message and gets an answer."""
    _ask_by_keyboard(page, GREETING)  # the greeting offers the topics as buttons
    choices = page.locator("#chat-log .msg--bot .msg__buttons > *")
    expect(choices.first).to_be_visible(timeout=REPLY_TIMEOUT_MS)

    tags = choices.evaluate_all("nodes => nodes.map(n => n.tagName)")
    assert set(tags) == {"BUTTON"}

    first = choices.first
    title = first.inner_text()
    replies_before = page.locator(BOT_MESSAGES).count()
    first.focus()
    page.keyboard.press("Enter")

    expect(page.locator(USER_MESSAGES).last).to_have_text(re.compile(re.escape(title)))
    expect(page.locator(BOT_MESSAGES).nth(replies_before)).to_be_visible(timeout=REPLY_TIMEOUT_MS)


def test_have_your_say_links_start_a_survey_in_the_chat(page: Page) -> None:
    """Issue #7: the page lists the open surveys; following one starts it in the chat with its privacy notice and
    an explicit yes, and a press of "Yes, start" asks the first question."""
    links = page.locator("#survey-links a")
    expect(links.first).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Strong Voices"))).to_be_visible()
    page.get_by_role("link", name=re.compile("Strong Voices")).click()
    expect(page.locator(USER_MESSAGES).last).to_contain_text("Take part in the survey")
    expect(page.locator(BOT_MESSAGES).last).to_contain_text("delete my data", timeout=REPLY_TIMEOUT_MS)
    page.get_by_role("button", name=re.compile("^Yes")).last.click()
    expect(page.locator(BOT_MESSAGES).last).to_contain_text("Question 1", timeout=REPLY_TIMEOUT_MS)
