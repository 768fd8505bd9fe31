"""A non-editable install must ship the catalogue, the playbooks and the scenarios."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_contains_checks_playbooks_and_scenarios(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                           str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("shine_ops-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for check in (REPO / "shine_ops" / "checks").glob("*.yaml"):
        assert f"shine_ops/checks/{check.name}" in names
    assert "shine_ops/playbooks/snail-trail.yaml" in names
    assert "shine_ops/sandbox/scenarios/shine-incident.yaml" in names
    assert "shine_ops/sandbox/scenarios/healthy.yaml" in names


def test_every_catalogue_check_has_a_registered_evaluator_and_a_test_named_after_it():
    from shine_ops.engine.catalogue import Catalogue

    cat = Catalogue.load()
    tests_text = "\n".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py"))
    for cid, chk in cat.checks.items():
        if chk.evaluator == "jmespath":  # written in YAML alone: the generic evaluator
            continue
        assert chk.evaluator == cid, f"{cid}: catalogue id and evaluator name must be one name"
        assert f"test_{cid.replace('.', '_').replace('-', '_')}" in tests_text, f"no test named after {cid}"
