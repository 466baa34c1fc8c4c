"""Today's date for the actions, in one place, so tests can fix it (``monkeypatch.setattr(clock, "today", ...)``)."""

from datetime import date


def today() -> date:
    """The date the family is asking on (the server's local date)."""
    return date.today()
