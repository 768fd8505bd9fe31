"""The catalogue (top-level ``checks/``) and the playbooks (``playbooks/``) ship inside the package as
``shine_ops.checks`` / ``shine_ops.playbooks``, and are found the same way in an editable install and in a wheel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

# what a wheel is built from: the same list Dockerfile.shine-ops copies
BUILD_INPUTS = ("pyproject.toml", "README.md", "shine_ops", "reference_service", "checks", "playbooks")


def test_the_catalogue_lives_at_the_top_level_and_is_found_through_the_package():
    from importlib import resources

    from shine_ops.engine.catalogue import builtin_dir

    assert not (REPO / "shine_ops" / "checks").exists() and not (REPO / "shine_ops" / "playbooks").exists()
    assert builtin_dir("checks") == REPO / "checks" and builtin_dir("playbooks") == REPO / "playbooks"
    assert Path(str(resources.files("shine_ops.checks"))) == REPO / "checks"  # the editable install's mapping


def test_every_package_folder_is_listed_in_pyproject():
    """Packages are listed, not found (the mapping needs it): a new subpackage missing here would be left out of
    the wheel."""
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for root in ("shine_ops", "reference_service")
               for p in (REPO / root).rglob("__init__.py") if "__pycache__" not in p.parts}
    on_disk |= set(cfg["package-dir"])  # shine_ops.checks, shine_ops.playbooks: mapped from the top level
    assert on_disk == listed
    assert cfg["package-dir"] == {"shine_ops.checks": "checks", "shine_ops.playbooks": "playbooks"}
    for dockerfile, dest in (("Dockerfile.shine-ops", "./"), ("Dockerfile", "/tmp/src/")):  # both build the package
        docker = (REPO / dockerfile).read_text()
        for item in BUILD_INPUTS[2:]:
            assert f"COPY {item} {dest}{item}" in docker, f"{dockerfile} does not copy {item}"


def _build_wheel(tmp_path: Path) -> Path:
    """A wheel built from a clean copy of the build inputs (never from the work tree's own build/ folder)."""
    src = tmp_path / "src"
    src.mkdir()
    for item in BUILD_INPUTS:
        p = REPO / item
        if p.is_dir():
            shutil.copytree(p, src / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(p, src / item)
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return next(out.glob("shine_ops-*.whl"))


@pytest.mark.slow
def test_wheel_ships_the_catalogue_and_a_fresh_install_lists_it(tmp_path):
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for check in (REPO / "checks").glob("*.yaml"):
        assert f"shine_ops/checks/{check.name}" in names
    for playbook in (REPO / "playbooks").glob("*.yaml"):
        assert f"shine_ops/playbooks/{playbook.name}" in names
    assert {"shine_ops/checks/__init__.py", "shine_ops/playbooks/__init__.py", "shine_ops/data/incident.yaml",
            "shine_ops/sandbox/scenarios/shine-incident.yaml", "shine_ops/sandbox/scenarios/healthy.yaml",
            "shine_ops/schemas/report-v1.json"} <= names
    assert not any(n.startswith(("checks/", "playbooks/")) for n in names), "no top-level packages named checks"

    # a fresh venv with only the wheel; its dependencies come from this venv, appended after its own site-packages
    # by a .pth line (that adds the folder only: this venv's editable-install hook is not run there)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    vpy = venv / "bin" / "python"
    site = subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "--no-deps", "-q",
                           str(wheel)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "no such option: --python" in proc.stderr:  # pip older than 22.3
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site,
                               str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(vpy), "-c", "import shine_ops.checks as c; from shine_ops.engine.catalogue import "
                            "Catalogue; cat = Catalogue.load(); print(c.__file__); print(len(cat.checks))"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert where.returncode == 0, where.stderr[-2000:]
    init, count = where.stdout.split()
    assert init.startswith(site) and int(count) == len(list((REPO / "checks").glob("*.yaml")))

    cli = [str(vpy), "-m", "shine_ops"]
    listed = subprocess.run([*cli, "checks", "list"], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120)
    assert listed.returncode == 0 and re.search(r"^sg\.alb-to-task-ingress\s+critical", listed.stdout, re.M), \
        listed.stderr[-2000:]
    playbooks = subprocess.run([*cli, "playbook", "list"], capture_output=True, text=True, cwd=tmp_path, env=env,
                               timeout=120)
    assert playbooks.returncode == 0 and "snail-trail" in playbooks.stdout and "tortoise" in playbooks.stdout
    shown = subprocess.run([*cli, "checks", "show", "FM-16"], capture_output=True, text=True, cwd=tmp_path, env=env,
                           timeout=120)
    assert shown.returncode == 0 and "cors.allows-frontend-origin" in shown.stdout, shown.stderr[-2000:]


@pytest.mark.slow
def test_editable_install_lists_the_same_catalogue():
    """The editable install of this venv (``pip install -e .``) maps shine_ops.checks to the top-level folder."""
    script = Path(sys.executable).parent / "shine-ops"
    listed = subprocess.run([str(script), "checks", "list", "--json"], capture_output=True, text=True, timeout=120,
                            cwd="/")
    assert listed.returncode == 0, listed.stderr
    import json

    assert len(json.loads(listed.stdout)) == len(list((REPO / "checks").glob("*.yaml")))
    playbooks = subprocess.run([str(script), "playbook", "list"], capture_output=True, text=True, timeout=120, cwd="/")
    assert playbooks.returncode == 0 and "snail-trail" in playbooks.stdout


def _test_functions() -> list[tuple[str, str, set[str]]]:
    """Every module-level ``def test_*`` of the suite: (its name, its module, the strings its module's code names).

    Parsed, not searched: a name in a comment, a docstring or a string is no test. The strings are the module's
    string constants outside docstrings (check ids, playbook names, parametrize tables)."""
    import ast

    out: list[tuple[str, str, set[str]]] = []
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        strings = {n.value for n in ast.walk(tree)
                   if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings}
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                out.append((node.name, module, strings))
    return out


def test_every_catalogue_check_has_a_registered_evaluator_and_a_test_named_after_it():
    """Each check with its own evaluator has a test pytest collects, named after it (``test_<id>...``), whose
    module evaluates that check: it names the check id, or a playbook that holds it."""
    import importlib
    import inspect

    from shine_ops.engine.catalogue import Catalogue

    cat = Catalogue.load()
    playbooks = {name: {e.check.id for e in cat.load_playbook(name).entries} for name in cat.playbook_names()}
    tests = _test_functions()
    for cid, chk in cat.checks.items():
        if chk.evaluator == "jmespath":  # written in YAML alone: the generic evaluator
            continue
        assert chk.evaluator == cid, f"{cid}: catalogue id and evaluator name must be one name"
        prefix = f"test_{cid.replace('.', '_').replace('-', '_')}"
        named = [(name, module, strings) for name, module, strings in tests if name.startswith(prefix)]
        assert named, f"no test named after {cid}"
        real = []
        for name, module, strings in named:
            fn = getattr(importlib.import_module(module), name, None)  # what pytest collects from the module
            evaluates = cid in strings or any(cid in playbooks.get(s, ()) for s in strings)
            if inspect.isfunction(fn) and fn.__name__ == name and evaluates:
                real.append(f"{module}::{name}")
        assert real, f"{cid}: the tests named after it ({', '.join(n for n, _, _ in named)}) do not evaluate it"
