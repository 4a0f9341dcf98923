"""Tests that guard the design (README "How it is built"), by reading the source with ``ast``.

- The core (``validators/``) is plain Python: it never imports Streamlit, ``ui`` or ``pages``,
  so the CLI and the browser share it and it can be tested without a browser.
- Pages are thin: they import Streamlit glue from ``ui/`` and, from the core, only the workspace
  facade ``validators.session`` (:data:`PAGE_CORE_MODULES`); ``ui/`` reaches the store only through it.
- Every finding code the checks emit is declared once in ``validators/codes.py``, with the
  severity it is emitted with; nothing decides by matching the text of a message.
- Tests wait for state, never for a fixed time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from validators import codes
from validators.checking import pii

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "validators"

# The core modules a page may import, and why: only the workspace facade.  It re-exports the
# types and reference data the pages show (see ``validators.session.__all__``); the SQLite store,
# the checks, worker processes and the provider client are reached through it or through ui/.
PAGE_CORE_MODULES = {
    "validators.session": "the workspace facade: examples, options, checks, fixes, export, reports, reference data",
}
STORE = "validators.storing.workspace"  # the SQLite store: ui/ and pages reach it only through the facade
FORBIDDEN_IN_CORE = ("streamlit", "ui", "pages", "tests")


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in ``path``, also inside functions,
    plus ``importlib.import_module("x")`` / ``__import__("x")`` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)  # a submodule, or a name in base
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__"):
                yield node.lineno, node.args[0].value


def top(module: str) -> str:
    return module.split(".")[0]


def test_core_never_imports_streamlit_or_ui() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {mod}"
        for path in python_files(CORE) for line, mod in imported_modules(path) if top(mod) in FORBIDDEN_IN_CORE
    ]
    assert bad == []


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The scanner itself: a late import or import_module call must not slip through."""
    probe = ROOT / "validators" / "_probe_for_test.py"
    probe.write_text("def f():\n    import streamlit as st\n    from ui import live\n    importlib.import_module('ui.state')\n", encoding="utf-8")
    try:
        found = [mod for _line, mod in imported_modules(probe)]
    finally:
        probe.unlink()
    assert {"streamlit", "ui.live", "ui.state"} <= set(found)


def page_files() -> list[Path]:
    return [*python_files(ROOT / "pages"), ROOT / "app.py"]


def test_pages_import_only_ui_and_the_allowed_core_modules() -> None:
    bad = []
    for path in page_files():
        for line, mod in imported_modules(path):
            if top(mod) == "validators":
                if mod not in PAGE_CORE_MODULES and mod.rsplit(".", 1)[0] not in PAGE_CORE_MODULES:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod} (go through ui/, or add it to PAGE_CORE_MODULES with a reason)")
            elif top(mod) in ("pages", "sqlite3", "tests"):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    assert bad == []


def test_pages_use_the_facade() -> None:
    """The scan above is not vacuous: every page reaches the core, and only through the facade."""
    for path in python_files(ROOT / "pages"):
        core = {mod for _line, mod in imported_modules(path) if top(mod) == "validators"}
        assert core, f"{path.name} imports nothing from the core"
        assert {m if m in PAGE_CORE_MODULES else m.rsplit(".", 1)[0] for m in core} == {"validators.session"}, path.name


def test_ui_and_pages_reach_the_store_only_through_the_facade() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {mod}"
        for p in [*python_files(ROOT / "ui"), *page_files()] for line, mod in imported_modules(p)
        if mod == STORE or mod.startswith(STORE + ".")
    ]
    assert bad == []


def test_the_facade_exports_what_it_lists() -> None:
    from validators import session

    assert [name for name in session.__all__ if not hasattr(session, name)] == []


def test_ui_never_imports_pages() -> None:
    bad = [f"{p.relative_to(ROOT)}:{line}" for p in python_files(ROOT / "ui") for line, mod in imported_modules(p) if top(mod) == "pages"]
    assert bad == []


def emitted_codes() -> Iterator[tuple[str, int, str, str | None]]:
    """(file, line, code, severity) for every ``finding(...)`` / ``Finding(...)`` in the core
    whose code is written out; an f-string code is reported by its literal prefix."""
    for path in python_files(CORE):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("finding", "Finding", "_at") and len(node.args) >= 2):
                continue
            sev, code = node.args[0], node.args[1]
            severity = sev.value if isinstance(sev, ast.Constant) else None
            where = str(path.relative_to(ROOT))
            if isinstance(code, ast.Constant):
                yield where, node.lineno, code.value, severity
            elif isinstance(code, ast.JoinedStr) and code.values and isinstance(code.values[0], ast.Constant):
                yield where, node.lineno, str(code.values[0].value), severity  # a family such as missing_*


def test_every_emitted_code_is_declared_with_its_severity() -> None:
    found = list(emitted_codes())
    assert len(found) > 30  # the scan works: the checks emit many codes
    problems = []
    for where, line, code, severity in found:
        declared = codes.lookup(code) or codes.FAMILIES.get(code)
        if declared is None:
            problems.append(f"{where}:{line}: {code!r} is not declared in validators/codes.py")
        elif severity is not None and declared.severity != severity:
            problems.append(f"{where}:{line}: {code!r} is emitted as a {severity}, declared as a {declared.severity}")
    assert problems == []


def test_codes_built_at_run_time_are_declared() -> None:
    """Codes the scan above cannot read: personal data kinds, duplicates, unreadable rows."""
    for code in [*pii.CODE.values(), "exact_duplicate", "near_duplicate", "empty_row", "unreadable", "formula_not_calculated"]:
        assert codes.lookup(code) is not None, code
    assert codes.scope("pii_email") is codes.Scope.EXAMPLE
    assert codes.scope("near_duplicate") is codes.Scope.DATASET
    assert codes.scope("missing_content") is codes.Scope.EXAMPLE and codes.scope("missing_system") is codes.Scope.DATASET
    assert codes.scope("missing_conversation_id") is codes.Scope.READ


TEXT_TESTS = ("startswith", "endswith", "find", "index", "count", "search", "match")
LIBRARY_ERRORS = {"err", "exc", "error"}  # a library's exception text (jsonschema's) is not one of our messages


def _our_text(node: ast.expr) -> str | None:
    """``x.message`` / ``x.dropped`` of a finding or an example (not of a library's error)."""
    library = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in LIBRARY_ERRORS
    return node.attr if isinstance(node, ast.Attribute) and node.attr in ("message", "dropped", "problem") and not library else None


def test_nothing_decides_by_the_text_of_a_message() -> None:
    """Findings are told apart by ``code`` and fields, left-out examples by ``dropped_code``:
    no ``"..." in f.message``, no ``ex.dropped.startswith(...)``, no ``"empty" in ex.problem``."""
    bad = []
    for path in [*python_files(CORE), *python_files(ROOT / "ui"), *page_files()]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text_attr = None
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                text_attr = next(filter(None, map(_our_text, node.comparators)), None)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TEXT_TESTS:
                text_attr = _our_text(node.func.value)
            if text_attr:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} matches text in .{text_attr}")
    assert bad == []


SLEEPS = {"sleep", "wait_for_timeout"}
POLL_HELPERS = {"tests/browser_util.py": "wait_until"}  # the one place that pauses: between polls of a state


@pytest.mark.parametrize("path", python_files(ROOT / "tests"), ids=lambda p: p.name)
def test_tests_wait_for_state_not_for_time(path: Path) -> None:
    """A fixed sleep passes on an idle machine and fails on a busy one; wait for the state."""
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: list[range] = [
        range(n.lineno, (n.end_lineno or n.lineno) + 1) for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and POLL_HELPERS.get(rel) == n.name
    ]
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in SLEEPS and not any(node.lineno in r for r in allowed):
                bad.append(f"{rel}:{node.lineno} calls {name}")
    assert bad == []


CORE_TOP = {"catalog", "cli", "codes", "errors", "model", "session"}  # shared vocabulary and entry points
CORE_STEPS = {"checking", "counting", "exporting", "reading", "storing", "streaming", "submitting"}


def test_the_core_is_grouped_by_step() -> None:
    """A newcomer finds each step in one look (README "Layout"): the top of validators/ holds
    only the shared vocabulary and the entry points; every other module lives in its step's
    subpackage, whose docstring says what the step does."""
    flat = sorted(p.name for p in CORE.glob("*.py") if p.stem not in CORE_TOP and not p.stem.startswith("_"))
    assert flat == [], f"put these in the subpackage of their step ({', '.join(sorted(CORE_STEPS))}): {flat}"
    steps = {p.name for p in CORE.iterdir() if (p / "__init__.py").exists()}
    assert steps == CORE_STEPS
    for step in steps:
        assert ast.get_docstring(ast.parse((CORE / step / "__init__.py").read_text(encoding="utf-8"))), step
