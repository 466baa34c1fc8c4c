"""The evaluation kit's scorer (../shared/eval/score.py), loaded as a module so its own judge is used."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

SCORE_PY = Path(__file__).resolve().parents[3] / "shared" / "eval" / "score.py"


def load_scorer() -> Any:
    """``score.py`` as a module (``judge``, ``EXPECT``, ``GROUPS``).

    Raises:
        FileNotFoundError: the evaluation kit is not beside the project.
    """
    if not SCORE_PY.exists():
        raise FileNotFoundError(f"the evaluation kit is not at {SCORE_PY}")
    spec = importlib.util.spec_from_file_location("score", SCORE_PY)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module
