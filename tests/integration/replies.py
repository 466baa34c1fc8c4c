"""Reading the bot's replies the way a user (and the eval script) sees them."""

from typing import List


def reply_text(messages: List[dict]) -> str:
    """All the bot's texts and button titles of one turn, joined."""
    parts = []
    for message in messages:
        parts.append(message.get("text") or "")
        parts.extend(button.get("title") or "" for button in message.get("buttons") or [])
    return "\n".join(parts)
