"""The "you said, we did" update of each survey: a short plain text a forum member writes on the dashboard.

It shows on the report and is later texted to the members who took part (``python -m bot survey update``), so it
must fit an SMS conversation and hold nothing an SMS cannot show: plain text of at most ``MAX_UPDATE_CHARS``, no
HTML, no control characters (a line break is allowed). One update per survey; writing again replaces it.

It is kept ``UPDATE_RETENTION_DAYS`` after it was last written, like the answers it responds to.

===================================  ======  ==============================================
key                                  type    holds (expiry)
===================================  ======  ==============================================
``send:forum:update:<survey_id>``    string  JSON: text, author, written (YYYY-MM-DD)
                                             (``UPDATE_RETENTION_DAYS`` after it was written)
===================================  ======  ==============================================

Errors::

    UpdateError (ValueError)     the text cannot be an update (empty, too long, markup, control characters);
                                 the message is a sentence for the form

plus ``SurveyStoreUnavailable`` when Redis is down.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from datetime import date
from typing import Optional

import redis.asyncio as aioredis

from bot.forum.results import Update
from bot.surveys.store import DAY_SECONDS, KEY_PREFIX, as_day, check_id, redis_call

logger = logging.getLogger(__name__)

MAX_UPDATE_CHARS = 480
UPDATE_RETENTION_DAYS = 365
# Something that reads as an HTML tag or entity: it would show literally in a text message.
_MARKUP = re.compile(r"<\s*[A-Za-z/!?]|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);")


class UpdateError(ValueError):
    """The text cannot be a "you said, we did" update; the message says what to change."""


def clean_update_text(text: object) -> str:
    """The text as it will be stored: line breaks made ``\\n`` and the ends stripped.

    Raises:
        UpdateError: not text, empty, longer than ``MAX_UPDATE_CHARS``, markup, or control/format characters.
    """
    if not isinstance(text, str):
        raise UpdateError("The update must be text.")
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise UpdateError("Please write the update before saving it.")
    if len(cleaned) > MAX_UPDATE_CHARS:
        raise UpdateError(f"The update is {len(cleaned)} characters long. Please keep it to {MAX_UPDATE_CHARS} "
                          "characters or fewer, so it fits a text message.")
    if any(char != "\n" and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") for char in cleaned):
        raise UpdateError("The update has a hidden or control character in it. Please type it again as plain text.")
    if _MARKUP.search(cleaned):
        raise UpdateError("Please write the update as plain text, without HTML tags or codes such as &amp;.")
    return cleaned


class UpdateStore:
    """One "you said, we did" update per survey, in Redis."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = KEY_PREFIX,
                 retention_days: int = UPDATE_RETENTION_DAYS) -> None:
        """Wrap a redis-py asyncio client made with ``decode_responses=True`` (the caller closes it)."""
        self._redis = client
        self._prefix = check_id(prefix, "a key prefix")
        self._retention_seconds = retention_days * DAY_SECONDS

    def _key(self, survey_id: str) -> str:
        return f"{self._prefix}:forum:update:{check_id(survey_id, 'a survey id')}"

    async def set(self, survey_id: str, text: str, author: str, written: date) -> Update:
        """Write (or replace) the survey's update.

        Returns:
            The update as stored (text cleaned).

        Raises:
            UpdateError: see ``clean_update_text``.
            ValueError: a survey id that cannot be part of a key.
            SurveyStoreUnavailable: Redis is down; the previous update is unchanged.
        """
        update = Update(text=clean_update_text(text), author=str(author), written=as_day(written))
        payload = json.dumps({"text": update.text, "author": update.author, "written": update.written.isoformat()},
                             ensure_ascii=False)
        await redis_call(self._redis.set(self._key(survey_id), payload, ex=self._retention_seconds),
                         "survey updates")
        logger.info("survey %s: a \"you said, we did\" update was written by %s", survey_id, update.author)
        return update

    async def get(self, survey_id: str) -> Optional[Update]:
        """The survey's update, or None when none was written (or it is unreadable).

        Raises:
            ValueError: a survey id that cannot be part of a key.
            SurveyStoreUnavailable: Redis is down.
        """
        raw = await redis_call(self._redis.get(self._key(survey_id)), "survey updates")
        if raw is None:
            return None
        try:
            document = json.loads(raw)
            return Update(text=str(document["text"]), author=str(document["author"]),
                          written=date.fromisoformat(document["written"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("the update of survey %s is malformed; ignoring it", survey_id)
            return None

    async def delete(self, survey_id: str) -> bool:
        """Remove the survey's update; True if there was one.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        return bool(await redis_call(self._redis.delete(self._key(survey_id)), "survey updates"))
