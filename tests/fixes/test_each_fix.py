"""For every fix id: its failing scenario -> plan (nothing changed) -> apply -> the check and its hop pass ->
rollback -> the original failure is back. Against a moto server seeded with the scenario named after the check."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

CASES = [  # fix id, the check it repairs (= the scenario where that check fails)
    ("alb.set-idle-timeout", "alb.idle-timeout-covers-latency"),
    ("ecs.align-lb-container", "ecs.lb-container-matches-taskdef"),
    ("ecs.set-grace-period", "ecs.grace-period-covers-startup"),
    ("tg.align-health-check", "tg.health-check-matches-app"),
    ("tg.deregister-stale-targets", "tg.targets-registered"),
    ("sg.allow-alb-egress", "sg.alb-egress-to-task"),
    ("sg.allow-alb-to-task", "sg.alb-to-task-ingress"),
    ("tg.replace-with-container-port", "tg.port-matches-container"),
    ("listener.add-service-rule", "listener.routes-to-service"),
]


@pytest.fixture()
def cli(tmp_path):
    from tests.conftest import Cli

    return Cli(tmp_path)


def _status(report: dict) -> dict[str, str]:
    return {f["check"]: f["status"] for f in report["findings"]}


def _hop_failures(report: dict, check: str) -> list[str]:
    prefix = check.split(".")[0]
    return [f["check"] for f in report["findings"] if f["status"] == "fail" and f["check"].split(".")[0] == prefix]


class StaleHealth:
    """Target health as AWS reports it right after a fix: still what it was (health converges over interval x
    healthy threshold); a target the fix registers anew reads ``initial``. Records while thawed, replays while
    frozen."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from shine_ops.sandbox import health

        self.real, self.seen, self.frozen = health.simulate, {}, False
        monkeypatch.setattr(health, "simulate", self)

    def __call__(self, tg, target_id: str, port: int):
        key = (tg.arn, target_id, port)
        if not self.frozen:
            self.seen[key] = self.real(tg, target_id, port)
            return self.seen[key]
        return self.seen.get(key, ("initial", "Elb.RegistrationInProgress", "[simulated] registration in progress"))


@pytest.mark.parametrize("fix_id,check", CASES, ids=[c[0] for c in CASES])
def test_fix_repairs_and_rolls_back(cli, scenario_server, monkeypatch, fix_id, check):
    scenario = check if check not in ("sg.alb-to-task-ingress", "listener.routes-to-service") else "shine-incident"
    endpoint = scenario_server(scenario)
    stale = StaleHealth(monkeypatch)
    base = ["--endpoint-url", endpoint, "--region", "us-east-1", "--domain", "api.shineskincollective.com"]
    before = diagnose_json(cli, endpoint)
    assert _status(before)[check] == "fail", before["findings"]
    plan = cli("fix", "alb-ecs", *base, "--only", fix_id)
    assert plan.returncode == 0 and fix_id in plan.stdout, plan.stdout + plan.stderr
    assert "0 mutating" in plan.stderr
    # verification right after the fix judges the configuration it changed, never the target health that has
    # not converged yet: a correct fix is verified and kept while its targets still read as before
    stale.frozen = True
    applied = cli("fix", "alb-ecs", *base, "--only", fix_id, "--apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    said = applied.stdout + applied.stderr
    assert f"verified {fix_id}" in said and "rolled back" not in said, said
    stale.frozen = False
    after = diagnose_json(cli, endpoint)
    assert _status(after)[check] == "pass", [f for f in after["findings"] if f["check"] == check]
    assert _hop_failures(after, check) == [] or scenario == "shine-incident"
    apply_id = json.loads(cli("history", "--json").stdout)[-1]["apply_id"]
    back = cli("rollback", apply_id, "--yes")
    assert back.returncode == 0 and "restored and verified" in back.stdout, back.stdout + back.stderr
    assert _status(diagnose_json(cli, endpoint))[check] == "fail"
