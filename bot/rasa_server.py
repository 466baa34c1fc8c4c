"""Runs the `rasa` command line with one fix Rasa 3.6 lacks: the action server's answer is checked against a
schema compiled once, not compiled again for every custom action.

Why: Rasa checks each answer of the action server with ``jsonschema.validate(answer, schema)``, and that first
checks the schema itself against JSON Schema's meta-schema (Rasa's event schema is large). Profiling a busy server
(issue #11, py-spy) put 24-38 % of the Rasa server's CPU there, more than the NLU pipeline; the answer's own check is
under 1 %. The schema is Rasa's constant, so checking it once gives the same verdict for every answer, and the same
``ValidationError`` (the best match, with Rasa's message) for a bad one.

Usage: ``python -m bot.rasa_server run --model ... --endpoints ...`` takes exactly `rasa`'s arguments.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Dict, Text

import jsonschema
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


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


def install() -> None:
    """Use the compiled check in this process (and in the Sanic workers it forks)."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]


def main() -> None:
    """`rasa` itself, after ``install``."""
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()

