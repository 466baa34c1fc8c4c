"""The conversation lock across servers: two lock stores (two Rasa replicas) on one real Redis never serve one
conversation twice at once, and serve it in the order the messages came. Issue #11.

Rasa's own Redis lock store reads, changes and writes one JSON value, so two servers asking at the same moment can
both get ticket 0; the first test shows the race that store loses and ours does not.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import List

import pytest
from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.privacy.lock_store import PrivateRedisLockStore
from bot.settings import RedisAddress

CONVERSATION = "tg-" + "cd" * 16
THREADS = 16


@pytest.fixture
def stores(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> List[PrivateRedisLockStore]:
    """Two lock stores on one Redis, as two Rasa replicas would have."""
    monkeypatch.setenv("PRIVACY_KEY", secrets.token_hex(16))
    address = RedisAddress.from_url(redis_url)
    config = EndpointConfig(url=address.host, port=address.port, db=0, key_prefix="send")
    return [PrivateRedisLockStore(config), PrivateRedisLockStore(config)]


def _issue_at_once(issue, count: int) -> List[int]:
    """``count`` threads issue a ticket for one conversation at the same moment."""
    start = threading.Barrier(count)
    tickets: List[int] = []
    guard = threading.Lock()

    def one() -> None:
        start.wait()
        ticket = issue()
        with guard:
            tickets.append(ticket)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tickets


def test_tickets_issued_at_once_by_two_servers_are_all_different(stores: List[PrivateRedisLockStore]) -> None:
    """16 messages for one person arrive at two replicas together: 16 different tickets, 1 to 16."""
    tickets = _issue_at_once(lambda: stores[secrets.randbelow(2)].issue_ticket(CONVERSATION), THREADS)

    assert sorted(tickets) == list(range(1, THREADS + 1))
    assert len(stores[0].get_lock(CONVERSATION).tickets) == THREADS


def test_rasas_own_store_loses_that_race(redis_url: str) -> None:
    """The same burst against Rasa's RedisLockStore hands out the same ticket more than once (why ours exists)."""
    address = RedisAddress.from_url(redis_url)
    rasa_stores = [RedisLockStore(host=address.host, port=address.port, db=0, key_prefix="race")
                   for _ in range(2)]

    def burst(conversation: str) -> List[int]:
        return _issue_at_once(lambda: rasa_stores[secrets.randbelow(2)].issue_ticket(conversation), THREADS)

    # A race shows itself in almost every burst; five bursts make "never" as good as impossible.
    assert any(len(set(tickets)) < len(tickets) for tickets in (burst(f"{CONVERSATION}-{n}") for n in range(5)))


async def test_turns_for_one_person_through_two_servers_never_overlap_and_keep_their_order(
        stores: List[PrivateRedisLockStore]) -> None:
    """Each "turn" holds the lock while it works; through both stores at once, no two overlap, none is lost, and
    they are served in ticket order."""
    inside = 0
    overlaps = 0
    served: List[int] = []

    async def turn(index: int) -> None:
        nonlocal inside, overlaps
        async with stores[index % 2].lock(CONVERSATION, lock_lifetime=30, wait_time_in_seconds=0.01) as lock:
            inside += 1
            overlaps += inside > 1
            served.append(lock.now_serving)
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(turn(index) for index in range(12)))

    assert overlaps == 0
    assert served == sorted(served) and len(set(served)) == 12
    assert stores[0].get_lock(CONVERSATION) is None  # the last one out deleted the lock


def test_an_expired_ticket_does_not_block_the_next(stores: List[PrivateRedisLockStore]) -> None:
    """A server that died holding a ticket holds it only for the lock's lifetime."""
    dead = stores[0].issue_ticket(CONVERSATION, lock_lifetime=-1)  # already expired
    waiting = stores[1].issue_ticket(CONVERSATION, lock_lifetime=30)

    stores[1].update_lock(CONVERSATION)
    lock = stores[1].get_lock(CONVERSATION)

    assert dead < waiting and not lock.is_locked(waiting)


def test_cleanup_keeps_a_ticket_issued_by_the_other_server(stores: List[PrivateRedisLockStore]) -> None:
    """The first server finishing must not delete the lock while the second has a ticket in it."""
    first = stores[0].issue_ticket(CONVERSATION)
    second = stores[1].issue_ticket(CONVERSATION)

    stores[0].cleanup(CONVERSATION, first)

    lock = stores[1].get_lock(CONVERSATION)
    assert lock is not None and not lock.is_locked(second)
