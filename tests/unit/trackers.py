"""A rasa-sdk Tracker as an action sees it after one message, for the action tests (one helper, not one per file)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker


def tracker_after(text: str = "", intent: str = "", confidence: float = 0.9, *,
                  ranking: Optional[List[Dict[str, Any]]] = None, slots: Optional[Dict[str, Any]] = None,
                  active_loop: Optional[str] = None) -> Tracker:
    """The tracker of ``sender_id="unit-test"`` whose latest message is ``text``, read as ``intent``."""
    message: Dict[str, Any] = {"intent": {"name": intent, "confidence": confidence}, "text": text, "entities": []}
    if ranking is not None:
        message["intent_ranking"] = ranking
    return Tracker(
        sender_id="unit-test", slots=dict(slots or {}), latest_message=message, events=[], paused=False,
        followup_action=None, active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )
