"""Layers point one way: the change runner and its strategies import neither the CLI, the sandbox nor the
reference service (not even lazily inside a function), and the journal's folder comes from the configuration."""

from __future__ import annotations

import ast
from pathlib import Path

import shine_ops

PACKAGE = Path(shine_ops.__file__).parent
BELOW_THE_CLI = ["changes", "bluegreen", "deploy.py", "deploy_bluegreen.py", "fixes/apply.py", "fixes/journal.py",
                 "fixes/cleanup.py", "fixes/wait.py", "faults.py", "config.py"]
ABOVE = ("shine_ops.cli", "shine_ops.sandbox", "reference_service")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_the_change_runner_and_its_strategies_import_nothing_above_them():
    files = [f for name in BELOW_THE_CLI for f in ([PACKAGE / name] if name.endswith(".py")
                                                  else sorted((PACKAGE / name).glob("*.py")))]
    assert len(files) > len(BELOW_THE_CLI)
    wrong = {f"{f.relative_to(PACKAGE)}: {m}" for f in files for m in _imports(f) if m.startswith(ABOVE)}
    assert wrong == set()


def test_the_journal_lives_in_the_configured_state_folder(monkeypatch, tmp_path):
    from shine_ops.config import state_dir
    from shine_ops.fixes.journal import Journal

    monkeypatch.setenv("SHINE_OPS_STATE_DIR", str(tmp_path / "state"))
    assert state_dir() == tmp_path / "state"
    assert Journal.default().path == tmp_path / "state" / "journal.db"


def test_nothing_below_the_cli_imports_the_cli_the_sandbox_or_the_reference_service():
    """The whole package, not only the change runner: only ``cli/`` (and ``__main__``) may import the CLI, only
    ``cli/`` and ``sandbox/`` the sandbox or the reference service."""
    wrong = set()
    for f in sorted(PACKAGE.rglob("*.py")):
        rel = f.relative_to(PACKAGE)
        top = rel.parts[0]
        if top in ("cli", "__main__.py"):
            continue
        allowed_above = ("shine_ops.sandbox",) if top == "sandbox" else ()
        wrong |= {f"{rel}: {m}" for m in _imports(f) if m.startswith(ABOVE) and not m.startswith(allowed_above)}
    assert wrong == set()
