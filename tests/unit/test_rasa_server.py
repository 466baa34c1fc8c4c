"""bot/rasa_server.py: the action server's answers are checked as strictly as Rasa checks them, with the schema
compiled once; events are found by name as Rasa finds them, from a table."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses

from bot import rasa_server

RASAS_OWN = RemoteAction._validate_action_result
GOOD = {"events": [{"event": "slot", "name": "survey_id", "value": "strong_voices"}, {"event": "followup",
                                                                                   "name": "action_listen"}],
        "responses": [{"text": "Thank you", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]}
BAD = [
    {"events": [{"event": "slot"}]},  # a slot event without its name
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": ["not an object"]},
]


@pytest.fixture
def ours(monkeypatch: pytest.MonkeyPatch) -> RemoteAction:
    """An action whose answers are checked by rasa_server's check, as in the server after install()."""
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RASAS_OWN)  # put back after the test
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    rasa_server.install()
    return RemoteAction("action_test", None)


def test_install_replaces_rasas_check(ours: RemoteAction) -> None:
    assert RemoteAction._validate_action_result is rasa_server.validate_action_result


def test_a_good_answer_passes_both_checks(ours: RemoteAction) -> None:
    assert RASAS_OWN(RemoteAction("action_test", None), copy.deepcopy(GOOD)) is True
    assert ours._validate_action_result(copy.deepcopy(GOOD)) is True


@pytest.mark.parametrize("answer", BAD)
def test_a_bad_answer_fails_with_rasas_own_error(answer: dict, ours: RemoteAction) -> None:
    with pytest.raises(jsonschema.ValidationError) as theirs:
        RASAS_OWN(RemoteAction("action_test", None), answer)
    with pytest.raises(jsonschema.ValidationError) as mine:
        ours._validate_action_result(answer)
    assert mine.value.message == theirs.value.message
    assert "Failed to validate Action server response" in mine.value.message


def test_the_schema_is_compiled_once() -> None:
    assert rasa_server.action_response_validator() is rasa_server.action_response_validator()


def test_every_event_class_is_found_as_rasa_finds_it(ours: RemoteAction) -> None:
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "session_started", "active_loop"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is rasa_server._RASAS_RESOLVE_BY_TYPE(name)
        assert Event.resolve_by_type(name) is rasa_server._RASAS_RESOLVE_BY_TYPE(name)  # now from the table


def test_unknown_names_behave_as_in_rasa(ours: RemoteAction) -> None:
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None  # Rasa's backwards compatibility
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")  # a miss is never remembered as its default


def test_a_stored_conversation_loads_the_same(ours: RemoteAction) -> None:
    events = [ActionExecuted("action_listen"), UserUttered("hello", {"name": "greet", "confidence": 1.0}),
              SlotSet("survey_id", "strong_voices")]
    loaded = [Event.from_parameters(event.as_dict()) for event in events]
    assert loaded == events
