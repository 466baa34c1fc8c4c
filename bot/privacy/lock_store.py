"""Rasa's per-conversation lock in Redis, atomic across servers and keyed by a keyed hash of the conversation.

Rasa holds a ticket lock per conversation while it answers a message, so two messages from one person are answered
one after the other, in order. Rasa's own ``RedisLockStore`` keeps the lock as one JSON value it reads, changes and
writes back: two Rasa servers issuing a ticket at the same moment both read "no lock", both take ticket 0, and both
answer at once, one overwriting the other's turn in the tracker. Here every change is one Redis command or one Lua
script, so it happens whole, whichever server makes it:

- ``send:lock:<hash>:next``: the last ticket number given (``INCR``);
- ``send:lock:<hash>:tickets``: a hash of ticket number -> the time it expires.

Issuing a ticket (dropping expired ones first), finishing one, and deleting the lock when nobody waits are each a
script. The ticket served is the lowest number still in the hash, exactly Rasa's ``TicketLock`` rule, so Rasa's own
waiting loop (``LockStore.lock``) runs unchanged. Every key expires (a crashed server leaves nothing behind), and no
key or value holds the conversation id: the keys use the same keyed hash as the tracker.

Expiry times come from each server's clock, as in Rasa's own lock: keep the servers' clocks in sync (NTP).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Dict, Optional, Text

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import DEFAULT_LOCK_LIFETIME, LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.privacy.hashing import tracker_key
from bot.settings import Settings

# A lock outlives the longest turn we allow (the action server's timeout) with room to spare.
LOCK_EXPIRY_SECONDS = 10 * DEFAULT_LOCK_LIFETIME

# KEYS: next, tickets. ARGV: now, lifetime, key expiry. Drops expired tickets, gives the next number.
_ISSUE = """
local tickets = redis.call('HGETALL', KEYS[2])
for i = 1, #tickets, 2 do
  if tonumber(tickets[i + 1]) < tonumber(ARGV[1]) then redis.call('HDEL', KEYS[2], tickets[i]) end
end
local number = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], number, tonumber(ARGV[1]) + tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return number
"""
# KEYS: next, tickets. ARGV: ticket. Finishes the ticket; deletes the lock if nobody else holds one.
_CLEANUP = """
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HLEN', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) return 1 end
return 0
"""


class PrivateRedisLockStore(RedisLockStore):
    """A ``RedisLockStore`` whose every change is atomic in Redis and whose keys hold a keyed hash, not the id."""

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
        self._issue = self.red.register_script(_ISSUE)
        self._cleanup = self.red.register_script(_CLEANUP)

    def _keys(self, conversation_id: Text) -> tuple:
        base = self.key_prefix + tracker_key(self._hash_key, conversation_id)
        return base + ":next", base + ":tickets"

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Give the next ticket for this conversation, in one script (two servers never get the same number)."""
        try:
            return int(self._issue(keys=self._keys(conversation_id),
                                   args=[time.time(), lock_lifetime, LOCK_EXPIRY_SECONDS]))
        except Exception as error:  # noqa: BLE001 - Rasa expects a LockError for any failure here
            raise LockError(f"Error while acquiring lock: {type(error).__name__}") from error

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        """The conversation's lock as Rasa's ``TicketLock`` (tickets in number order), or None when there is none."""
        stored = self.red.hgetall(self._keys(conversation_id)[1])
        if not stored:
            return None
        tickets = sorted((int(number), float(expires)) for number, expires in stored.items())
        return TicketLock(conversation_id, deque(Ticket(number, expires) for number, expires in tickets))

    def update_lock(self, conversation_id: Text) -> None:
        """Drop expired tickets (each ``HDEL`` is atomic, and dropping one twice is harmless)."""
        key = self._keys(conversation_id)[1]
        now = time.time()
        expired = [number for number, expires in self.red.hgetall(key).items() if float(expires) < now]
        if expired:
            self.red.hdel(key, *expired)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        """Take the ticket out: the next number in line is served."""
        self.red.hdel(self._keys(conversation_id)[1], ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Finish the ticket and delete the lock if nobody waits, in one script (Rasa checks, then deletes: a ticket
        issued in between by another server would be deleted with it)."""
        self._cleanup(keys=self._keys(conversation_id), args=[ticket_number])

    def delete_lock(self, conversation_id: Text) -> None:
        """Remove the conversation's lock."""
        self.red.delete(*self._keys(conversation_id))

    def save_lock(self, lock: TicketLock) -> None:
        """Store a whole lock (Rasa's own methods would call this; ours change Redis in place instead)."""
        next_key, tickets_key = self._keys(lock.conversation_id)
        pipe = self.red.pipeline(transaction=True)
        pipe.delete(tickets_key)
        if lock.tickets:
            pipe.hset(tickets_key, mapping={ticket.number: ticket.expires for ticket in lock.tickets})
            pipe.set(next_key, max(ticket.number for ticket in lock.tickets), ex=LOCK_EXPIRY_SECONDS)
            pipe.expire(tickets_key, LOCK_EXPIRY_SECONDS)
        pipe.execute()
