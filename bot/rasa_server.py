"""Runs the `rasa` command line with two fixes for work Rasa 3.6 repeats on every turn, found by profiling a busy
server (issue #11, py-spy); each gives the same result as Rasa's own code.

- **The action server's answer** is checked against a schema compiled once. Rasa calls ``jsonschema.validate(answer,
  schema)``, which first checks the schema itself against JSON Schema's meta-schema (Rasa's event schema is large):
  24-38 % of the server's CPU, more than the NLU pipeline, while the answer's own check is under 1 %. The schema is
  Rasa's constant, so checking it once gives the same verdict for every answer, and the same ``ValidationError``
  (the best match, with Rasa's message) for a bad one.
- **An event's class** is found by its type name in a table, not by walking every subclass of ``Event`` (and asking
  ``inspect`` whether each is abstract) for each event of each stored conversation loaded: 10 % of the CPU of a
  turn late in a long conversation. A name the table lacks is looked up Rasa's way, so events defined later work.

Usage: ``python -m bot.rasa_server run --model ... --endpoints ...`` takes exactly `rasa`'s arguments.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Dict, Optional, Text, Type

import jsonschema
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Any:
    """A validator for Rasa's action-server answer schema, the schema itself checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the compiled validator.

    Raises:
        jsonschema.ValidationError: the answer breaks the schema (the same error, and message, as Rasa's own check).
    """
    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action endpoint "
        f"is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


_RASAS_RESOLVE_BY_TYPE = Event.resolve_by_type
_EVENT_CLASSES: Dict[str, Type[Event]] = {}


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """``Event.resolve_by_type`` from a table of the classes already found (Rasa's own search on a miss)."""
    found = _EVENT_CLASSES.get(type_name)
    if found is None:
        found = _RASAS_RESOLVE_BY_TYPE(type_name, default)
        if found is not None and found is not default:
            _EVENT_CLASSES[type_name] = found
    return found


def install() -> None:
    """Use both fixes in this process (and in the Sanic workers it forks)."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]


def main() -> None:
    """`rasa` itself, after ``install``."""
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()

