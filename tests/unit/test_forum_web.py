"""The forum dashboard (``/forum`` in ``bot.web.app.create_app``) through aiohttp's test client, on a real Redis.

Only the figures are a stand-in (``FakeFigures``: a small ``SurveyResults`` made by hand, read from the real survey
store's counts): sessions, accounts, the login limit, the audit log and the updates are the real ones on the test
Redis. What is checked is what a forum member (or someone trying to get in) would notice.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from markupsafe import Markup

import bot.web.forum as forum_web
from bot.forum.accounts import AccountStore
from bot.forum.results import SMALL, Figure, QuestionResult, Row, SurveyResults, Update
from bot.privacy.hashing import respondent_id
from bot.settings import Settings
from bot.stack import free_port
from bot.surveys.definitions import load_surveys
from bot.surveys.store import DAY_SECONDS, SurveyStore, redis_client
from bot.web.app import CONTENT_SECURITY_POLICY, create_app
from bot.web.forum import Backend, download_name, safe_next

USER = "sam.jones"
PASSWORD = "correct horse battery"
SURVEY_ID = "parent_carer_forum"
OTHER_SURVEY_ID = "strong_voices"
SURVEY_PAGE = f"/forum/surveys/{SURVEY_ID}"
# What the stand-in's download holds as an "answer": it must never reach the audit log.
ANSWER_MARKER = "Respite saved our summer"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


class FakeExportError(ValueError):
    """Stands in for bot.forum.export.ExportError."""


@dataclass(frozen=True)
class FakeOptions:
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    closed_only: bool = False
    threshold: int = 5


@dataclass
class FakeExport:
    results: SurveyResults
    survey: Any


@dataclass
class FakeFigures:
    """The figures side of the dashboard, small and predictable; it reads the real store's response count."""

    calls: List[Tuple[str, Optional[date], Optional[date], Optional[Update]]] = field(default_factory=list)
    fail: Optional[Exception] = None

    async def build_export(self, store: SurveyStore, survey: Any, options: FakeOptions, *, classifier: Any,
                           update: Optional[Update]) -> FakeExport:
        self.calls.append((survey.id, options.date_from, options.date_to, update))
        if self.fail is not None:
            raise self.fail
        count = await store.response_count(survey.id)
        responses = Figure(count) if count >= options.threshold else Figure(None, hidden=SMALL)
        question = QuestionResult(
            id="help_right_time", text="My child got the right help at the right time.", kind="statement",
            area="Access", answered=responses,
            rows=(Row("agree", "Agree", responses), Row("disagree", "Disagree", Figure(None, hidden=SMALL))),
        )
        results = SurveyResults(
            survey_id=survey.id, title=survey.title, audience=survey.audience, threshold=options.threshold,
            generated=datetime.now(timezone.utc), date_from=options.date_from, date_to=options.date_to,
            closed_only=False, opens=survey.opens, closes=survey.closes, responses=responses,
            questions=(question,), update=update,
        )
        return FakeExport(results=results, survey=survey)

    def backend(self) -> Backend:
        return Backend(
            build_export=self.build_export, export_options=FakeOptions, export_error=FakeExportError,
            downloads={
                "csv": (_write_csv, "text/csv; charset=utf-8", ".csv"),
                "summary.csv": (_write_csv, "text/csv; charset=utf-8", "_summary.csv"),
                "xlsx": (_write_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
            },
            load_classifier=lambda: "classifier", render_fragment=_fragment, render_themes=_themes,
            report_css=".report-chart { fill: #1d70b8; }\n",
        )


def _write_csv(stream: io.BytesIO, data: FakeExport) -> None:
    stream.write(f"responses,answer\r\n{data.results.responses.text(5)},{ANSWER_MARKER}\r\n".encode("utf-8-sig"))


def _write_xlsx(stream: io.BytesIO, data: FakeExport) -> None:
    stream.write(b"PK\x03\x04 not really a workbook")


def _fragment(results: SurveyResults) -> Markup:
    update = results.update.text if results.update else "no update"
    return Markup('<h2>Responses</h2><figure><svg role="img" aria-labelledby="c1"><title id="c1">Answers</title>'
                  '</svg><table><caption>Answers</caption><tr><th>Agree</th><td>{}</td></tr></table></figure>'
                  '<p class="report-update">{}</p>').format(results.responses.text(results.threshold), update)


def _themes(results: SurveyResults) -> Markup:
    return Markup('<h2>Access</h2><blockquote>Waiting lists are too long</blockquote>')


# --- Fixtures and helpers ------------------------------------------------------------------------------------------

@pytest.fixture
def figures() -> FakeFigures:
    return FakeFigures()


@pytest.fixture
def session_key() -> str:
    return Fernet.generate_key().decode()


def _app(monkeypatch: pytest.MonkeyPatch, figures: FakeFigures, settings: Settings) -> Any:
    monkeypatch.setattr(forum_web, "default_backend", figures.backend)
    # Argon2id with cheap parameters: each login here would otherwise spend 0.2 s of CPU on purpose (the real
    # parameters are tested in test_forum_accounts.py).
    monkeypatch.setattr(forum_web, "AccountStore", functools.partial(AccountStore, hasher=FAST))
    return create_app(settings)


async def _client(app: Any) -> TestClient:
    # No cookie jar: each test sends exactly the cookie it means to, as a copied or forged cookie would be sent.
    client = TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=aiohttp.DummyCookieJar())
    await client.start_server()
    return client


@pytest.fixture
async def store_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = redis_client(redis_url)
    yield connection
    await connection.close()


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch, figures: FakeFigures, redis_url: str, session_key: str,
                 store_client: aioredis.Redis) -> AsyncIterator[TestClient]:
    """The whole web app with the dashboard on, and one forum member's account."""
    await AccountStore(store_client, hasher=FAST).add(USER, PASSWORD)
    settings = Settings(redis_url=redis_url, forum_session_key=session_key)
    test_client = await _client(_app(monkeypatch, figures, settings))
    yield test_client
    await test_client.close()


def _cookie(response: aiohttp.ClientResponse) -> Optional[str]:
    morsel = response.cookies.get(forum_web.COOKIE_NAME)
    return morsel.value if morsel is not None and morsel.value else None


def _with(cookie: Optional[str], **headers: str) -> Dict[str, str]:
    if cookie:
        headers["Cookie"] = f"{forum_web.COOKIE_NAME}={cookie}"
    return headers


async def _login(client: TestClient, user: str = USER, password: str = PASSWORD, next_path: str = "/forum",
                 **headers: str) -> aiohttp.ClientResponse:
    return await client.post("/forum/login", data={"username": user, "password": password, "next": next_path},
                             headers=headers, allow_redirects=False)


async def _logged_in(client: TestClient) -> str:
    response = await _login(client)
    assert response.status == 303, await response.text()
    cookie = _cookie(response)
    assert cookie
    return cookie


async def _csrf(client: TestClient, cookie: str, path: str = "/forum") -> str:
    response = await client.get(path, headers=_with(cookie))
    assert response.status == 200
    match = CSRF_FIELD.search(await response.text())
    assert match
    return match.group(1)


async def _seed(store_client: aioredis.Redis, survey_id: str, how_many: int) -> None:
    store = SurveyStore(store_client, retention_seconds=30 * DAY_SECONDS, draft_seconds=DAY_SECONDS)
    survey = load_surveys()[survey_id]
    question = next(q for q in survey.questions if q.kind == "statement")
    for number in range(how_many):
        await store.submit(survey, respondent_id(b"k" * 32, survey_id, f"sender-{number}"),
                           {question.id: "agree"}, submitted=date.today())


# --- Off without a key ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "not a fernet key"])
async def test_dashboard_is_off_without_a_usable_key_and_the_chat_still_works(
        monkeypatch: pytest.MonkeyPatch, figures: FakeFigures, redis_url: str, key: Optional[str]) -> None:
    client = await _client(_app(monkeypatch, figures, Settings(redis_url=redis_url, forum_session_key=key)))
    try:
        for path in ("/forum", "/forum/login", SURVEY_PAGE + "/export.csv"):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 404
            assert "not switched on" in await response.text()
        assert (await client.post("/forum/login", data={"username": USER})).status == 404
        assert (await client.get("/")).status == 200
    finally:
        await client.close()


# --- Logging in and out --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/forum", "/forum/", SURVEY_PAGE, SURVEY_PAGE + "/themes",
                                  SURVEY_PAGE + "/export.csv", SURVEY_PAGE + "?from=2026-11-01"])
async def test_without_a_session_every_page_redirects_to_login(client: TestClient, path: str) -> None:
    response = await client.get(path, allow_redirects=False)

    assert response.status == 302
    location = response.headers["Location"]
    assert urlsplit(location).path == "/forum/login"
    assert parse_qs(urlsplit(location).query)["next"] == [path]
    assert response.headers["Cache-Control"] == "no-store"


async def test_login_page_is_accessible_html_under_the_csp(client: TestClient) -> None:
    response = await client.get("/forum/login?next=/forum/surveys/parent_carer_forum")
    page = await response.text()

    assert response.status == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Cache-Control"] == "no-store"
    assert '<html lang="en-GB">' in page
    assert 'href="#main"' in page and 'id="main"' in page
    assert '<label for="username">' in page and '<label for="password">' in page
    assert 'value="/forum/surveys/parent_carer_forum"' in page
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", page)


async def test_login_redirects_back_with_a_strict_httponly_cookie(client: TestClient) -> None:
    response = await _login(client, next_path=SURVEY_PAGE + "?from=2026-11-01")

    assert response.status == 303
    assert response.headers["Location"] == SURVEY_PAGE + "?from=2026-11-01"
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{forum_web.COOKIE_NAME}=")
    assert "HttpOnly" in set_cookie
    assert "SameSite=Strict" in set_cookie
    assert "Path=/forum" in set_cookie
    assert "Secure" not in set_cookie  # plain HTTP in the test
    assert (await client.get("/forum", headers=_with(_cookie(response)))).status == 200


async def test_cookie_is_secure_behind_an_https_proxy(client: TestClient) -> None:
    response = await _login(client, **{"X-Forwarded-Proto": "https"})

    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("next_path", ["https://evil.example/forum", "//evil.example/forum", "/\\evil.example",
                                       "/chat", "/forum/../admin", "/forum/login", "javascript:alert(1)"])
async def test_login_only_returns_to_a_local_forum_page(client: TestClient, next_path: str) -> None:
    response = await _login(client, next_path=next_path)

    assert response.status == 303
    assert response.headers["Location"] == "/forum"


async def test_wrong_password_is_refused_without_a_session(client: TestClient) -> None:
    response = await _login(client, password="not the password at all")

    assert response.status == 401
    assert "not right" in await response.text()
    assert _cookie(response) is None


async def test_sixth_try_is_refused_even_with_the_right_password(client: TestClient) -> None:
    for _ in range(5):
        assert (await _login(client, password="a wrong password")).status == 401

    response = await _login(client)

    assert response.status == 429
    assert 800 <= int(response.headers["Retry-After"]) <= 900
    page = await response.text()
    assert "try again after" in page and "in about 15 minutes" in page
    assert _cookie(response) is None


async def test_failures_for_many_names_from_one_address_block_the_address(client: TestClient) -> None:
    for number in range(5):
        assert (await _login(client, user=f"guess{number}", password="a wrong password")).status == 401

    assert (await _login(client)).status == 429


async def test_a_success_resets_the_count_for_the_name(client: TestClient, redis_url: str) -> None:
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for _ in range(4):
            await _login(client, password="a wrong password")
        assert (await _login(client)).status == 303
        for key in raw.scan_iter("send:forum:login-failures:address:*"):
            raw.delete(key)  # as if the member came back from another address
        for _ in range(4):
            assert (await _login(client, password="a wrong password")).status == 401
        assert (await _login(client)).status == 303
    finally:
        raw.close()


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
async def test_login_from_another_site_is_refused(client: TestClient, origin: str) -> None:
    response = await _login(client, Origin=origin)

    assert response.status == 403
    assert _cookie(response) is None


async def test_login_from_our_own_page_is_accepted(client: TestClient) -> None:
    own = f"http://{client.server.host}:{client.server.port}"

    assert (await _login(client, Origin=own)).status == 303
    assert (await _login(client, Referer=own + "/forum/login")).status == 303
    assert (await _login(client, Referer="http://evil.example/forum/login")).status == 403


async def test_login_behind_a_proxy_that_passes_on_the_host(client: TestClient) -> None:
    proxied = {"Origin": "https://forum.example.org", "X-Forwarded-Host": "forum.example.org",
               "X-Forwarded-Proto": "https"}

    response = await _login(client, **proxied)

    assert response.status == 303
    assert "Secure" in response.headers["Set-Cookie"]
    assert (await _login(client, Origin="https://evil.example", **{"X-Forwarded-Host": "forum.example.org"})
            ).status == 403


async def test_forged_and_tampered_cookies_redirect_to_login(client: TestClient, session_key: str) -> None:
    cookie = await _logged_in(client)
    tampered = cookie[:-6] + ("A" if cookie[-6] != "A" else "B") + cookie[-5:]
    forged = Fernet(Fernet.generate_key()).encrypt(b"made-up-session-id").decode()
    unknown = Fernet(session_key.encode()).encrypt(b"a-session-that-was-never-made").decode()

    for bad in (tampered, forged, unknown, "garbage"):
        response = await client.get("/forum", headers=_with(bad), allow_redirects=False)
        assert response.status == 302, bad
        assert response.headers["Location"].startswith("/forum/login")


async def test_logout_needs_the_csrf_token_and_ends_the_copied_cookie(client: TestClient) -> None:
    cookie = await _logged_in(client)
    csrf = await _csrf(client, cookie)

    refused = await client.post("/forum/logout", headers=_with(cookie), allow_redirects=False)
    assert refused.status == 403
    wrong = await client.post("/forum/logout", data={"csrf": csrf[:-1] + "x"}, headers=_with(cookie),
                              allow_redirects=False)
    assert wrong.status == 403
    foreign = await client.post("/forum/logout", data={"csrf": csrf},
                                headers=_with(cookie, Origin="http://evil.example"), allow_redirects=False)
    assert foreign.status == 403
    assert (await client.get("/forum", headers=_with(cookie))).status == 200  # still logged in

    response = await client.post("/forum/logout", data={"csrf": csrf}, headers=_with(cookie), allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == "/forum/login?logged_out=1"
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    again = await client.get("/forum", headers=_with(cookie), allow_redirects=False)
    assert again.status == 302 and again.headers["Location"].startswith("/forum/login")
    assert "You have logged out" in await (await client.get("/forum/login?logged_out=1")).text()


async def test_a_new_password_ends_open_sessions(client: TestClient, store_client: aioredis.Redis) -> None:
    cookie = await _logged_in(client)

    await AccountStore(store_client, hasher=FAST).add(USER, "a brand new password", replace=True)

    assert (await client.get("/forum", headers=_with(cookie), allow_redirects=False)).status == 302


# --- Pages ---------------------------------------------------------------------------------------------------------

async def test_survey_list_hides_small_counts(client: TestClient, store_client: aioredis.Redis) -> None:
    await _seed(store_client, SURVEY_ID, 6)
    await _seed(store_client, OTHER_SURVEY_ID, 2)
    cookie = await _logged_in(client)

    page = await (await client.get("/forum", headers=_with(cookie))).text()

    assert "Parent Carer Forum check-in" in page
    assert re.search(r"<dt>Responses</dt><dd>6</dd>", page)
    assert re.search(r"<dt>Responses</dt><dd>fewer than 5</dd>", page)
    assert "Logged in as <strong>sam.jones</strong>" in page


async def test_survey_page_shows_the_report_downloads_and_update_form(client: TestClient) -> None:
    cookie = await _logged_in(client)

    response = await client.get(SURVEY_PAGE + "?from=2026-11-01&to=2026-12-31", headers=_with(cookie))
    page = await response.text()

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "Parent Carer Forum check-in" in page
    assert "<svg" in page and "<table>" in page
    for fmt in ("csv", "summary.csv", "xlsx"):
        assert f'href="{SURVEY_PAGE}/export.{fmt}?from=2026-11-01&amp;to=2026-12-31"' in page
    assert 'value="2026-11-01"' in page and 'value="2026-12-31"' in page
    assert 'action="/forum/surveys/parent_carer_forum/update"' in page and CSRF_FIELD.search(page)
    assert '<link rel="stylesheet" href="/forum/static/report.css">' in page
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", page)


async def test_themes_page(client: TestClient) -> None:
    cookie = await _logged_in(client)

    page = await (await client.get(SURVEY_PAGE + "/themes", headers=_with(cookie))).text()

    assert "Themes and quotes" in page and "Waiting lists are too long" in page


async def test_stylesheets_are_served_as_files_without_a_session(client: TestClient) -> None:
    for path, text in (("/forum/static/forum.css", ".skip-link"), ("/forum/static/report.css", ".report-chart")):
        response = await client.get(path)
        assert response.status == 200
        assert response.content_type == "text/css"
        assert text in await response.text()


async def test_figures_are_cached_per_survey_and_date_range(client: TestClient, figures: FakeFigures) -> None:
    cookie = await _logged_in(client)

    for path in (SURVEY_PAGE, SURVEY_PAGE + "/themes", SURVEY_PAGE + "/export.csv", SURVEY_PAGE):
        assert (await client.get(path, headers=_with(cookie))).status == 200
    assert len(figures.calls) == 1
    assert (await client.get(SURVEY_PAGE + "?from=2026-11-01", headers=_with(cookie))).status == 200
    assert len(figures.calls) == 2


# --- Downloads -----------------------------------------------------------------------------------------------------

async def test_download_is_an_audited_attachment(client: TestClient, redis_url: str, store_client: aioredis.Redis,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    await _seed(store_client, SURVEY_ID, 7)
    cookie = await _logged_in(client)

    with caplog.at_level(logging.INFO):
        response = await client.get(SURVEY_PAGE + "/export.csv?from=2026-11-01", headers=_with(cookie))
    body = await response.read()

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="parent_carer_forum-\d{4}-\d{2}-\d{2}\.csv"', disposition)
    assert ANSWER_MARKER.encode() in body and b"7," in body
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        (_, entry), = raw.xrange("send:forum:audit")
    finally:
        raw.close()
    assert entry["who"] == USER and entry["action"] == "download" and entry["format"] == "csv"
    assert entry["survey"] == SURVEY_ID
    assert entry["params"] == '{"from":"2026-11-01","threshold":5,"to":null}'
    assert ANSWER_MARKER not in str(entry) and "agree" not in str(entry).lower()
    audit_lines = [r.getMessage() for r in caplog.records if r.name == "bot.forum.audit"]
    assert len(audit_lines) == 1 and USER in audit_lines[0] and ANSWER_MARKER not in audit_lines[0]


async def test_xlsx_download_name_and_type(client: TestClient) -> None:
    cookie = await _logged_in(client)

    response = await client.get(SURVEY_PAGE + "/export.xlsx", headers=_with(cookie))

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.headers["Content-Disposition"].endswith('.xlsx"')


async def test_download_without_a_session_is_not_audited(client: TestClient, redis_url: str) -> None:
    response = await client.get(SURVEY_PAGE + "/export.csv", allow_redirects=False)

    assert response.status == 302
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert raw.exists("send:forum:audit") == 0
    finally:
        raw.close()


def test_download_names_are_safe() -> None:
    day = date(2026, 12, 1)
    assert download_name("parent_carer_forum", day, ".xlsx") == "parent_carer_forum-2026-12-01.xlsx"
    assert download_name("parent_carer_forum", day, "_summary.csv") == "parent_carer_forum-2026-12-01_summary.csv"
    assert download_name("a", day, 'x"; evil') == "a-2026-12-01.x___evil"


# --- Malformed requests: a page with the reason, never a 5xx -------------------------------------------------------

@pytest.mark.parametrize("path, status, words", [
    (SURVEY_PAGE + "?from=2026-02-30", 400, "real date"),
    (SURVEY_PAGE + "?from=yesterday", 400, "real date"),
    (SURVEY_PAGE + "?to=2026-1-1", 400, "real date"),
    (SURVEY_PAGE + "?from=2026-12-01&to=2026-11-01", 400, "before the start date"),
    (SURVEY_PAGE + "/export.csv?to=31/12/2026", 400, "real date"),
    (SURVEY_PAGE + "/export.exe", 404, "format is not offered"),
    (SURVEY_PAGE + "/export.", 404, "no page"),
    ("/forum/surveys/no_such_survey", 404, "no survey"),
    ("/forum/surveys/no_such_survey/export.csv", 404, "no survey"),
    ("/forum/surveys/%00%3Cscript%3E", 404, "no survey"),
    ("/forum/nothing/here", 404, "no page"),
])
async def test_malformed_requests_get_a_plain_page(client: TestClient, path: str, status: int, words: str) -> None:
    cookie = await _logged_in(client)

    response = await client.get(path, headers=_with(cookie))
    page = await response.text()

    assert response.status == status, page
    assert words in page
    assert "Traceback" not in page and "<script" not in page


async def test_export_errors_are_400_with_the_reason(client: TestClient, figures: FakeFigures) -> None:
    figures.fail = FakeExportError("the survey is still open")
    cookie = await _logged_in(client)

    response = await client.get(SURVEY_PAGE, headers=_with(cookie))

    assert response.status == 400
    assert "The survey is still open." in await response.text()


async def test_an_unexpected_failure_is_a_calm_500_page(client: TestClient, figures: FakeFigures) -> None:
    figures.fail = RuntimeError("a bug with a secret inside")
    cookie = await _logged_in(client)

    response = await client.get(SURVEY_PAGE, headers=_with(cookie))
    page = await response.text()

    assert response.status == 500
    assert "Something went wrong" in page and "secret" not in page and "Traceback" not in page
    figures.fail = None
    assert (await client.get(SURVEY_PAGE, headers=_with(cookie))).status == 200  # the failure was not cached


async def test_huge_forms_are_refused_plainly(client: TestClient) -> None:
    huge = await client.post("/forum/login", data={"username": "x" * (2 * 1024 * 1024), "password": "y"},
                             allow_redirects=False)
    assert huge.status == 413
    assert "too large" in await huge.text()

    long_name = await client.post("/forum/login", data={"username": "x" * 20_000, "password": "y"},
                                  allow_redirects=False)
    assert long_name.status == 400

    cookie = await _logged_in(client)
    csrf = await _csrf(client, cookie)
    long_update = await client.post(SURVEY_PAGE + "/update", data={"csrf": csrf, "text": "x" * 30_000},
                                    headers=_with(cookie), allow_redirects=False)
    assert long_update.status == 400


async def test_a_broken_form_body_is_refused_plainly(client: TestClient) -> None:
    response = await client.post("/forum/login", data=b"--x\r\nnot multipart at all",
                                 headers={"Content-Type": "multipart/form-data; boundary=x"}, allow_redirects=False)

    assert 400 <= response.status < 500


async def test_redis_down_is_a_calm_503(monkeypatch: pytest.MonkeyPatch, figures: FakeFigures,
                                        session_key: str) -> None:
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", forum_session_key=session_key)
    client = await _client(_app(monkeypatch, figures, settings))
    cookie = Fernet(session_key.encode()).encrypt(b"some-session-id").decode()
    try:
        for response in (await client.get("/forum", headers=_with(cookie)),
                         await _login(client)):
            page = await response.text()
            assert response.status == 503
            assert "cannot be reached right now" in page and "Traceback" not in page
    finally:
        await client.close()


# --- "You said, we did" --------------------------------------------------------------------------------------------

async def test_update_is_saved_shown_and_passed_to_the_report(client: TestClient, figures: FakeFigures,
                                                              redis_url: str) -> None:
    cookie = await _logged_in(client)
    csrf = await _csrf(client, cookie, SURVEY_PAGE)

    response = await client.post(SURVEY_PAGE + "/update",
                                 data={"csrf": csrf, "text": "You said the wait was too long. We hired two staff."},
                                 headers=_with(cookie), allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == SURVEY_PAGE + "?saved=1#you-said-we-did"
    page = await (await client.get(SURVEY_PAGE + "?saved=1", headers=_with(cookie))).text()
    assert "Your update is saved" in page
    assert page.count("You said the wait was too long. We hired two staff.") >= 2  # the form and the report
    assert "update written by sam.jones" in page
    assert figures.calls[-1][3] is not None and figures.calls[-1][3].author == USER
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        actions = [fields["action"] for _, fields in raw.xrange("send:forum:audit")]
    finally:
        raw.close()
    assert actions == ["update"]


async def test_update_needs_the_csrf_token(client: TestClient, redis_url: str) -> None:
    cookie = await _logged_in(client)

    response = await client.post(SURVEY_PAGE + "/update", data={"text": "An update."}, headers=_with(cookie),
                                 allow_redirects=False)

    assert response.status == 403
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert raw.exists(f"send:forum:update:{SURVEY_ID}") == 0
    finally:
        raw.close()


async def test_update_without_a_session_goes_to_login(client: TestClient) -> None:
    response = await client.post(SURVEY_PAGE + "/update", data={"text": "An update."}, allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"].startswith("/forum/login")


async def test_an_update_that_cannot_be_sent_comes_back_with_the_reason(client: TestClient) -> None:
    cookie = await _logged_in(client)
    csrf = await _csrf(client, cookie, SURVEY_PAGE)

    response = await client.post(SURVEY_PAGE + "/update", data={"csrf": csrf, "text": "We <b>did</b> it"},
                                 headers=_with(cookie), allow_redirects=False)
    page = await response.text()

    assert response.status == 400
    assert "plain text" in page
    assert "We &lt;b&gt;did&lt;/b&gt; it</textarea>" in page  # kept to correct, and escaped
    assert 'aria-invalid="true"' in page


# --- With the real figures -----------------------------------------------------------------------------------------

async def test_the_real_figures_page_and_csv(monkeypatch: pytest.MonkeyPatch, redis_url: str, session_key: str,
                                             store_client: aioredis.Redis) -> None:
    """The same pages with the real bot.forum.export and bot.forum.report behind them."""
    monkeypatch.setattr(forum_web, "AccountStore", functools.partial(AccountStore, hasher=FAST))
    await AccountStore(store_client, hasher=FAST).add(USER, PASSWORD)
    await _seed(store_client, SURVEY_ID, 6)
    client = await _client(create_app(Settings(redis_url=redis_url, forum_session_key=session_key)))
    try:
        cookie = await _logged_in(client)
        page = await client.get(SURVEY_PAGE, headers=_with(cookie))
        assert page.status == 200, await page.text()
        html = await page.text()
        assert "<svg" in html and "<table" in html
        assert (await client.get(SURVEY_PAGE + "/themes", headers=_with(cookie))).status == 200
        download = await client.get(SURVEY_PAGE + "/export.csv", headers=_with(cookie))
        assert download.status == 200
        rows = [row for row in csv.reader(io.StringIO((await download.read()).decode("utf-8-sig"))) if row]
        assert len(rows) == 1 + 6
    finally:
        await client.close()


async def test_a_broken_backend_turns_the_dashboard_off_not_the_chat(monkeypatch: pytest.MonkeyPatch,
                                                                     redis_url: str, session_key: str) -> None:
    def broken() -> Backend:
        raise ImportError("no module named bot.forum.something")

    monkeypatch.setattr(forum_web, "default_backend", broken)
    client = await _client(create_app(Settings(redis_url=redis_url, forum_session_key=session_key)))
    try:
        assert (await client.get("/forum/login")).status == 404
        assert (await client.get("/")).status == 200
    finally:
        await client.close()


@pytest.mark.parametrize("value, expected", [
    ("/forum/surveys/parent_carer_forum?from=2026-11-01", "/forum/surveys/parent_carer_forum?from=2026-11-01"),
    ("/forum", "/forum"), ("/forum/", "/forum/"), ("/forumx", "/forum"), ("/forum/./x", "/forum"),
    ("https://evil.example/forum", "/forum"), ("/forum/\x00", "/forum"), (None, "/forum"), ("x" * 600, "/forum"),
])
def test_safe_next(value: Any, expected: str) -> None:
    assert safe_next(value) == expected
