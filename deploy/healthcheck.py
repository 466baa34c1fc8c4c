#!/usr/bin/env python3
"""The containers' health check: ``healthcheck URL`` exits 0 when URL answers 200 within 3 seconds, else 1.

The image is python:3.10-slim, which has no curl; this uses the standard library only, so it starts in a few
milliseconds and loads none of the application. The reason for a failure goes to stderr, which Docker keeps in
``docker inspect --format '{{json .State.Health}}' CONTAINER``.
"""

import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 3


def main(argv):
    if len(argv) != 2:
        print("usage: healthcheck URL", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(argv[1], timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"{argv[1]}: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"{argv[1]}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
