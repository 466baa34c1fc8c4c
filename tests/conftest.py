"""Fixtures shared by unit and integration tests."""

from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project_dir() -> Path:
    """The repository root (tests read the real data files from it)."""
    return PROJECT_DIR
