"""The scheduling recipes: valid units/YAML/JSON that run the real `shine-ops audit` command."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from shine_ops.audit.schedule import KINDS, fill, recipe_text
from tests.conftest import REPO

CMD = "shine-ops audit --config"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    for name in KINDS["systemd"]:
        (tmp_path / name).write_text(fill(recipe_text(name), config="/etc/shine-ops/audit.yaml",
                                          out_dir="/var/lib/shine-ops-audit/out"))
    proc = subprocess.run([tool, "verify", "--man=no", *(str(tmp_path / n) for n in KINDS["systemd"])],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "shine-ops-audit.service" in proc.stderr or proc.stderr.strip() == "", proc.stderr
    service = (tmp_path / "shine-ops-audit.service").read_text()
    assert f"ExecStart=/usr/bin/env {CMD} /etc/shine-ops/audit.yaml --out-dir /var/lib/shine-ops-audit/out" in service
    assert "OnCalendar=" in (tmp_path / "shine-ops-audit.timer").read_text()


def test_github_workflow_parses_and_runs_the_audit():
    doc = yaml.safe_load(fill(recipe_text("shine-ops-audit.github-workflow.yml"), config="shine-ops.yaml",
                              out_dir="audit-out"))
    trigger = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as true
    assert trigger["schedule"][0]["cron"] and "workflow_dispatch" in trigger
    steps = doc["jobs"]["audit"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert f"{CMD} shine-ops.yaml --out-dir audit-out" in runs
    assert any(s.get("with", {}).get("path") == "audit-out" for s in steps)


def test_ecs_task_definition_and_schedule_parse_and_run_the_audit():
    td = json.loads(fill(recipe_text("shine-ops-audit.ecs-task-definition.json"), config="/config/audit.yaml",
                         out_dir="/tmp/out"))
    c = td["containerDefinitions"][0]
    assert c["entryPoint"] == ["shine-ops"]
    assert c["command"] == ["audit", "--config", "/config/audit.yaml", "--out-dir", "/tmp/out"]
    assert td["requiresCompatibilities"] == ["FARGATE"] and td["networkMode"] == "awsvpc"
    sched = json.loads(recipe_text("shine-ops-audit.eventbridge-schedule.json"))
    assert sched["ScheduleExpression"].startswith(("rate(", "cron("))
    assert sched["Target"]["EcsParameters"]["TaskDefinitionArn"].endswith(":task-definition/" + td["family"])
    assert sched["Target"]["EcsParameters"]["LaunchType"] == "FARGATE"


def test_cron_line_and_dockerfile():
    line = [ln for ln in fill(recipe_text("shine-ops-audit.cron"), config="/c.yaml", out_dir="/o").splitlines()
            if ln and not ln.startswith("#")]
    assert len(line) == 1 and len(line[0].split()[:5]) == 5 and f"{CMD} /c.yaml --out-dir /o" in line[0]
    docker = (REPO / "Dockerfile.shine-ops").read_text()
    assert 'ENTRYPOINT ["shine-ops"]' in docker and "USER shine-ops" in docker


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_print_schedule_fills_in_the_config_path(cli, tmp_path, kind):
    cfg = tmp_path / "audit.yaml"
    proc = cli("audit", "--print-schedule", kind, "--config", str(cfg), "--out-dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert str(cfg) in proc.stdout and "{{" not in proc.stdout.replace("${{", "")
    if kind == "ecs":
        assert '"--config"' in proc.stdout
    else:
        assert f"{CMD} {cfg}" in proc.stdout


def test_print_schedule_unknown_kind_is_a_usage_error(cli):
    proc = cli("audit", "--print-schedule", "windows")
    assert proc.returncode == 2 and "cron, systemd, github, ecs" in proc.stderr


@pytest.mark.slow
def test_wheel_ships_the_schedule_recipes(tmp_path):
    import sys
    import zipfile

    if "data/schedule" not in (REPO / "pyproject.toml").read_text():
        pytest.skip("pyproject.toml has no package-data glob for shine_ops/data/schedule yet")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                           str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set(zipfile.ZipFile(next(tmp_path.glob("shine_ops-*.whl"))).namelist())
    for kind in KINDS.values():
        for name in kind:
            assert f"shine_ops/data/schedule/{name}" in names
