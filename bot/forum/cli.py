"""The forum's commands: ``python -m bot export`` and ``python -m bot forum add-user|remove-user`` (wired in
``bot.cli``).

Exit codes follow the rest of the CLI: 0 done, 1 Redis failed (run again), 2 a usage or configuration problem the
person at the keyboard can fix (unknown survey, a path that cannot be written, a survey still open).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from bot.settings import Settings
from bot.surveys.definitions import survey_today

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _redis_down(settings: Settings) -> int:
    """Say Redis cannot be reached (host and port, never the password); the exit code to return."""
    return _fail(f"Redis is not available at {settings.redis.where}: start it (make run) or set REDIS_URL",
                 EXIT_FAILED)


def output_paths(out: Path, fmt: str) -> Dict[str, Path]:
    """Where each file of an export goes: ``{download name: path}``; csv adds the summary and the dictionary."""
    from bot.forum.export import CSV_COMPANIONS

    paths = {fmt: out}
    if fmt == "csv":
        stem = out.with_suffix("") if out.suffix.lower() == ".csv" else out
        paths.update({name: stem.with_name(stem.name + companion.suffix) for name, companion in CSV_COMPANIONS.items()})
    return paths


def _check_writable(paths: Dict[str, Path]) -> Optional[str]:
    """None when every file can be written, else the sentence saying why not (checked before Redis is read)."""
    for path in paths.values():
        folder = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            return f"Cannot write {path}: it is a folder; give a file name, e.g. {path / 'export'}"
        if not folder.is_dir():
            return f"Cannot write {path}: the folder {folder} does not exist"
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".export-check-"):
                pass
        except OSError as error:
            return f"Cannot write {path}: {error.strerror or error}"
    return None


def export(settings: Settings, args: argparse.Namespace, survey: Any) -> int:
    """Write one survey's export; every file appears whole or not at all."""
    from bot.forum.export import ExportError, ExportOptions

    paths = output_paths(Path(args.out), args.format)
    problem = _check_writable(paths)
    if problem:
        return _fail(problem, EXIT_USAGE)
    options = ExportOptions(date_from=args.date_from, date_to=args.date_to, closed_only=args.closed_only,
                            threshold=args.threshold or settings.suppression_threshold)
    try:
        options.check(survey, survey_today())
        written = asyncio.run(_export(settings, survey, options, args.format, paths))
    except ExportError as error:
        return _fail(f"Cannot export: {error}", EXIT_USAGE)
    except OSError as error:
        return _fail(f"Cannot write the export: {error}", EXIT_USAGE)
    except Exception as error:  # noqa: BLE001 - Redis errors, named below without a traceback
        from bot.surveys.store import SurveyStoreError, SurveyStoreUnavailable

        if isinstance(error, SurveyStoreUnavailable):
            return _redis_down(settings)
        if isinstance(error, SurveyStoreError):
            return _fail(f"Redis refused: {error}", EXIT_FAILED)
        raise
    responses, files = written
    print(f"Survey {survey.id}: {responses} responses exported (counts under {options.threshold} suppressed) to "
          + ", ".join(str(path) for path in files))
    return EXIT_OK


async def _export(settings: Settings, survey: Any, options: Any, fmt: str,
                  paths: Dict[str, Path]) -> Tuple[int, List[Path]]:
    from bot.forum.audit import AuditLog
    from bot.forum.export import DOWNLOADS, build_export, load_classifier
    from bot.forum.updates import UpdateStore
    from bot.surveys.store import SurveyStore, redis_client

    store = SurveyStore.from_settings(settings)
    client = redis_client(settings.redis_url)
    try:
        update = await UpdateStore(client).get(survey.id)
        with _progress_bar() as progress:
            data = await build_export(store, survey, options, classifier=load_classifier(), update=update,
                                      progress=progress, today=survey_today())
        files = [_write_atomically(path, DOWNLOADS[name].write, data) for name, path in paths.items()]
        await AuditLog(client).record(f"cli:{_os_user()}", "export", survey.id, fmt=fmt,
                                      params=_audit_params(options))
    finally:
        await store.close()
        await client.close()
    return len(data.responses), files


def _audit_params(options: Any) -> Dict[str, str]:
    """What the export covered, for the audit log (never a figure)."""
    return {"from": str(options.date_from or ""), "to": str(options.date_to or ""),
            "closed_only": str(options.closed_only).lower(), "threshold": str(options.threshold)}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return str(os.getuid())


def _write_atomically(path: Path, write: Callable[[Any, Any], None], data: Any) -> Path:
    """Write to a hidden file beside ``path``, then rename: a failed export never leaves half a spreadsheet."""
    folder = path.parent if str(path.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            write(stream, data)
        os.chmod(temporary, 0o600)  # row-level answers: readable by the person who exported them
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class _progress_bar:
    """A tqdm bar on stderr while responses are read; silent when stderr is not a terminal (CI, cron)."""

    def __enter__(self) -> Callable[[int, int], None]:
        from tqdm import tqdm

        self._bar: Any = None
        self._stack = ExitStack()

        def update(done: int, total: int) -> None:
            if self._bar is None:
                self._bar = self._stack.enter_context(
                    tqdm(total=total, unit=" responses", desc="Reading", file=sys.stderr, disable=None, leave=False)
                )
            self._bar.update(done - self._bar.n)

        return update

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()


def add_user(settings: Settings, name: str, *, password_stdin: bool, replace: bool) -> int:
    """Create (or, with ``replace``, reset) a forum member's account; the password is asked twice, never echoed."""
    from bot.forum.accounts import AccountError, add_user as add_account
    from bot.surveys.store import SurveyStoreUnavailable

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same password again: ") != password:
            return _fail("The two passwords differ; nothing was changed.", EXIT_USAGE)
    try:
        asyncio.run(add_account(settings, name, password, replace=replace))
    except AccountError as error:
        return _fail(f"Cannot add {name!r}: {error}", EXIT_USAGE)
    except SurveyStoreUnavailable:
        return _redis_down(settings)
    print(f"{'Password changed for' if replace else 'Added'} forum member {name.lower()}; they can log in at /forum")
    return EXIT_OK


def remove_user(settings: Settings, name: str) -> int:
    """Delete a forum member's account; their open sessions stop working at their next request."""
    from bot.forum.accounts import AccountError, remove_user as remove_account
    from bot.surveys.store import SurveyStoreUnavailable

    try:
        removed = asyncio.run(remove_account(settings, name))
    except AccountError as error:
        return _fail(f"Cannot remove {name!r}: {error}", EXIT_USAGE)
    except SurveyStoreUnavailable:
        return _redis_down(settings)
    print(f"Removed forum member {removed}")
    return EXIT_OK
