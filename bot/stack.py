"""Starting and stopping the local stack: Redis, the action server, the Rasa server and the web app.

``make run`` and the integration tests both use this module, so what the tests exercise is what a developer runs.
Each service runs in its own process group and is asked to die with us (``PR_SET_PDEATHSIG``), so Ctrl-C, a
failed start or even a killed supervisor leaves no orphans holding ports.

Errors::

    StackError            a service could not be started (the message says which and how to fix it)
    └── MissingProgram    a program we need is not installed
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, IO, List, Optional

from bot.settings import RedisAddress, Settings

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_DIR / "models"
VAR_DIR = PROJECT_DIR / "var"
LOOPBACK = "127.0.0.1"
# Rasa needs 30-60 s to load a model on a small machine; give it room before calling the start a failure.
RASA_START_TIMEOUT_SECONDS = 240.0
SERVICE_START_TIMEOUT_SECONDS = 60.0
# How long a service has to stop after SIGTERM before it is killed. The Rasa server finishes the turns it has
# accepted for up to settings.shutdown_grace_seconds (20 s by default), so this must be longer than that.
STOP_GRACE_SECONDS = 30.0
# What the Rasa server gets beyond its own shutdown grace, to close its connections and exit.
STOP_MARGIN_SECONDS = 10.0
READY_POLL_SECONDS = 0.5
DEV_SECRETS_FILE = "dev-secrets.json"
_PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A service of the stack could not be started."""


class MissingProgram(StackError):
    """A program the stack needs is not installed."""


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def redis_answers(address: RedisAddress, timeout: float = 1.0) -> bool:
    """True when a Redis server answers PING at ``address`` (with its password, if any)."""
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout) as sock:
            if address.password:
                sock.sendall(_resp("AUTH", address.password))
                sock.recv(64)
            sock.sendall(_resp("PING"))
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _resp(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def latest_model(models_dir: Path = MODELS_DIR) -> Path:
    """The newest trained model archive.

    Raises:
        StackError: no model has been trained yet.
    """
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise StackError(f"No trained model in {models_dir}: run `make run` or `make test`, which train one.")
    return models[-1]


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it when the supervisor dies, however it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Service:
    """One child process and its start recipe, so it can be started again the same way (same command, so the same
    port, directory and files; same environment; same readiness check and timeout).

    ``process`` is the latest process started (None before the first start). Children are started from the calling
    thread, and ``PR_SET_PDEATHSIG`` fires when that *thread* ends: start and restart services from a thread that
    lives as long as the stack (the main thread, in ``make run`` and the tests).
    """

    name: str
    command: List[str]
    ready: Callable[[], bool]  # True once the service answers (called only while its process runs)
    timeout: float  # how long a start may take before it counts as failed
    env: Optional[Dict[str, str]] = None  # None: ours
    log_path: Optional[Path] = None  # None: our stdout/stderr; else appended to, across restarts
    stop_grace: float = STOP_GRACE_SECONDS
    process: Optional[subprocess.Popen] = None
    log: Optional[IO[bytes]] = None

    @property
    def running(self) -> bool:
        """True while the latest process has not exited."""
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        """The latest process's exit code (negative: the signal that killed it), or None while it runs."""
        return None if self.process is None else self.process.poll()

    def is_ready(self) -> bool:
        """True when the process runs and answers its readiness check."""
        if not self.running:
            return False
        try:
            return bool(self.ready())
        except Exception:  # noqa: BLE001 - a check that breaks means "not ready", never a crashed supervisor
            logger.debug("readiness check of %s failed", self.name, exc_info=True)
            return False

    def launch(self) -> subprocess.Popen:
        """Start the process in its own process group and return at once (``wait_until_ready`` waits for it).

        Raises:
            StackError: the program could not be run at all.
        """
        if self.running:
            raise StackError(f"{self.name} is already running (pid {self.process.pid})")
        self._close_log()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT if self.log else None,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as error:
            self._close_log()
            raise StackError(f"{self.name} could not be started: {error}") from error
        return self.process

    def wait_until_ready(self, timeout: Optional[float] = None) -> None:
        """Wait until the service answers.

        Raises:
            StackError: it exited first, or did not answer within ``timeout`` (default: its own).
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if not self.running:
                where = f" (see {self.log_path})" if self.log_path else ""
                raise StackError(f"{self.name} exited with code {self.returncode} while starting{where}")
            if time.monotonic() > deadline:
                raise StackError(f"{self.name} did not answer within {timeout:.0f} s")
            time.sleep(READY_POLL_SECONDS)
        logger.info("%s is up (pid %s)", self.name, self.process.pid)

    def start(self) -> None:
        """Launch the service and wait until it answers; on failure stop what was started and raise StackError."""
        self.launch()
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM the service's process group, then SIGKILL it if it lingers past ``stop_grace``."""
        process = self.process
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(self.stop_grace)
                except subprocess.TimeoutExpired:
                    logger.warning("%s did not stop in %.0f s; killing it", self.name, self.stop_grace)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            # The leader is gone; anything it started that lingers in its group would hold the port a restart
            # needs. (The group's id cannot be reused while a member remains, so this reaches only our children.)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self._close_log()

    def _close_log(self) -> None:
        if self.log:
            self.log.close()
            self.log = None


@dataclass
class Stack:
    """The running services, stopped in reverse order of starting."""

    settings: Settings
    log_dir: Optional[Path] = None  # None: children write to our stdout/stderr (make run); else one file each
    services: List[Service] = field(default_factory=list)
    # What the Rasa server runs: `make bench` also starts a baseline with another model and Rasa's default stores.
    model: Optional[Path] = None  # None: the newest in models/
    endpoints: str = "endpoints.yml"
    rasa_module: str = "bot.rasa_server"  # what `python -m` runs as the Rasa server (`rasa` with our two fixes)
    extra_env: Dict[str, str] = field(default_factory=dict)  # on top of child_env (e.g. SANIC_WORKERS)

    @property
    def web_url(self) -> str:
        """Where the chat page is served."""
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    def start(self, *, redis_dir: Path, start_web: bool = True) -> "Stack":
        """Start every service and wait until each answers; on any failure stop what was started and raise."""
        try:
            self._ensure_redis(redis_dir)
            self._spawn(
                "action server",
                [sys.executable, "-m", "bot.action_server", "--actions", "actions", "--port",
                 str(self.settings.action_port)],
                ready_url=f"http://{LOOPBACK}:{self.settings.action_port}/health",
                timeout=SERVICE_START_TIMEOUT_SECONDS,
            )
            self._spawn("Rasa server", self._rasa_command(), ready_url=f"{self.settings.rasa_url}/",
                        timeout=RASA_START_TIMEOUT_SECONDS, stop_grace=self._rasa_stop_grace(), env=self.rasa_env())
            if start_web:
                self._spawn("web app", [sys.executable, "-m", "bot.web"], ready_url=f"{self.web_url}/healthz",
                            timeout=SERVICE_START_TIMEOUT_SECONDS, ready_statuses=(200, 503))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every service, newest first."""
        while self.services:
            service = self.services.pop()
            logger.info("stopping %s", service.name)
            service.stop()

    def service(self, name: str) -> Service:
        """The service called ``name`` ("Redis", "action server", "Rasa server", "web app").

        Raises:
            StackError: the stack has no such service (Redis is not ours when REDIS_URL points to a running one).
        """
        found = next((s for s in self.services if s.name == name), None)
        if found is None:
            known = ", ".join(s.name for s in self.services) or "none"
            raise StackError(f"the stack has no service {name!r} (it has: {known})")
        return found

    def restart(self, name: str) -> Service:
        """Stop the service if it runs, then start it again from its recipe (same command, ports, directory and
        environment) and wait until it answers.

        Raises:
            StackError: no such service, or it did not come back (it is then stopped; ``restart`` may be tried again).
        """
        service = self.service(name)
        logger.info("restarting %s", name)
        service.stop()
        service.start()
        return service

    def add_rasa_replica(self, port: int) -> Service:
        """Start another Rasa server on ``port``, sharing this stack's Redis and action server: scaling out, as
        replicas behind a load balancer would (it is stopped with the stack, or by ``stop_service``)."""
        replica = replace(self.settings, rasa_port=port, rasa_url=f"http://{LOOPBACK}:{port}")
        index = 1 + sum(service.name.startswith("Rasa server") for service in self.services)
        command = replace(self, settings=replica, services=[])._rasa_command()
        return self._spawn(f"Rasa server {index}", command, ready_url=f"{replica.rasa_url}/",
                           timeout=RASA_START_TIMEOUT_SECONDS, stop_grace=self._rasa_stop_grace(), env=self.rasa_env())

    def stop_service(self, name: str) -> None:
        """Stop one service for good and forget it (a replica a test no longer needs)."""
        service = self.service(name)
        service.stop()
        self.services.remove(service)

    def _rasa_stop_grace(self) -> float:
        """The Rasa server finishes accepted turns for its shutdown grace: give it that and a margin to exit."""
        return max(STOP_GRACE_SECONDS, self.settings.shutdown_grace_seconds + STOP_MARGIN_SECONDS)

    def child_env(self) -> Dict[str, str]:
        """The environment every child gets: ours, plus what endpoints.yml and the web app read."""
        redis = self.settings.redis
        env = dict(os.environ)
        env.update(
            REDIS_URL=redis.url,
            REDIS_HOST=redis.host,
            REDIS_PORT=str(redis.port),
            REDIS_DB=str(redis.db),
            REDIS_PASSWORD=redis.password,
            TRACKER_EXPIRY_SECONDS=str(self.settings.tracker_expiry_seconds),
            ACTION_ENDPOINT_URL=f"http://{LOOPBACK}:{self.settings.action_port}/webhook",
            RASA_URL=self.settings.rasa_url,
            WEB_HOST=self.settings.web_host,
            WEB_PORT=str(self.settings.web_port),
            PYTHONUNBUFFERED="1",
            # Rasa's telemetry and crash reports go to a third party and may carry what a family typed: never.
            RASA_TELEMETRY_ENABLED="false",
            # Every child logs through bot.logs at one level and format (Rasa itself reads LOG_LEVEL too).
            LOG_LEVEL=self.settings.log_level,
            LOG_FORMAT=self.settings.log_format,
            # Sanic reads SANIC_* variables as its config: Rasa answers 413 to a body over MAX_BODY_BYTES before
            # reading it (the action server, which receives whole trackers, keeps Sanic's own limit).
            SANIC_REQUEST_MAX_SIZE=str(self.settings.max_body_bytes),
            # Sanic's access record holds the client's address and the URL (with Rasa's sender ids in its API's).
            SANIC_ACCESS_LOG="false",
            # The action server (rasa_sdk) listens on every interface unless told: here only Rasa calls it.
            SANIC_HOST=LOOPBACK,
            SPOOL_DIR=self.settings.spool_dir,
        )
        if self.settings.privacy_key:
            env["PRIVACY_KEY"] = self.settings.privacy_key
        if self.settings.panel_key:
            env["PANEL_ENCRYPTION_KEY"] = self.settings.panel_key
        if self.settings.forum_session_key:
            env["FORUM_SESSION_KEY"] = self.settings.forum_session_key
        if self.settings.channel_hash_key:
            env["CHANNEL_HASH_KEY"] = self.settings.channel_hash_key
        env.update(self.extra_env)
        return env

    def rasa_env(self) -> Dict[str, str]:
        """What the Rasa server gets beyond ``child_env``: its Sanic workers, and the threads each may use.

        Rasa runs ``SANIC_WORKERS`` processes on one port when the lock store is not in memory (ours is in Redis
        and atomic): one per core serves that many turns at once. Each worker's TensorFlow and BLAS get the cores
        divided between the workers, so two workers on two cores do not fight over four threads.
        """
        workers = self.settings.rasa_workers
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        return {"SANIC_WORKERS": str(workers), "TF_INTRA_OP_PARALLELISM_THREADS": threads,
                "TF_INTER_OP_PARALLELISM_THREADS": threads, "OMP_NUM_THREADS": threads,
                "OPENBLAS_NUM_THREADS": threads}

    def _rasa_command(self) -> List[str]:
        command = [
            sys.executable, "-m", self.rasa_module, "run",
            "--model", str(self.model or latest_model()),
            "--interface", LOOPBACK,
            "--port", str(self.settings.rasa_port),
            "--endpoints", self.endpoints,
            "--credentials", "credentials.yml",
            # bot.logs' handler and privacy filter: no message text, number or sender id in Rasa's log at any level.
            "--logging-config-file", "bot/logging_rasa.yml",
        ]
        if self.settings.rasa_token:
            # The HTTP API (tracker edits, model swaps) is only ever on behind a token.
            command += ["--enable-api", "--auth-token", self.settings.rasa_token]
        return command

    def _ensure_redis(self, redis_dir: Path) -> None:
        address = self.settings.redis
        if redis_answers(address):
            logger.info("using the Redis server at %s:%s", address.host, address.port)
            return
        if address.host not in (LOOPBACK, "localhost"):
            raise StackError(f"REDIS_URL points to {address.host}:{address.port}, but no Redis answers there.")
        server = shutil.which("redis-server")
        if not server:
            raise MissingProgram(
                "redis-server is not installed: install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`; "
                "macOS: `brew install redis`) or set REDIS_URL to a running Redis."
            )
        if port_is_open(LOOPBACK, address.port):
            raise StackError(f"Port {address.port} is taken by something that is not Redis: set REDIS_URL.")
        redis_dir.mkdir(parents=True, exist_ok=True)
        # Every write goes to the append-only file, fsynced once a second: a SIGTERM loses nothing, a killed Redis
        # or a crashed machine at most the last second or two (two when the disk is slow); no RDB snapshots.
        # Opt-outs and answers must never be evicted: when memory runs out, writes fail (the chat says "try again
        # later") rather than Redis dropping keys.
        command = [
            server, "--bind", LOOPBACK, "--port", str(address.port), "--dir", str(redis_dir.resolve()),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction",
            "--protected-mode", "yes",
        ]
        if address.password:
            command += ["--requirepass", address.password]
        self._spawn("Redis", command, ready=lambda: redis_answers(address), timeout=SERVICE_START_TIMEOUT_SECONDS)

    def _spawn(
        self,
        name: str,
        command: List[str],
        *,
        timeout: float,
        ready_url: Optional[str] = None,
        ready: Optional[Callable[[], bool]] = None,
        ready_statuses=(200,),
        stop_grace: float = STOP_GRACE_SECONDS,
        env: Optional[Dict[str, str]] = None,
    ) -> Service:
        """Record the service's recipe, start it and wait until it answers (it is in ``services`` even if that
        fails, so ``stop`` cleans up)."""
        if ready is None:
            if ready_url is None:
                raise ValueError("a service needs ready or ready_url")
            ready = functools.partial(_http_answers, ready_url, tuple(ready_statuses))
        log_path = None if self.log_dir is None else self.log_dir / f"{name.replace(' ', '-').lower()}.log"
        service = Service(name=name, command=list(command), ready=ready, timeout=timeout,
                          env={**self.child_env(), **(env or {})},
                          log_path=log_path, stop_grace=stop_grace)
        self.services.append(service)
        service.start()
        return service


def with_dev_secrets(settings: Settings, directory: Path = VAR_DIR) -> Settings:
    """Settings with PRIVACY_KEY, PANEL_ENCRYPTION_KEY, FORUM_SESSION_KEY and CHANNEL_HASH_KEY filled in for a
    developer's machine.

    ``make run`` must work with no configuration, but nothing may be stored under raw ids or in clear, so the first
    run makes random keys and keeps them in ``var/dev-secrets.json`` (readable by the owner only). Production sets
    both variables instead; keys from the environment always win.
    """
    if settings.privacy_key and settings.panel_key and settings.forum_session_key and settings.channel_hash_key:
        return settings
    from cryptography.fernet import Fernet  # only the supervisor needs it, and only here

    path = directory / DEV_SECRETS_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    if not isinstance(stored, dict):
        stored = {}
    made = {"PRIVACY_KEY": lambda: secrets.token_hex(32), "PANEL_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
            "FORUM_SESSION_KEY": lambda: Fernet.generate_key().decode(),
            "CHANNEL_HASH_KEY": lambda: secrets.token_hex(32)}
    missing = [name for name in made if not stored.get(name)]
    if missing:
        # Keep the keys already made (answers and panel contacts are stored under them); add only the new ones.
        stored.update({name: made[name]() for name in missing})
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(stored, handle)
        logger.warning("made development keys in %s (%s); set them in the environment in production", path,
                       ", ".join(missing))
    return replace(settings, privacy_key=settings.privacy_key or stored["PRIVACY_KEY"],
                   panel_key=settings.panel_key or stored["PANEL_ENCRYPTION_KEY"],
                   forum_session_key=settings.forum_session_key or stored["FORUM_SESSION_KEY"],
                   channel_hash_key=settings.channel_hash_key or stored["CHANNEL_HASH_KEY"])


def _http_answers(url: str, statuses: tuple) -> bool:
    """True when a GET of ``url`` answers with one of ``statuses``."""
    return _http_status(url) in statuses


def _http_status(url: str) -> Optional[int]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


def settings_with_free_ports(settings: Settings) -> Settings:
    """A copy of ``settings`` whose services all listen on free loopback ports (for tests)."""
    rasa_port = free_port()
    return replace(
        settings,
        redis_url=f"redis://{LOOPBACK}:{free_port()}/0",
        rasa_port=rasa_port,
        rasa_url=f"http://{LOOPBACK}:{rasa_port}",
        action_port=free_port(),
        web_host=LOOPBACK,
        web_port=free_port(),
    )
