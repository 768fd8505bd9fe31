"""Listener rules as ALB evaluates them, end to end through the real CLI against a moto server seeded with the
scenarios: a shared load balancer (host, wildcard-host and header rules), a weighted forward with a weight-0
group and an authenticate-oidc action are healthy, diagnose names exactly the domain's own service, and
`fix alb-ecs --apply` makes zero mutating calls; a host rule that really shadows the service's own /api/* is
found, named, and fixed with a rule scoped to the domain's host. The sandbox's load-balancer emulator routes
with the same evaluator."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

DOMAIN = "api.shineskincollective.com"
HEALTHY = ["healthy-shared-alb", "healthy-weighted", "healthy-oidc"]
SHADOW = "listener.header-shadows-service"


@pytest.fixture()
def cli(tmp_path):
    from tests.conftest import Cli

    return Cli(tmp_path)


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def _mutating(proc) -> int:
    m = re.search(r"api calls: (\d+) total, (\d+) mutating", proc.stderr)
    assert m, proc.stderr
    return int(m.group(2))


def _fix(cli, endpoint: str, *extra: str):
    return cli("fix", "alb-ecs", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN, *extra)


@pytest.fixture()
def undeclared(tmp_path) -> list[str]:
    """Options that make the CLI read an empty project file: none of the app's settings declared."""
    empty = tmp_path / "undeclared.yaml"
    empty.write_text("{}\n")
    return ["--config", str(empty)]


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
@pytest.mark.parametrize("scenario", HEALTHY)
def test_healthy_rule_layouts_reach_exactly_the_service_and_fix_changes_nothing(cli, scenario_server, undeclared,
                                                                                scenario, declared):
    endpoint = scenario_server(scenario)  # the scenario's declarations wait in the cli's shine-ops.yaml
    opts = [] if declared else undeclared
    report = diagnose_json(cli, endpoint, "--domain", DOMAIN, *opts)
    failing = [(f["check"], f["summary"]) for f in report["findings"] if f["status"] in ("fail", "error")]
    assert failing == [] and report["_exit"] == 0, failing
    assert (report["target"]["cluster"], report["target"]["service"]) == ("production-shine-cluster",
                                                                           "shine-api-gateway")
    routes = _by_id(report)["listener.routes-to-service"]
    assert routes["status"] == "pass", routes["summary"]
    assert ("service_paths was not declared" in routes["summary"]) is not declared

    applied = _fix(cli, endpoint, "--apply", "--yes", *opts)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _mutating(applied) == 0, applied.stdout + applied.stderr


def test_shared_alb_neighbours_are_named_as_neighbours(cli, scenario_server, undeclared):
    report = diagnose_json(cli, scenario_server("healthy-shared-alb"), "--domain", DOMAIN, *undeclared)
    f = _by_id(report)["listener.routes-to-service"]
    [route] = f["evidence"]["routes"]
    assert route["request"] == f"GET {DOMAIN}/" and route["rule"].startswith("priority 30 (host-header")
    assert any("priority 20 (http-header X-Canary=1)" in n for n in route["notes"])  # needs the header: explained
    neighbours = " ".join(f["evidence"]["neighbour_rules"])
    assert "admin.shineskincollective.com" in neighbours
    # the wildcard does match the domain: it is no neighbour, just behind the exact host rule that decides first
    assert "*.shineskincollective.com" not in neighbours


def test_weighted_and_oidc_routes_say_how_the_request_travels(cli, scenario_server):
    weighted = _by_id(diagnose_json(cli, scenario_server("healthy-weighted"), "--domain", DOMAIN))
    assert "shine-api-tg-blue (0)" in weighted["listener.routes-to-service"]["evidence"]["routes"][0]["action"]
    oidc = _by_id(diagnose_json(cli, scenario_server("healthy-oidc"), "--domain", DOMAIN))
    action = oidc["listener.routes-to-service"]["evidence"]["routes"][0]["action"]
    assert action == "authenticate-oidc, then forward to shine-api-tg-8000-fixed"


def test_real_shadowing_of_the_service_host_is_found_named_and_fixed(cli, scenario_server, undeclared):
    endpoint = scenario_server(SHADOW)
    # Without declarations: the domain's own rule (priority 200, /api/* -> the service) is shadowed: evidence.
    report = diagnose_json(cli, endpoint, "--domain", DOMAIN, *undeclared)
    f = _by_id(report)["listener.routes-to-service"]
    assert f["status"] == "fail" and report["_exit"] == 1
    assert f"GET {DOMAIN}/api/shine-ops-probe -> priority 50 (path-pattern /api/*; host-header {DOMAIN})" \
        in f["summary"]
    assert "production-shine-api-gateway-tg" in f["summary"] and "shadows priority 200" in f["summary"]
    assert "listener.routes-to-service" in report["root_causes"]

    assert "service_paths was not declared" in f["summary"]
    # The scenario's declared service paths find the same shadowing.
    declared = _by_id(diagnose_json(cli, endpoint, "--domain", DOMAIN))
    assert declared["listener.routes-to-service"]["status"] == "fail"
    assert "priority 50" in declared["listener.routes-to-service"]["summary"]
    assert "not declared" not in declared["listener.routes-to-service"]["summary"]

    plan = _fix(cli, endpoint, "--only", "listener.add-service-rule")
    assert plan.returncode == 0 and _mutating(plan) == 0, plan.stdout + plan.stderr
    text = " ".join(plan.stdout.split())
    assert f"new rule priority 49 {DOMAIN} /api/*" in text, text
    assert "evidence:" in text and "priority 50" in text

    applied = _fix(cli, endpoint, "--only", "listener.add-service-rule", "--apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _mutating(applied) == 1  # one CreateRule
    after = _by_id(diagnose_json(cli, endpoint, "--domain", DOMAIN))
    assert after["listener.routes-to-service"]["status"] == "pass", after["listener.routes-to-service"]["summary"]


def test_the_sandbox_load_balancer_routes_with_the_same_evaluator(scenario_server):
    """The emulator's decision for whole requests (headers, weights, auth), read through the AWS API only. No
    task process runs against a plain moto server, so the decision ends at the target; the route is what counts."""
    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.sandbox.alb import decide
    from shine_ops.topology.rules import Request

    aws = Aws(ConnectionOptions(endpoint_url=scenario_server("healthy-shared-alb"), region="us-east-1"))

    def route(host: str, headers: dict | None = None) -> str:
        return " | ".join(decide(aws, host, "/api/x", request=Request(host=host, path="/api/x",
                                                                      headers=headers or {})).route)

    assert "target group shine-api-tg-8000-fixed" in route(DOMAIN)
    assert "target group shine-api-canary-tg" in route(DOMAIN, {"x-canary": "1"})
    assert "target group shine-admin-tg" in route("admin.shineskincollective.com")
    assert "target group shine-web-tg" in route("shop.shineskincollective.com")

    aws = Aws(ConnectionOptions(endpoint_url=scenario_server("healthy-oidc"), region="us-east-1"))
    d = " | ".join(decide(aws, DOMAIN, "/health").route)
    assert "authenticate-oidc passed through" in d and "target group shine-api-tg-8000-fixed" in d

    aws = Aws(ConnectionOptions(endpoint_url=scenario_server("healthy-weighted"), region="us-east-1"))
    picks = {next(s for s in decide(aws, DOMAIN, "/health").route if s.startswith("target group")) for _ in range(10)}
    assert picks == {"target group shine-api-tg-8000-fixed"}  # weight 0: the blue group is never picked
