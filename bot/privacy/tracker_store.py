"""Rasa's Redis tracker store, made private: conversations keyed by a keyed hash, stored redacted and short.

Rasa's own ``RedisTrackerStore`` keeps every message verbatim, under the sender id, for every past session. What a
family or a child types is theirs, so this subclass (configured in ``endpoints.yml``) changes what reaches Redis:

- the key is ``send:tracker:<HMAC(PRIVACY_KEY, sender id)>`` and the stored dialogue's name is that hash too, so
  no phone-number hash, chat-id hash or web session id is written, and the key cannot be joined with the
  channels' own state or with survey answers;
- user text is redacted (names, phone numbers, emails, addresses, postcodes, NHS numbers, dates of birth, school
  names: ``bot.privacy.redaction``) and message metadata is dropped; the text of a disclosure of harm is not kept
  at all; string slot values are redacted too. Intents, entities and button payloads stay, so the dialogue works;
- only the current session is kept (from the last session start or restart), and of a long session only the last
  ``max_turns`` user turns, after a snapshot of the slots and the active form at the cut. A conversation's size in
  Redis, and the time to load, save and send it to the action server, therefore stop growing with its length;
- a conversation expires after ``record_exp`` seconds without a message (``TRACKER_EXPIRY_SECONDS``, default a
  day).

Within a turn, Rasa and the actions still see the message as typed: redaction happens only on the way to Redis.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME, REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy.hashing import tracker_key
from bot.privacy.redaction import default_redactor
from bot.settings import Settings

logger = logging.getLogger(__name__)

# Enough turns for every rule, form and follow-up we have (the longest needs the last three), with room to spare.
# Not more: every turn loads, replays and sends the whole stored conversation to the action server, so a turn late in
# a long conversation costs what the 10th did (issue #11: at 20 kept turns the 300th turn took 1.2-1.5x the 10th).
DEFAULT_MAX_TURNS = 10
SAFEGUARDING_INTENT = "safeguarding"
DISCLOSURE_PLACEHOLDER = "[DISCLOSURE NOT KEPT]"
# Rasa copies the first message's metadata into this slot; channel metadata is not ours to keep.
SESSION_METADATA_SLOT = "session_started_metadata"
# Repeated saves of one conversation redact the same texts again; remember recent results.
REDACTION_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=REDACTION_CACHE_SIZE)
def _redact(text: str) -> str:
    return default_redactor().redact(text)


def private_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """One serialised event as we may store it: user text redacted, metadata dropped, string slots redacted.

    Args:
        event: an event's ``as_dict()``.

    Returns:
        A new dict; the input is not changed.
    """
    kind = event.get("event")
    if kind == UserUttered.type_name:
        event = dict(event)
        parse_data = dict(event.get("parse_data") or {})
        intent = (parse_data.get("intent") or {}).get("name")
        text = event.get("text")
        if isinstance(text, str):
            text = DISCLOSURE_PLACEHOLDER if intent == SAFEGUARDING_INTENT else _redact(text)
        event["text"] = text
        if parse_data:
            parse_data["text"] = text
            parse_data.pop("metadata", None)
            event["parse_data"] = parse_data
        event["metadata"] = {}
        return event
    if kind == SlotSet.type_name:
        if event.get("name") == SESSION_METADATA_SLOT:
            return {**event, "value": None}
        if isinstance(event.get("value"), str):
            return {**event, "value": _redact(event["value"])}
    return event


def current_session(events: List[Event]) -> List[Event]:
    """The events from the last session start or restart on (what the dialogue still uses)."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, Restarted):
            return events[index:]
        if isinstance(event, SessionStarted):
            before = events[index - 1] if index else None
            starts_here = isinstance(before, ActionExecuted) and before.action_name == ACTION_SESSION_START_NAME
            return events[index - 1 if starts_here else index:]
    return events


def last_turns(sender_id: str, events: List[Event], domain: Domain, max_turns: int) -> List[Event]:
    """Keep the last ``max_turns`` user turns, after a snapshot of the state where they begin.

    The snapshot (a session start, the slots that were set, the active form and what it was asking, then a listen)
    gives the rules and forms the same state they would have had with the full history.
    """
    starts = [index for index, event in enumerate(events) if isinstance(event, UserUttered)]
    if len(starts) <= max_turns:
        return events
    cut = starts[-max_turns]
    before = DialogueStateTracker.from_events(sender_id, events[:cut], slots=domain.slots)
    when = events[cut].timestamp
    snapshot: List[Event] = [
        ActionExecuted(ACTION_SESSION_START_NAME, timestamp=when),
        SessionStarted(timestamp=when),
    ]
    for name, slot in before.slots.items():
        if slot.value is not None and name != REQUESTED_SLOT:
            snapshot.append(SlotSet(name, slot.value, timestamp=when))
    loop = before.active_loop_name
    if loop:
        snapshot.append(ActiveLoop(loop, timestamp=when))
        snapshot.append(SlotSet(REQUESTED_SLOT, before.get_slot(REQUESTED_SLOT), timestamp=when))
    snapshot.append(ActionExecuted(ACTION_LISTEN_NAME, timestamp=when))
    return snapshot + list(events[cut:])


class PrivateRedisTrackerStore(RedisTrackerStore):
    """A ``RedisTrackerStore`` that keys by a keyed hash and stores the current session only, redacted.

    Configured in ``endpoints.yml`` (``type: bot.privacy.tracker_store.PrivateRedisTrackerStore``); the hash key
    comes from ``PRIVACY_KEY``, the expiry from ``record_exp``.
    """

    def __init__(
        self,
        domain: Domain,
        host: Text = "localhost",
        port: int = 6379,
        db: int = 0,
        password: Optional[Text] = None,
        record_exp: Optional[float] = None,
        key_prefix: Optional[Text] = None,
        max_turns: int = DEFAULT_MAX_TURNS,
        **kwargs: Any,
    ) -> None:
        """Connect (lazily, as Rasa's store does) and load the redactor now, so the first message is not slow.

        Raises:
            SettingsError: PRIVACY_KEY is not set: the Rasa server must not start and store raw ids.
        """
        super().__init__(domain, host=host, port=int(port), db=int(db), password=password or None,
                         record_exp=float(record_exp) if record_exp else None, key_prefix=key_prefix, **kwargs)
        self._hash_key = Settings.from_env().require_privacy_key()
        self._max_turns = int(max_turns)
        default_redactor()

    def stored_key(self, sender_id: Text) -> str:
        """The Redis key a conversation is stored under."""
        return self.key_prefix + tracker_key(self._hash_key, sender_id)

    def serialise_private(self, tracker: DialogueStateTracker) -> str:
        """The JSON we store: the current session's last turns, redacted, named by the hash."""
        events = last_turns(tracker.sender_id, current_session(list(tracker.events)), self.domain, self._max_turns)
        return json.dumps({
            "name": tracker_key(self._hash_key, tracker.sender_id),
            "events": [private_event(event.as_dict()) for event in events],
        })

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        """Store the conversation (no merge with older sessions: we keep only the current one)."""
        await self.stream_events(tracker)
        expiry = timeout or self.record_exp
        self.red.set(self.stored_key(tracker.sender_id), self.serialise_private(tracker),
                     ex=int(expiry) if expiry else None)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The stored conversation, under its real sender id again (in memory only)."""
        stored = self.red.get(self.stored_key(sender_id))
        if stored is None:
            return None
        return self.deserialise_tracker(sender_id, stored)

    async def retrieve_full_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The same as ``retrieve``: older sessions are not kept."""
        return await self.retrieve(sender_id)

    async def delete(self, sender_id: Text) -> bool:
        """Forget a conversation now ("delete my data")."""
        return bool(self.red.delete(self.stored_key(sender_id)))

    async def keys(self) -> Iterable[Text]:
        """The stored conversations' hashes (sender ids cannot be recovered from them)."""
        prefix = self.key_prefix
        return [key[len(prefix):] for key in self.red.scan_iter(match=prefix + "*")]
