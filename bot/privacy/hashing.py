"""Keyed hashes that stand in for the ids we must never store: sender ids, respondents, panel members.

Every hash is an HMAC-SHA256 under the deployment's ``PRIVACY_KEY`` with a *purpose* in the message, so the same
person gets unrelated hashes for different purposes: their conversation, their answers to one survey and their
answers to another cannot be joined without the key (issue #7). Without the key a hash cannot be turned back into
an id, even for ids with few possible values such as phone numbers.
"""

from __future__ import annotations

import hashlib
import hmac

HASH_HEX_CHARS = 32  # 128 bits: no collisions among any number of families, and short keys

TRACKER = "tracker"
RESPONDENT = "respondent"
PANEL_MEMBER = "panel"
LOG = "log"
RATE = "rate"


def keyed_hash(key: bytes, purpose: str, *parts: str) -> str:
    """HMAC-SHA256 of ``purpose`` and ``parts`` under ``key``, hex, 128 bits.

    Parts are joined with a separator that cannot occur in our ids, so ("a", "b:c") and ("a:b", "c") differ.
    """
    message = "\x1f".join((purpose, *parts)).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]


def tracker_key(key: bytes, sender_id: str) -> str:
    """What a conversation is stored under instead of its sender id."""
    return keyed_hash(key, TRACKER, sender_id)


def respondent_id(key: bytes, survey_id: str, sender_id: str) -> str:
    """Who answered one survey: the same person gets a different id in each survey."""
    return keyed_hash(key, RESPONDENT, survey_id, sender_id)


def panel_member_id(key: bytes, panel_id: str, sender_id: str) -> str:
    """Who is on one panel: derived from the sender id, so "delete my data" can find it, but never from answers."""
    return keyed_hash(key, PANEL_MEMBER, panel_id, sender_id)


def rate_key(key: bytes, sender_id: str) -> str:
    """What a sender's message count is kept under: not the sender id, which must never be a Redis key."""
    return keyed_hash(key, RATE, sender_id)


def log_ref(sender_id: str) -> str:
    """A short, unkeyed reference to a conversation for log lines: enough to follow one conversation through the
    logs, never the id itself (our sender ids are random or already keyed hashes, so this cannot be reversed)."""
    return hashlib.sha256(f"{LOG}:{sender_id}".encode("utf-8")).hexdigest()[:10]
