"""_compat: the private third-party names, and their public fallbacks."""

import ast
from pathlib import Path

import pytest
import sklearn

from sklearn_xai.utils import _compat


@pytest.mark.parametrize("private", [True, False], ids=["private", "fallback"])
@pytest.mark.parametrize("enabled", [True, False])
def test_routing_enabled_follows_the_config(private, enabled, monkeypatch):
    if not private:
        # As if scikit-learn had moved its private helper.
        monkeypatch.setattr(_compat, "_routing_enabled", None)
    with sklearn.config_context(enable_metadata_routing=enabled):
        assert _compat.routing_enabled() is enabled


def private_imports(path):
    """Third-party private modules or names that ``path`` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = [(node.module, [alias.name for alias in node.names])]
        else:
            continue
        for module, names in modules:
            if module.split(".")[0] == "sklearn_xai":
                continue
            parts = module.split(".") + names
            if any(part.startswith("_") and part != "__future__" for part in parts):
                found.append(f"{path.name}:{node.lineno} {module} {names}")
    return found


def test_private_third_party_imports_only_in_compat():
    package = Path(_compat.__file__).parents[1]
    found = [
        hit
        for path in sorted(package.rglob("*.py"))
        if path.name != "_compat.py"
        for hit in private_imports(path)
    ]
    assert found == []
