"""Per-check scenarios (named after the check): each fails there with the right resources, passes on healthy."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def test_healthy_scenario_passes_every_configuration_check(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("healthy"))
    failing = [(f["check"], f["summary"]) for f in report["findings"] if f["status"] not in ("pass", "skip")]
    assert failing == []
    assert report["_exit"] == 0


def test_ecs_port_env_matches_container_scenario_seeds(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("ecs.port-env-matches-container"))
    assert report["target"]["service"] == "shine-api-gateway"
