"""Rasa's Redis lock store, keyed by a keyed hash of the conversation instead of the sender id.

Rasa holds a lock per conversation while it answers a message, under ``send:lock:<sender id>`` with the sender id
inside the value too. This subclass (configured in ``endpoints.yml``) stores the lock under the same kind of hash
as the tracker, and gives every lock an expiry, so a crashed server never leaves an id behind in Redis.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import DEFAULT_LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.privacy.hashing import tracker_key
from bot.settings import Settings

# A lock outlives the longest turn we allow (the action server's timeout) with room to spare.
LOCK_EXPIRY_SECONDS = 10 * DEFAULT_LOCK_LIFETIME


class PrivateRedisLockStore(RedisLockStore):
    """A ``RedisLockStore`` whose keys and values hold a keyed hash, not the conversation id."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        """Connect as Rasa's lock store does (Rasa passes a custom lock store its whole endpoint config).

        Raises:
            SettingsError: PRIVACY_KEY is not set.
        """
        options: Dict[str, Any] = dict(endpoint_config.kwargs)
        super().__init__(
            host=endpoint_config.url or "localhost",
            port=int(options.pop("port", 6379)),
            db=int(options.pop("db", 0)),
            password=options.pop("password", None) or None,
            key_prefix=options.pop("key_prefix", None),
            **options,
        )
        self._hash_key = Settings.from_env().require_privacy_key()

    def _key(self, conversation_id: Text) -> str:
        return self.key_prefix + tracker_key(self._hash_key, conversation_id)

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        """The conversation's lock, under its real id again (in memory only)."""
        stored = self.red.get(self._key(conversation_id))
        if not stored:
            return None
        lock = TicketLock.from_dict(json.loads(stored))
        lock.conversation_id = conversation_id
        return lock

    def delete_lock(self, conversation_id: Text) -> None:
        """Remove the conversation's lock."""
        self.red.delete(self._key(conversation_id))

    def save_lock(self, lock: TicketLock) -> None:
        """Store the lock under the hash, with the hash inside, and an expiry."""
        hashed = TicketLock(tracker_key(self._hash_key, lock.conversation_id), lock.tickets)
        self.red.set(self._key(lock.conversation_id), hashed.dumps(), ex=LOCK_EXPIRY_SECONDS)
