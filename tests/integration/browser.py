"""Debian's Chromium for the page tests, driven by playwright: how it is launched and how axe-core is read.

Both the chat page's and the forum dashboard's tests use it, so they test under the same browser and the same
accessibility bar.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# No sandbox: the tests run as root in a container. The rest stop Chromium calling home (the network is local only).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1024, "height": 768}
NARROW = {"width": 320, "height": 640}
BLOCKING_IMPACTS = {"serious", "critical"}


def launch_chromium() -> Iterator[Browser]:
    """One Chromium (for a module-scoped fixture); each test gets its own context."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def serious_violations(page: Page) -> List[Dict[str, Any]]:
    """Run axe-core on the page and keep the violations that block people: impact serious or critical."""
    results = Axe().run(page)
    return [
        {"id": violation["id"], "impact": violation["impact"], "nodes": [n["target"] for n in violation["nodes"]]}
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def has_no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
