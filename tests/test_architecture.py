"""The architecture stays visible: import direction, public API, wire protocol mirror."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import live
from live import protocol

LIVE = Path(live.__file__).parent
CORE = [
    "arguments",
    "catchup",
    "component",
    "diff",
    "mounted",
    "registry",
    "renderers",
    "state",
    "tokens",
    "types",
    "exceptions",
    "protocol",
    "permissions",
    "conf",
]
FORBIDDEN = (
    "channels",
    "daphne",
    "django.http",
    "django.views",
    "live.consumer",
    "live.views",
    "live.fanout",
    "live.templatetags",
)


@pytest.mark.parametrize("module", CORE)
def test_core_never_imports_transport_code(module: str) -> None:
    tree = ast.parse((LIVE / f"{module}.py").read_text())
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
    bad = [name for name in imported if name.startswith(FORBIDDEN)]
    assert bad == []


def test_public_api_is_sorted_and_importable() -> None:
    assert live.__all__ == sorted(live.__all__)
    for name in live.__all__:
        assert getattr(live, name) is not None
    with pytest.raises(AttributeError, match="module 'live' has no attribute 'nope'"):
        live.nope  # noqa: B018


def test_live_js_mirrors_the_protocol_module() -> None:
    source = (LIVE / "static" / "live" / "live.js").read_text()
    block = source.split("// protocol:begin", 1)[1].split("// protocol:end", 1)[0]
    mirrored = dict(re.findall(r"^\s*([A-Z_0-9]+):\s*(\"[^\"]*\"|\d+),?\s*$", block, re.M))
    expected = {
        name: getattr(protocol, name)
        for name in dir(protocol)
        if name.isupper()
        and isinstance(getattr(protocol, name), str | int)
        and not isinstance(getattr(protocol, name), bool)
    }
    parsed = {
        name: (int(value) if value.isdigit() else value.strip('"'))
        for name, value in mirrored.items()
    }
    assert parsed == expected


def test_every_internal_module_says_so() -> None:
    for module in [
        "arguments",
        "catchup",
        "conf",
        "diff",
        "mounted",
        "protocol",
        "registry",
        "scheduling",
        "state",
        "tokens",
        "types",
        "apps",
    ]:
        doc = ast.get_docstring(ast.parse((LIVE / f"{module}.py").read_text())) or ""
        assert doc.startswith("Internal"), module


def test_all_matches_the_lazy_exports() -> None:
    from live import _EXPORTS

    assert sorted(_EXPORTS) == live.__all__


def test_no_public_name_is_shadowed_by_a_submodule() -> None:
    # Importing live.x sets the attribute live.x to the module, hiding a lazy export "x".
    modules = {path.stem for path in LIVE.glob("*.py")} | {
        path.name for path in LIVE.iterdir() if (path / "__init__.py").exists()
    }
    assert sorted(set(live.__all__) & modules) == []
