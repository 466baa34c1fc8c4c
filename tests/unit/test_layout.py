"""The architecture's one-way arrows: bot/ never imports actions/ or channels/, and those two never import each
other (../shared/design/architecture.md)."""

import ast
from pathlib import Path

import pytest

FORBIDDEN = {"bot": {"actions", "channels"}, "actions": {"channels"}, "channels": {"actions"}}


def _imported_packages(path: Path) -> set:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(project_dir: Path, package: str) -> None:
    """Each package imports only what the architecture allows."""
    for path in (project_dir / package).rglob("*.py"):
        bad = _imported_packages(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(project_dir)} imports {bad}"
