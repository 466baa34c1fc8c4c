"""Keeping the local stack up: a service that dies is started again, after a growing pause.

``make run`` calls ``Supervisor.step`` twice a second. A step never waits for a service to start: it launches it
and looks again at the next step whether it answers, so Ctrl-C is honoured at once and one slow start (the Rasa
server loads its model for up to a minute) does not hide another service's death.

For each service::

    running ──dies──▶ waiting (1 s, 2 s, 4 s … 30 s) ──▶ starting ──answers──▶ running
                                   ▲                          │
                                   └──── exits, or no answer ─┘
                                         within its start timeout (it is stopped)

The pause doubles with each death and is reset to 1 s once the service has answered for 60 s without dying. One
line is logged per death (name, exit code, the pause before the restart), per restart (name, new pid) and when it
answers again; a service that dies more than ``flap_limit`` times in ``flap_window`` seconds is still restarted,
but its deaths are logged at ERROR, for someone to look at.

A restart runs the service's own recipe (``bot.stack.Service``): the same command, so Redis comes back on the same
port and directory and replays the same append-only file.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Deque, Dict, Iterator, List, Optional

from bot.stack import Service, Stack, StackError

logger = logging.getLogger(__name__)

INITIAL_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
# A service that has answered this long without dying is healthy again: its next restart waits INITIAL_DELAY.
HEALTHY_AFTER_SECONDS = 60.0
# More deaths than FLAP_LIMIT within FLAP_WINDOW_SECONDS are logged at ERROR (restarts carry on regardless).
FLAP_LIMIT = 5
FLAP_WINDOW_SECONDS = 600.0
# How often ``make run`` calls ``step``.
STEP_INTERVAL_SECONDS = 0.5

DIED = "died"  # the process exited (or did not answer in time and was stopped)
RESTARTING = "restarting"  # launched again
UP = "up"  # answers again


@dataclass(frozen=True)
class Event:
    """Something a step did, for the caller (the tests) as well as the log."""

    kind: str  # DIED, RESTARTING or UP
    service: str
    exit_code: Optional[int] = None  # DIED: the exit code (negative: the signal); None if it was stopped for silence
    delay: Optional[float] = None  # DIED: seconds until the restart
    pid: Optional[int] = None  # RESTARTING and UP: the new process


def backoff_delays(initial: float = INITIAL_DELAY_SECONDS, cap: float = MAX_DELAY_SECONDS) -> Iterator[float]:
    """The pauses before successive restarts: ``initial``, doubled each time, never more than ``cap``."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * 2, cap)


@dataclass
class _Watch:
    """What the supervisor knows about one service."""

    delays: Iterator[float]
    deaths: Deque[float] = field(default_factory=deque)
    up_since: Optional[float] = None  # when it was last seen answering after a (re)start
    restart_at: Optional[float] = None  # set while waiting to restart
    ready_by: Optional[float] = None  # set while starting: it must answer by then
    restarts: int = 0


class Supervisor:
    """Restarts the stack's services that die, with exponential backoff. Call ``step`` periodically."""

    def __init__(
        self,
        stack: Stack,
        *,
        clock: Callable[[], float] = time.monotonic,
        initial_delay: float = INITIAL_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
        healthy_after: float = HEALTHY_AFTER_SECONDS,
        flap_limit: int = FLAP_LIMIT,
        flap_window: float = FLAP_WINDOW_SECONDS,
    ) -> None:
        """Watch ``stack``'s services from now on (those running now count as answering since now).

        Args:
            clock: seconds, monotonic (the tests pass a fake one to step through the schedule quickly).
        """
        self.stack = stack
        self._clock = clock
        self._initial = initial_delay
        self._max = max_delay
        self._healthy_after = healthy_after
        self._flap_limit = flap_limit
        self._flap_window = flap_window
        self._watches: Dict[int, _Watch] = {}
        now = clock()
        for service in stack.services:
            self._watch(service).up_since = now if service.running else None

    def step(self) -> List[Event]:
        """Look at every service once: note deaths, restart those whose pause is over, see which answer again."""
        now = self._clock()
        events: List[Event] = []
        for service in list(self.stack.services):
            watch = self._watch(service)
            if watch.restart_at is not None:
                if service.running:  # started again by someone else (``Stack.restart``) during the pause
                    watch.restart_at, watch.up_since = None, now
                elif now >= watch.restart_at:
                    events.append(self._relaunch(service, watch, now))
            elif not service.running:
                events.append(self._died(service, watch, now, service.returncode))
            elif watch.ready_by is not None:
                if service.is_ready():
                    watch.ready_by, watch.up_since = None, now
                    logger.info("%s is back up (pid %s) after restart %d", service.name, service.process.pid,
                                watch.restarts)
                    events.append(Event(UP, service.name, pid=service.process.pid))
                elif now > watch.ready_by:
                    service.stop()
                    events.append(self._died(service, watch, now, None,
                                             why=f"did not answer within {service.timeout:.0f} s and was stopped"))
        return events

    def _watch(self, service: Service) -> _Watch:
        key = id(service)
        if key not in self._watches:
            self._watches[key] = _Watch(delays=backoff_delays(self._initial, self._max))
        return self._watches[key]

    def _died(self, service: Service, watch: _Watch, now: float, code: Optional[int], *,
              why: Optional[str] = None) -> Event:
        if watch.up_since is not None and now - watch.up_since >= self._healthy_after:
            watch.delays = backoff_delays(self._initial, self._max)  # it was healthy: start the schedule again
        service.stop()  # reap it, clear what it left in its process group, close its log
        watch.deaths.append(now)
        while watch.deaths and watch.deaths[0] < now - self._flap_window:
            watch.deaths.popleft()
        delay = next(watch.delays)
        watch.restart_at, watch.ready_by, watch.up_since = now + delay, None, None
        flapping = len(watch.deaths) > self._flap_limit
        logger.log(logging.ERROR if flapping else logging.WARNING,
                   "%s %s; restarting it in %.0f s (%d death(s) in the last %.0f s%s)",
                   service.name, why or f"exited with code {_describe(code)}", delay, len(watch.deaths),
                   self._flap_window, "; it keeps dying: see its log" if flapping else "")
        return Event(DIED, service.name, exit_code=code, delay=delay)

    def _relaunch(self, service: Service, watch: _Watch, now: float) -> Event:
        watch.restart_at = None
        watch.restarts += 1
        try:
            process = service.launch()
        except StackError as error:
            return self._died(service, watch, now, None, why=f"could not be started ({error})")
        watch.ready_by = now + service.timeout
        logger.info("restarting %s (pid %s, restart %d)", service.name, process.pid, watch.restarts)
        return Event(RESTARTING, service.name, pid=process.pid)


def _describe(code: Optional[int]) -> str:
    """An exit code as people read it: ``-9 (SIGKILL)`` for a signal."""
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)
