"""Healthy layouts the Shine sandbox does not hold: no false alarm, and `fix alb-ecs --apply` makes zero
mutating calls on every one (docs/aws-behaviour.md section 2: a fix is planned only where the evidence shows harm)."""

from __future__ import annotations

import re

import pytest

from shine_ops.sandbox.scenario import scenario_names
from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

DOMAIN = "api.shineskincollective.com"
VARIANTS = sorted(n for n in scenario_names() if n.startswith("healthy-"))


@pytest.fixture()
def cli(tmp_path):
    from tests.conftest import Cli

    return Cli(tmp_path)


def test_the_variants_cover_what_the_issue_lists():
    must = {"healthy-tg-port-differs", "healthy-health-path-root", "healthy-cloudfront-neighbours"}
    assert must <= set(VARIANTS), VARIANTS


@pytest.mark.parametrize("scenario", VARIANTS)
def test_healthy_variant_has_no_failure_and_fix_changes_nothing(cli, scenario_server, scenario):
    endpoint = scenario_server(scenario)
    report = diagnose_json(cli, endpoint)
    failing = [(f["check"], f["summary"]) for f in report["findings"] if f["status"] in ("fail", "error")]
    assert failing == [] and report["_exit"] == 0, failing
    assert report["target"]["service"] == "shine-api-gateway"
    proc = cli("fix", "alb-ecs", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN,
               "--apply", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = re.search(r"api calls: (\d+) total, (\d+) mutating", proc.stderr)
    assert calls and int(calls.group(2)) == 0, proc.stderr
    assert "Nothing to fix" in proc.stdout or "nothing" in proc.stdout.lower(), proc.stdout


def test_tg_port_differs_is_named_as_a_harmless_warn(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("healthy-tg-port-differs"))
    tg = {f["check"]: f for f in report["findings"]}["tg.port-matches-container"]
    assert tg["status"] == "warn" and "would get 80" in tg["summary"] and tg["fix"] is None


def test_health_path_root_passes_on_the_targets_evidence(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("healthy-health-path-root"))
    hc = {f["check"]: f for f in report["findings"]}["tg.health-check-matches-app"]
    assert hc["status"] == "pass" and "the targets are healthy" in hc["summary"]
