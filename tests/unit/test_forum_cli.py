"""`python -m bot export` and `python -m bot forum add-user` (issue #8): exit codes and messages a forum volunteer
can act on, files written whole or not at all, and an export of 100,000 responses, all against a real Redis."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis

import bot.cli
from bot.stack import LOOPBACK, free_port
from bot.surveys.definitions import load_surveys
from tests.bench.export import seed

SURVEY = load_surveys()["parent_carer_forum"]
MANY = 100_000


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> pytest.MonkeyPatch:
    monkeypatch.setenv("REDIS_URL", redis_url)
    return monkeypatch


def _export(out: Path, fmt: str = "csv", *extra: str) -> int:
    return bot.cli.main(["export", "--survey", SURVEY.id, "--format", fmt, "--out", str(out), *extra])


def test_unknown_survey_exits_2_in_one_line(cli_env: pytest.MonkeyPatch, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    assert bot.cli.main(["export", "--survey", "no_such", "--format", "csv", "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "Unknown survey 'no_such'" in err and "parent_carer_forum" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["missing-folder/out.csv", "a-folder"])
def test_an_unwritable_path_exits_2_before_reading_redis(cli_env: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture, where: str) -> None:
    (tmp_path / "a-folder").mkdir()
    cli_env.setenv("REDIS_URL", f"redis://{LOOPBACK}:{free_port()}/0")  # never reached
    assert _export(tmp_path / where) == 2
    err = capsys.readouterr().err
    assert err.startswith("Cannot write") and "Traceback" not in err


def test_a_read_only_folder_exits_2(cli_env: pytest.MonkeyPatch, tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write into a read-only folder")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert _export(folder / "out.csv") == 2
        assert "Cannot write" in capsys.readouterr().err
    finally:
        folder.chmod(0o700)


def test_redis_down_exits_1_without_a_traceback(cli_env: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    port = free_port()
    cli_env.setenv("REDIS_URL", f"redis://:hunter2@{LOOPBACK}:{port}/0")
    started = time.monotonic()
    assert _export(tmp_path / "out.xlsx", "xlsx") == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert f"Redis is not available at {LOOPBACK}:{port}" in err and "hunter2" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no half-written file


def test_closed_only_refuses_an_open_survey(cli_env: pytest.MonkeyPatch, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    if date.today() > SURVEY.closes:
        pytest.skip("the survey has closed")
    assert _export(tmp_path / "out.csv", "csv", "--closed-only") == 2
    assert "not final" in capsys.readouterr().err


def test_a_range_that_ends_before_it_starts_exits_2(cli_env: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    assert _export(tmp_path / "out.csv", "csv", "--from", "2026-12-10", "--to", "2026-12-01") == 2
    assert "ends" in capsys.readouterr().err


def test_bad_dates_and_thresholds_are_usage_errors(cli_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for extra in (["--from", "31/12/2026"], ["--threshold", "1"], ["--threshold", "five"]):
        with pytest.raises(SystemExit) as caught:
            _export(tmp_path / "out.csv", "csv", *extra)
        assert caught.value.code == 2


def test_an_export_of_100000_responses_completes(cli_env: pytest.MonkeyPatch, redis_url: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    """Every response is a row; the summary and the dictionary are written beside the CSV (issue #8)."""
    asyncio.run(seed(redis_url, SURVEY, MANY))
    out = tmp_path / "forum.csv"
    assert _export(out) == 0
    assert f"{MANY} responses exported" in capsys.readouterr().out
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    assert rows == MANY
    assert (tmp_path / "forum_summary.csv").stat().st_size > 0
    assert (tmp_path / "forum_dictionary.csv").stat().st_size > 0
    assert oct(out.stat().st_mode & 0o777) == "0o600"  # row-level answers: for the person who exported them


def test_a_date_range_exports_only_its_days(cli_env: pytest.MonkeyPatch, redis_url: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    """--from/--to keep the responses given on those days (inclusive), read from the store's index."""
    asyncio.run(seed(redis_url, SURVEY, 240))  # two responses a day over 120 days
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    days = sorted({d for _, d in client.zrange(f"send:survey:{SURVEY.id}:index", 0, -1, withscores=True)})
    client.close()
    first = date(1970, 1, 1) + timedelta(seconds=days[10])
    last = first + timedelta(days=6)
    assert _export(tmp_path / "week.json", "json", "--from", first.isoformat(), "--to", last.isoformat()) == 0
    assert "14 responses exported" in capsys.readouterr().out
    # The export is in the audit log: who, what, when and the range asked for, never a figure or an answer.
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    entries = [fields for _, fields in client.xrange("send:forum:audit")]
    client.close()
    assert len(entries) == 1 and entries[0]["who"].startswith("cli:") and entries[0]["action"] == "export"
    assert first.isoformat() in entries[0]["params"]
    assert set(entries[0]) <= {"at", "who", "action", "survey", "format", "params"}


def test_add_user_with_a_password_on_stdin(cli_env: pytest.MonkeyPatch, redis_url: str,
                                           capsys: pytest.CaptureFixture) -> None:
    """The account is made with the password from stdin and stored only as an Argon2 hash (issue #8)."""
    cli_env.setattr("sys.stdin", io.StringIO("correct horse battery staple\n"))
    assert bot.cli.main(["forum", "add-user", "Alex", "--password-stdin"]) == 0
    assert "Added forum member alex" in capsys.readouterr().out
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    stored = " ".join(str(v) for key in client.scan_iter("send:forum:user:*") for v in client.hgetall(key).values())
    client.close()
    assert "$argon2id$" in stored and "correct horse" not in stored
    cli_env.setattr("sys.stdin", io.StringIO("short\n"))
    assert bot.cli.main(["forum", "add-user", "sam", "--password-stdin"]) == 2
    assert "Cannot add 'sam'" in capsys.readouterr().err


def test_remove_user_deletes_the_account(cli_env: pytest.MonkeyPatch, redis_url: str,
                                         capsys: pytest.CaptureFixture) -> None:
    """A member who leaves the forum is removed; removing someone unknown says so and exits 2."""
    cli_env.setattr("sys.stdin", io.StringIO("correct horse battery staple\n"))
    assert bot.cli.main(["forum", "add-user", "sam", "--password-stdin"]) == 0
    assert bot.cli.main(["forum", "remove-user", "Sam"]) == 0
    assert "Removed forum member sam" in capsys.readouterr().out
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert list(client.scan_iter("send:forum:user:*")) == []
    client.close()
    assert bot.cli.main(["forum", "remove-user", "sam"]) == 2
    assert "no account called sam" in capsys.readouterr().err
