"""The Parent Carer Forum's dashboard at ``/forum``: log in, read each survey's results, download them, and write
the "you said, we did" update.

Every page but the login needs a session (``bot.forum.sessions``); without one a ``GET`` is sent to the login page
and comes back afterwards. The pages are server-rendered HTML (Jinja2, escaped by default) with no script and no
inline style, so they work under the app's Content-Security-Policy; charts are SVG from ``bot.forum.report``, each
with a data table. Every download is recorded in the audit log (``bot.forum.audit``) before it is handed out.

The dashboard is off (``/forum`` answers 404 with a plain page) when FORUM_SESSION_KEY is unset or is not a Fernet
key, or when the export and report modules cannot be loaded (logged as an error): the chat must keep working on a
server that has no forum.

Failures become a calm page, never a traceback: an unknown survey or format 404, a bad date or form 400, a form
without its token 403, too many failed logins 429, Redis down 503, anything unexpected 500 (logged).

Routes::

    GET  /forum/login                     the login form (?next=/forum/... to come back to)
    POST /forum/login                     check the password (rate-limited), start a session
    POST /forum/logout                    end the session (needs the session's CSRF token)
    GET  /forum                           the surveys and their response counts
    GET  /forum/surveys/{id}              the report: charts, statements, downloads, "you said, we did" form
    GET  /forum/surveys/{id}/themes       the themes of the free-text answers, with quotes
    GET  /forum/surveys/{id}/export.{fmt} a download (csv, summary.csv, dictionary.csv, xlsx, json, html)
    POST /forum/surveys/{id}/update       save the "you said, we did" update (needs the CSRF token)
    GET  /forum/static/forum.css          the dashboard's styles; /forum/static/report.css the report's
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit

import jinja2
import redis.asyncio as aioredis
from aiohttp import web
from cryptography.fernet import Fernet

from bot.forum.accounts import AccountStore, InvalidUserName, normalise_name
from bot.forum.audit import AuditLog
from bot.forum.charts import long_date
from bot.forum.sessions import LoginLimiter, Session, SessionStore
from bot.forum.updates import MAX_UPDATE_CHARS, UpdateError, UpdateStore
from bot.settings import Settings
from bot.surveys.definitions import SURVEY_TIMEZONE, load_surveys, survey_today
from bot.surveys.store import DAY_SECONDS, SurveyStore, SurveyStoreUnavailable, redis_client

logger = logging.getLogger(__name__)

PREFIX = "/forum"
LOGIN_PATH = PREFIX + "/login"
COOKIE_NAME = "forum_session"
TEMPLATES_DIR = Path(__file__).parent / "templates"
FORUM_CSS_FILE = Path(__file__).parent / "static" / "forum.css"
# A survey's figures from 100,000 responses take seconds; a member clicking between its pages should not wait again.
RESULTS_CACHE_SECONDS = 60.0
RESULTS_CACHE_ENTRIES = 32
MAX_NEXT_CHARS = 512
MAX_USER_NAME_FIELD = 200
MAX_PASSWORD_FIELD = 2048
MAX_UPDATE_FIELD = 4 * MAX_UPDATE_CHARS
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
SAFE_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")
# Our own pages send their origin on a form post (same-origin referrer policy), so a "null" origin is someone else's.
REFERRER_POLICY = "same-origin"

DOWNLOAD_LABELS = {
    "csv": "Responses (CSV)",
    "summary.csv": "Summary tables (CSV)",
    "dictionary.csv": "Data dictionary (CSV)",
    "xlsx": "Workbook (Excel, XLSX)",
    "json": "All figures (JSON)",
    "html": "Report (web page, HTML)",
}

SENTENCE_NOT_FOUND = "There is no page at this address."
SENTENCE_NO_SURVEY = "There is no survey with that name. Please choose one from the list of surveys."
SENTENCE_NO_FORMAT = "That download format is not offered. Please use one of the download buttons."
SENTENCE_OFF = "The Parent Carer Forum dashboard is not switched on for this site."
SENTENCE_UNAVAILABLE = ("The survey results cannot be reached right now. Nothing has been lost: please try again "
                        "in a few minutes.")
SENTENCE_BROKEN = "Something went wrong on our side and the page could not be made. Please try again in a minute."
SENTENCE_FOREIGN = "This form was sent from another website, so it was not accepted."
SENTENCE_EXPIRED = ("This form had expired, so nothing was changed. Please go back, reload the page and try "
                    "again.")
SENTENCE_TOO_LARGE = "The form was too large to read. Please send less text."
SENTENCE_BAD_FORM = "The form could not be read. Please reload the page and try again."
SENTENCE_WRONG_PASSWORD = "The user name or password is not right. Please check them and try again."
SENTENCE_LOGGED_OUT = "You have logged out."
SENTENCE_SAVED = "Your update is saved. It shows on the report."


class PageError(Exception):
    """A request that ends in a plain page with one sentence, at this HTTP status."""

    def __init__(self, status: int, sentence: str, *, title: Optional[str] = None,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence
        self.title = title
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Backend:
    """What the dashboard takes from the results side, in one place so tests can give small figures instead.

    ``downloads`` maps a format's URL name to an object with ``write(stream, data)``, ``media_type`` and
    ``suffix`` (``bot.forum.export.Format``).
    """

    build_export: Callable[..., Awaitable[Any]]
    export_options: Callable[..., Any]
    export_error: type
    downloads: Mapping[str, Any]
    load_classifier: Callable[[], Any]
    render_fragment: Callable[[Any], Any]
    render_themes: Callable[[Any], Any]
    report_css: str


def default_backend() -> Backend:
    """The real export, formats and report (imported here, so the chat app never loads them)."""
    from bot.forum import export, report

    return Backend(build_export=export.build_export, export_options=export.ExportOptions,
                   export_error=export.ExportError, downloads=export.DOWNLOADS, load_classifier=export.load_classifier,
                   render_fragment=report.render_fragment, render_themes=report.render_themes,
                   report_css=report.REPORT_CSS)


class ResultsCache:
    """A survey's computed export for a short while, shared by concurrent requests for the same figures.

    Keyed by (survey, from, to). A failed computation is not kept, so the next request tries again.
    """

    def __init__(self, seconds: float = RESULTS_CACHE_SECONDS, max_entries: int = RESULTS_CACHE_ENTRIES) -> None:
        self._seconds = seconds
        self._max = max_entries
        self._entries: Dict[Tuple[Any, ...], Tuple[float, asyncio.Future]] = {}

    async def get(self, key: Tuple[Any, ...], make: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        held = self._entries.get(key)
        if held is None or now - held[0] > self._seconds:
            for old in [k for k, (made, _) in self._entries.items() if now - made > self._seconds]:
                del self._entries[old]
            while len(self._entries) >= self._max:
                del self._entries[next(iter(self._entries))]
            task = asyncio.ensure_future(make())
            self._entries[key] = held = (now, task)
            task.add_done_callback(lambda done, key=key: self._drop_failed(key, done))
        # shield: a member closing the tab must not cancel figures another request is waiting for.
        return await asyncio.shield(held[1])

    def _drop_failed(self, key: Tuple[Any, ...], done: asyncio.Future) -> None:
        if done.cancelled() or done.exception() is not None:
            held = self._entries.get(key)
            if held is not None and held[1] is done:
                del self._entries[key]

    def forget(self, survey_id: str) -> None:
        """Drop a survey's figures (its update changed)."""
        for key in [k for k in self._entries if k[0] == survey_id]:
            del self._entries[key]


@dataclass
class Forum:
    """The dashboard's state for one app: its settings, templates, and (once started) its stores."""

    settings: Settings
    session_key: bytes
    surveys: Mapping[str, Any]
    backend: Backend
    templates: jinja2.Environment
    forum_css: str
    cache: ResultsCache = field(default_factory=ResultsCache)
    redis: Optional[aioredis.Redis] = None
    accounts: Optional[AccountStore] = None
    sessions: Optional[SessionStore] = None
    limiter: Optional[LoginLimiter] = None
    audit: Optional[AuditLog] = None
    updates: Optional[UpdateStore] = None
    store: Optional[SurveyStore] = None
    classifier: Any = None  # bot.forum.themes.ThemeClassifier, loaded at the first figures

    def open(self, client: aioredis.Redis) -> None:
        """Build the stores on one Redis client (the cleanup context opens and closes it)."""
        self.redis = client
        self.accounts = AccountStore(client)
        self.sessions = SessionStore(client, self.session_key, hours=self.settings.forum_session_hours)
        self.limiter = LoginLimiter(client, self.session_key)
        self.audit = AuditLog(client)
        self.updates = UpdateStore(client, retention_days=self.settings.response_retention_days)
        self.store = SurveyStore(client, retention_seconds=self.settings.response_retention_days * DAY_SECONDS,
                                 draft_seconds=self.settings.draft_expiry_days * DAY_SECONDS)


FORUM_KEY = web.AppKey("forum", Forum)


def add_forum_routes(app: web.Application, settings: Settings, *, backend: Optional[Backend] = None,
                     surveys: Optional[Mapping[str, Any]] = None) -> None:
    """Mount the dashboard on ``app`` under ``/forum``; or, without a usable FORUM_SESSION_KEY, a plain 404.

    Args:
        app: the web app (not yet started).
        settings: Redis, FORUM_SESSION_KEY, the session length and the suppression threshold.
        backend: where figures come from (default: ``bot.forum.export`` and ``bot.forum.report``).
        surveys: survey id -> definition (default: ``load_surveys()``).
    """
    app.on_response_prepare.append(_forum_headers)
    key = _session_key(settings)
    if key is None:
        _mount_off(app)
        return
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters["day"] = long_date  # "1 November 2026", as in the report
    if backend is None:
        try:
            backend = default_backend()
        except Exception:  # a broken install must cost the forum its dashboard, never the families their chat
            logger.exception("the forum's export or report could not be loaded: the forum dashboard at %s is off",
                             PREFIX)
            _mount_off(app)
            return
    forum = Forum(settings=settings, session_key=key, surveys=surveys if surveys is not None else load_surveys(),
                  backend=backend, templates=templates, forum_css=FORUM_CSS_FILE.read_text(encoding="utf-8"))
    app[FORUM_KEY] = forum
    app.cleanup_ctx.append(_forum_redis)
    app.middlewares.append(_forum_errors)
    router = app.router
    router.add_get(LOGIN_PATH, _login_page)
    router.add_post(LOGIN_PATH, _login)
    router.add_post(PREFIX + "/logout", _logout)
    router.add_get(PREFIX, _index)
    router.add_get(PREFIX + "/", _index)
    router.add_get(PREFIX + "/static/forum.css", _forum_css)
    router.add_get(PREFIX + "/static/report.css", _report_css)
    router.add_get(PREFIX + "/surveys/{survey_id}", _survey_page)
    router.add_get(PREFIX + "/surveys/{survey_id}/themes", _themes_page)
    router.add_get(PREFIX + "/surveys/{survey_id}/export.{fmt}", _export)
    router.add_post(PREFIX + "/surveys/{survey_id}/update", _update)


def _mount_off(app: web.Application) -> None:
    """Every /forum address answers 404 with one plain sentence."""
    app.router.add_route("*", PREFIX, _dashboard_off)
    app.router.add_route("*", PREFIX + "/{tail:.*}", _dashboard_off)


def _session_key(settings: Settings) -> Optional[bytes]:
    """FORUM_SESSION_KEY as a Fernet key, or None (logged) when it is unset or unusable: the dashboard is off."""
    if not settings.forum_session_key:
        logger.info("FORUM_SESSION_KEY is not set: the forum dashboard at %s is off", PREFIX)
        return None
    try:
        key = settings.require_forum_session_key()
        Fernet(key)
    except (ValueError, UnicodeError):
        logger.error("FORUM_SESSION_KEY is not a Fernet key (make one with cryptography's "
                     "Fernet.generate_key()): the forum dashboard at %s is off", PREFIX)
        return None
    return key


async def _forum_redis(app: web.Application) -> AsyncIterator[None]:
    """One Redis client for the dashboard's lifetime, closed on shutdown (no connection is made until used)."""
    client = redis_client(app[FORUM_KEY].settings.redis_url)
    app[FORUM_KEY].open(client)
    try:
        yield
    finally:
        await client.close()


def _is_forum(request: web.Request) -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


async def _forum_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Dashboard pages hold results and a session: never cached; and our own forms show their origin."""
    if _is_forum(request):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = REFERRER_POLICY


async def _dashboard_off(request: web.Request) -> web.Response:
    return web.Response(text=SENTENCE_OFF + "\n", status=404, content_type="text/plain", charset="utf-8")


# --- Errors --------------------------------------------------------------------------------------------------------

_HTTP_SENTENCES = {
    404: SENTENCE_NOT_FOUND,
    405: "This address does not take that kind of request.",
    413: SENTENCE_TOO_LARGE,
}


@web.middleware
async def _forum_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                        ) -> web.StreamResponse:
    """Turn every failure under /forum into a calm page with the right status (redirects pass through)."""
    if not _is_forum(request):
        return await handler(request)
    try:
        return await handler(request)
    except PageError as error:
        return _error_page(request, error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        sentence = _HTTP_SENTENCES.get(error.status, SENTENCE_BAD_FORM if error.status < 500 else SENTENCE_BROKEN)
        headers = {name: value for name, value in error.headers.items() if name.lower() == "allow"}
        return _error_page(request, PageError(error.status, sentence, headers=headers))
    except SurveyStoreUnavailable as error:
        logger.warning("forum dashboard: %s", error)
        return _error_page(request, PageError(503, SENTENCE_UNAVAILABLE, title="Results not available",
                                              headers={"Retry-After": "60"}))
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("forum dashboard: %s %s failed", request.method, request.path)
        return _error_page(request, PageError(500, SENTENCE_BROKEN, title="Something went wrong"))


_TITLES = {400: "Please check the form", 403: "Not accepted", 404: "Page not found", 413: "Too much to read",
           429: "Too many tries"}


def _error_page(request: web.Request, error: PageError) -> web.Response:
    title = error.title or _TITLES.get(error.status, "Something went wrong")
    try:
        response = _render(request, "error.html", {"title": title, "sentence": error.sentence}, status=error.status)
    except Exception:  # a broken template must not turn a calm page into a traceback
        logger.exception("forum dashboard: the error page could not be rendered")
        response = web.Response(text=f"{title}\n\n{error.sentence}\n", status=error.status, content_type="text/plain",
                                charset="utf-8")
    response.headers.update(error.headers)
    return response


# --- Rendering and request helpers --------------------------------------------------------------------------------

def _render(request: web.Request, template: str, context: Dict[str, Any], *, status: int = 200,
            session: Optional[Session] = None) -> web.Response:
    forum = request.app[FORUM_KEY]
    page = forum.templates.get_template("forum/" + template).render(
        session=session, threshold=forum.settings.suppression_threshold, **context)
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def _is_https(request: web.Request) -> bool:
    """HTTPS here or at the proxy in front of us (the cookie is then Secure)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def _same_origin(request: web.Request) -> bool:
    """False when the browser says the form came from another site (Origin, else Referer); True when it says
    nothing (not a browser; the SameSite cookie and the CSRF token still guard the session).

    Our host is the Host header, or the X-Forwarded-Host a proxy in front of us passes on: a form on another site
    can set neither, so accepting both lets the dashboard run behind a proxy without letting that site in.
    """
    hosts = {request.host.lower()}
    forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip().lower()
    if forwarded:
        hosts.add(forwarded)
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc.lower() in hosts
    referer = request.headers.get("Referer")
    if referer:
        return urlsplit(referer).netloc.lower() in hosts
    return True


def _check_origin(request: web.Request) -> None:
    if not _same_origin(request):
        logger.info("forum dashboard: refused a %s from another origin", request.path)
        raise PageError(403, SENTENCE_FOREIGN)


async def _form(request: web.Request) -> Mapping[str, Any]:
    """The posted form; a body too large or unreadable is a page, not a traceback."""
    try:
        return await request.post()
    except web.HTTPRequestEntityTooLarge as error:
        raise PageError(413, SENTENCE_TOO_LARGE) from error
    except asyncio.CancelledError:
        raise
    except Exception as error:  # a malformed body: aiohttp's parsers raise many kinds, all the client's doing
        raise PageError(400, SENTENCE_BAD_FORM) from error


def _field(form: Mapping[str, Any], name: str, limit: int) -> str:
    """A text field of the form ("" when missing or a file), refused when longer than ``limit``."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if len(value) > limit:
        raise PageError(400, SENTENCE_TOO_LARGE)
    return value


def safe_next(value: Any) -> str:
    """Where to go after logging in: a local ``/forum`` address only (never another site), else ``/forum``."""
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT_CHARS or not value.isprintable():
        return PREFIX
    if "\\" in value or "//" in value or any(char.isspace() for char in value):
        return PREFIX
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not (parts.path == PREFIX or parts.path.startswith(PREFIX + "/")):
        return PREFIX
    if parts.path.startswith(LOGIN_PATH) or any(part in (".", "..") for part in parts.path.split("/")):
        return PREFIX
    return value


async def _current_session(request: web.Request) -> Optional[Session]:
    """The request's session, if its cookie is ours, it is still in Redis, and the account's password has not
    changed (and the account still exists) since it began."""
    forum = request.app[FORUM_KEY]
    session = await forum.sessions.load(request.cookies.get(COOKIE_NAME))
    if session is None:
        return None
    if await forum.accounts.epoch(session.user) != session.epoch:
        await forum.sessions.end(session)
        return None
    return session


async def _require_session(request: web.Request) -> Session:
    """The session, or a redirect to the login page that comes back here (to the list for a form post)."""
    session = await _current_session(request)
    if session is None:
        back = str(request.rel_url) if request.method == "GET" else PREFIX
        location = LOGIN_PATH + "?" + urlencode({"next": safe_next(back)})
        raise web.HTTPFound(location) if request.method == "GET" else web.HTTPSeeOther(location)
    return session


def _survey(request: web.Request) -> Any:
    survey = request.app[FORUM_KEY].surveys.get(request.match_info["survey_id"])
    if survey is None:
        raise PageError(404, SENTENCE_NO_SURVEY, title="Survey not found")
    return survey


def _day(query: Mapping[str, str], name: str, what: str) -> Optional[date]:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    try:
        if not DATE_PATTERN.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise PageError(400, f"The {what} date must be a real date written like 2026-11-30.") from None


def _date_range(request: web.Request) -> Tuple[Optional[date], Optional[date]]:
    """The from/to filter of the query string (either may be empty).

    Raises:
        PageError: 400 for a date that is not YYYY-MM-DD or a range that ends before it starts.
    """
    date_from = _day(request.query, "from", "start")
    date_to = _day(request.query, "to", "end")
    if date_from and date_to and date_from > date_to:
        raise PageError(400, "The end date is before the start date. Please choose an end date on or after "
                             f"{date_from.isoformat()}.")
    return date_from, date_to


def _range_query(date_from: Optional[date], date_to: Optional[date]) -> str:
    params = {name: day.isoformat() for name, day in (("from", date_from), ("to", date_to)) if day}
    return "?" + urlencode(params) if params else ""


async def _results(request: web.Request, survey: Any, date_from: Optional[date], date_to: Optional[date]) -> Any:
    """The survey's export for the range, from the cache or made now (with its current update)."""
    forum = request.app[FORUM_KEY]
    backend = forum.backend

    async def make() -> Any:
        if forum.classifier is None:
            forum.classifier = await asyncio.to_thread(backend.load_classifier)
        update = await forum.updates.get(survey.id)
        options = backend.export_options(date_from=date_from, date_to=date_to,
                                         threshold=forum.settings.suppression_threshold)
        return await backend.build_export(forum.store, survey, options, classifier=forum.classifier, update=update)

    try:
        return await forum.cache.get((survey.id, date_from, date_to), make)
    except backend.export_error as error:
        text = str(error)
        raise PageError(400, (text[:1].upper() + text[1:]).rstrip(".") + ".") from error


def _download_links(forum: Forum, survey_id: str, range_query: str) -> list:
    """The download buttons: the CSV files together, then the rest, in ``DOWNLOAD_LABELS`` order."""
    order = list(DOWNLOAD_LABELS)
    formats = sorted(forum.backend.downloads, key=lambda fmt: (order.index(fmt) if fmt in order else len(order), fmt))
    return [{"fmt": fmt, "label": DOWNLOAD_LABELS.get(fmt, fmt.upper()),
             "href": f"{PREFIX}/surveys/{survey_id}/export.{fmt}{range_query}"}
            for fmt in formats]


def _format_parts(entry: Any) -> Tuple[Callable[[Any, Any], None], str, str]:
    """(write, media type, suffix) of a format, whether a ``Format`` or a plain tuple."""
    if hasattr(entry, "write"):
        return entry.write, entry.media_type, entry.suffix
    write, media_type, suffix = entry
    return write, media_type, suffix


def download_name(survey_id: str, day: date, suffix: str) -> str:
    """``parent_carer_forum-2026-12-01.xlsx``: the survey, the day, the format; nothing a header could break on."""
    if suffix and suffix[0] not in "._-":
        suffix = "." + suffix
    return SAFE_FILE_NAME.sub("_", f"{survey_id}-{day.isoformat()}{suffix}")


# --- Handlers ------------------------------------------------------------------------------------------------------

async def _forum_css(request: web.Request) -> web.Response:
    return web.Response(text=request.app[FORUM_KEY].forum_css, content_type="text/css", charset="utf-8")


async def _report_css(request: web.Request) -> web.Response:
    return web.Response(text=request.app[FORUM_KEY].backend.report_css, content_type="text/css", charset="utf-8")


async def _login_page(request: web.Request) -> web.Response:
    next_path = safe_next(request.query.get("next"))
    if await _current_session(request) is not None:
        raise web.HTTPFound(next_path)
    notice = SENTENCE_LOGGED_OUT if request.query.get("logged_out") else None
    return _render(request, "login.html", {"next": next_path, "error": None, "notice": notice, "username": ""})


async def _login(request: web.Request) -> web.StreamResponse:
    """Check a password; after too many failures for the name or the address, refuse without checking."""
    forum = request.app[FORUM_KEY]
    _check_origin(request)
    form = await _form(request)
    typed = _field(form, "username", MAX_USER_NAME_FIELD)
    password = _field(form, "password", MAX_PASSWORD_FIELD)
    next_path = safe_next(form.get("next"))
    address = request.remote
    wait = await forum.limiter.retry_after(typed, address)
    if wait is not None:
        logger.info("forum login refused: too many failed attempts")
        until = datetime.now(SURVEY_TIMEZONE) + timedelta(seconds=wait)  # the time in Coventry
        minutes = max(1, -(-wait // 60))
        raise PageError(429, f"There have been too many tries to log in. Please try again after "
                             f"{until:%H:%M} (in about {minutes} minute{'s' if minutes != 1 else ''}).",
                        headers={"Retry-After": str(wait)})
    if not typed.strip() or not await forum.accounts.verify(typed, password):
        await forum.limiter.failed(typed, address)
        logger.info("a forum login failed")
        return _render(request, "login.html", {"next": next_path, "error": SENTENCE_WRONG_PASSWORD,
                                               "notice": None, "username": typed[:40]}, status=401)
    try:
        user = normalise_name(typed)
    except InvalidUserName:  # cannot happen after a successful verify; refuse rather than guess
        raise PageError(400, SENTENCE_WRONG_PASSWORD) from None
    await forum.limiter.succeeded(user)
    epoch = await forum.accounts.epoch(user) or ""
    cookie, _ = await forum.sessions.create(user, epoch)
    logger.info("forum member %s logged in", user)
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(COOKIE_NAME, cookie, max_age=forum.sessions.lifetime_seconds, path=PREFIX, httponly=True,
                        samesite="Strict", secure=_is_https(request))
    raise response


async def _logout(request: web.Request) -> web.StreamResponse:
    """End the session; only with its CSRF token, so another site cannot log a member out."""
    forum = request.app[FORUM_KEY]
    _check_origin(request)
    session = await _current_session(request)
    if session is None:
        raise web.HTTPSeeOther(LOGIN_PATH)
    form = await _form(request)
    if not session.csrf_matches(form.get("csrf")):
        raise PageError(403, SENTENCE_EXPIRED)
    await forum.sessions.end(session)
    logger.info("forum member %s logged out", session.user)
    response = web.HTTPSeeOther(LOGIN_PATH + "?logged_out=1")
    response.set_cookie(COOKIE_NAME, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT", path=PREFIX,
                        httponly=True, samesite="Strict", secure=_is_https(request))
    raise response


async def _index(request: web.Request) -> web.Response:
    """The surveys, newest first, with how many responses each has: the figure the survey's own page publishes
    (suppressed the same way), never the raw count, which could undo a total hidden there."""
    session = await _require_session(request)
    forum = request.app[FORUM_KEY]
    threshold = forum.settings.suppression_threshold
    today = survey_today()
    rows = []
    for survey in sorted(forum.surveys.values(), key=lambda s: (s.opens, s.id), reverse=True):
        responses = (await _results(request, survey, None, None)).results.responses
        status = "Open" if survey.is_open(today) else ("Not open yet" if today < survey.opens else "Closed")
        rows.append({"id": survey.id, "title": survey.title, "status": status, "opens": survey.opens,
                     "closes": survey.closes,
                     "responses": responses.text(threshold)})
    return _render(request, "index.html", {"surveys": rows}, session=session)


async def _survey_page(request: web.Request) -> web.Response:
    session = await _require_session(request)
    survey = _survey(request)
    date_from, date_to = _date_range(request)
    return await _render_survey(request, session, survey, date_from, date_to,
                                notice=SENTENCE_SAVED if request.query.get("saved") else None)


async def _render_survey(request: web.Request, session: Session, survey: Any, date_from: Optional[date],
                         date_to: Optional[date], *, notice: Optional[str] = None, error: Optional[str] = None,
                         draft: Optional[str] = None, status: int = 200) -> web.Response:
    forum = request.app[FORUM_KEY]
    data = await _results(request, survey, date_from, date_to)
    results = data.results
    range_query = _range_query(date_from, date_to)
    update = results.update
    context = {
        "survey": survey, "results": results, "date_from": date_from, "date_to": date_to,
        "fragment": forum.backend.render_fragment(results), "downloads": _download_links(forum, survey.id, range_query),
        "themes_href": f"{PREFIX}/surveys/{survey.id}/themes{range_query}", "update": update,
        "update_text": draft if draft is not None else (update.text if update else ""),
        "max_update_chars": MAX_UPDATE_CHARS, "notice": notice, "error": error,
    }
    return _render(request, "survey.html", context, status=status, session=session)


async def _themes_page(request: web.Request) -> web.Response:
    session = await _require_session(request)
    survey = _survey(request)
    date_from, date_to = _date_range(request)
    forum = request.app[FORUM_KEY]
    data = await _results(request, survey, date_from, date_to)
    context = {"survey": survey, "results": data.results, "date_from": date_from, "date_to": date_to,
               "themes": forum.backend.render_themes(data.results),
               "survey_href": f"{PREFIX}/surveys/{survey.id}{_range_query(date_from, date_to)}"}
    return _render(request, "themes.html", context, session=session)


async def _export(request: web.Request) -> web.Response:
    """One download: written off the event loop, recorded in the audit log, then handed out (never cached)."""
    session = await _require_session(request)
    survey = _survey(request)
    forum = request.app[FORUM_KEY]
    fmt = request.match_info["fmt"]
    entry = forum.backend.downloads.get(fmt)
    if entry is None:
        raise PageError(404, SENTENCE_NO_FORMAT, title="Download not found")
    date_from, date_to = _date_range(request)
    data = await _results(request, survey, date_from, date_to)
    write, media_type, suffix = _format_parts(entry)
    buffer = io.BytesIO()
    await asyncio.to_thread(write, buffer, data)
    await forum.audit.record(session.user, "download", survey.id, fmt,
                             {"from": date_from, "to": date_to, "threshold": forum.settings.suppression_threshold})
    name = download_name(survey.id, survey_today(), suffix)
    return web.Response(body=buffer.getvalue(), headers={
        "Content-Type": media_type,
        "Content-Disposition": f'attachment; filename="{name}"',
    })


async def _update(request: web.Request) -> web.StreamResponse:
    """Save the survey's "you said, we did" update; a text that cannot be one comes back with the reason."""
    session = await _require_session(request)
    _check_origin(request)
    survey = _survey(request)
    forum = request.app[FORUM_KEY]
    form = await _form(request)
    if not session.csrf_matches(form.get("csrf")):
        raise PageError(403, SENTENCE_EXPIRED)
    text = _field(form, "text", MAX_UPDATE_FIELD)
    try:
        await forum.updates.set(survey.id, text, session.user, survey_today())
    except UpdateError as error:
        return await _render_survey(request, session, survey, None, None, error=str(error), draft=text,
                                    status=400)
    forum.cache.forget(survey.id)
    await forum.audit.record(session.user, "update", survey.id)
    raise web.HTTPSeeOther(f"{PREFIX}/surveys/{survey.id}?saved=1#you-said-we-did")
