"""Every evaluator module is loaded: ``load_builtin`` imports each module of ``shine_ops/evaluators`` that declares
an ``@evaluator``, so splitting a module cannot silently drop its checks from the catalogue.

Asked of a fresh interpreter: in this one, a test module importing an evaluator module would register it too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

EVALUATORS = Path(__file__).resolve().parents[2] / "shine_ops" / "evaluators"
ASK = ("import json; from shine_ops.evaluators import load_builtin; "
       "print(json.dumps({n: e.fn.__module__ for n, e in load_builtin().items()}))")


def test_load_builtin_registers_every_evaluator_each_module_declares():
    declared = {name: p.stem for p in EVALUATORS.glob("*.py")
                for name in re.findall(r'^@evaluator\(\s*"([^"]+)"', p.read_text(), re.M)}
    proc = subprocess.run([sys.executable, "-c", ASK], capture_output=True, text=True, timeout=120,
                          cwd=EVALUATORS.parents[1])
    assert proc.returncode == 0, proc.stderr
    registered = {name: module.rsplit(".", 1)[-1] for name, module in json.loads(proc.stdout).items()}
    assert len(set(declared.values())) > 10  # the scan found the modules
    missing = {name: module for name, module in declared.items() if registered.get(name) != module}
    assert not missing, f"declared but not loaded by load_builtin: {missing}"
