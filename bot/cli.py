"""Command line: ``python -m bot run`` starts the whole local stack (what ``make run`` calls)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from typing import List, Optional

from bot.settings import Settings, SettingsError
from bot.stack import VAR_DIR, Stack, StackError

logger = logging.getLogger("bot")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def main(argv: Optional[List[str]] = None) -> int:
    """Parse the arguments and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start Redis, the action server, the Rasa server and the web app; Ctrl-C stops all")
    return main_from_args(parser.parse_args(argv))


def main_from_args(args: argparse.Namespace) -> int:
    """Do the work of a parsed command line; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        return _run(settings)
    return EXIT_USAGE


def _run(settings: Settings) -> int:
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # Ctrl-C reaches only us (each service has its own process group): we stop them in order.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    stack = Stack(settings)
    try:
        stack.start(redis_dir=VAR_DIR / "redis")
    except StackError as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"\n  The chat is ready: open {stack.web_url}  (Ctrl-C stops everything)\n", flush=True)
    code = EXIT_OK
    try:
        while not stopping:
            exited = stack.first_exited()
            if exited:
                logger.error("%s stopped unexpectedly (exit code %s); stopping the rest", exited.name,
                             exited.process.returncode)
                code = EXIT_FAILED
                break
            time.sleep(0.5)
    finally:
        stack.stop()
    return code
