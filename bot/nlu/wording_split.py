"""Which side of the line a public page is on: real wording for training, or for the real-world dev set.

Why: the dev set only measures how the assistant does on real people's words if none of its pages also fed the
training data. Splitting by a hash of the page's address makes the two sides disjoint by construction, so
whoever gathers examples (for training or for the dev set) can tell at once whether a page is theirs to use.
About a quarter of pages belong to the dev set.

    python -m bot.nlu.wording_split URL [URL ...]   # prints "dev" or "train" for each
"""

from __future__ import annotations

import hashlib
import sys
from urllib.parse import urlsplit

DEV, TRAIN = "dev", "train"
DEV_DIGITS = "0123"  # first hex digit of the page's hash: 4 of 16, about a quarter


def page_of(url: str) -> str:
    """The page an address names: no scheme, no "www.", no query or fragment, no trailing slash, lower case.

    A forum thread is one page whatever post or reply the address points at (Mumsnet's ``?postsby=…&msgid=…``).
    """
    parts = urlsplit(url.strip() if "//" in url else "//" + url.strip())
    host = parts.netloc.lower()
    host = host[4:] if host.startswith("www.") else host
    return (host + parts.path.rstrip("/")).lower()


def split_of(url: str) -> str:
    """``"dev"`` or ``"train"`` for the page ``url`` names."""
    digest = hashlib.sha256(page_of(url).encode("utf-8")).hexdigest()
    return DEV if digest[0] in DEV_DIGITS else TRAIN


if __name__ == "__main__":
    for address in sys.argv[1:]:
        print(split_of(address), address)
