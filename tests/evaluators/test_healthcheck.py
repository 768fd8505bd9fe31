"""tg.health-check-matches-app: judged on evidence (target health reasons, AWS's failed codes, the container's own
healthCheck command) and on a declared health_path; never on a built-in /health."""

from __future__ import annotations

import dataclasses

import pytest

from shine_ops.evaluators import REGISTRY
from shine_ops.evaluators.healthcheck import container_health_path, failed_codes, matcher_admits
from shine_ops.topology.model import ContainerDef
from tests.evaluators.builders import TG_SVC
from tests.evaluators.builders_tg_ecs import build_tg_ecs, target

MISMATCH = "Health checks failed with these codes: [404]"


def run(ctx):
    return REGISTRY["tg.health-check-matches-app"].fn(ctx, {})


def unhealthy(reason="Target.ResponseCodeMismatch", description=MISMATCH):
    return [target("10.0.1.10", "unhealthy", reason, description), target("10.0.1.11", "unhealthy", reason, description)]


def with_container_check(ctx, command):
    td = ctx.path.task_definition(ctx.snapshot)
    td.containers[0].health_check = {"command": command}
    return ctx


def test_matcher_syntax():
    assert matcher_admits(None) and matcher_admits("200") and matcher_admits("200,302") and matcher_admits("200-399")
    assert not matcher_admits("204") and not matcher_admits("300-399") and not matcher_admits("abc")


@pytest.mark.parametrize("text, codes", [(MISMATCH, [404]), ("Health checks failed with these codes: [500, 502]",
                                                              [500, 502]), (None, []), ("Request timed out", [])])
def test_failed_codes_parse_awss_description(text, codes):
    assert failed_codes(text) == codes


@pytest.mark.parametrize("command, path", [
    (["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"], "/health"),
    (["CMD", "wget", "-qO-", "http://127.0.0.1:8080/status?full=1"], "/status"),
    (["CMD-SHELL", "python -c \"import urllib.request;urllib.request.urlopen('http://localhost:5000/ping')\""], "/ping"),
    (["CMD-SHELL", "pgrep gunicorn"], None)])
def test_container_health_path_reads_the_command(command, path):
    assert container_health_path(ContainerDef.from_raw({"name": "c", "healthCheck": {"command": command}})) == path


def test_undeclared_path_slash_with_healthy_targets_passes():
    # an app whose health check is / and whose targets are healthy: no built-in /health to fail against
    out = run(build_tg_ecs(health_check={"path": "/"}))
    assert out.status == "pass" and "the targets are healthy" in out.summary


def test_tg_health_check_matches_app_fails_on_404s_without_a_declared_path():
    ctx = build_tg_ecs(health_check={"path": "/healthz"}, targets=unhealthy())
    out = run(ctx)
    assert out.status == "fail" and "asks for /healthz" in out.summary and "404" in out.summary
    assert "declare health_path" in out.summary  # no container healthCheck command names a path
    assert out.resources == [TG_SVC]


def test_undeclared_path_without_evidence_is_a_skip_naming_the_setting():
    out = run(build_tg_ecs(health_check={"path": "/"}, targets=[]))
    assert out.status == "skip" and "health_path" in out.summary
    out = run(build_tg_ecs(targets=unhealthy("Target.Timeout", "Request timed out")))
    assert out.status == "skip" and "no target answered" in out.summary


def test_declared_path_mismatch_fails_unless_the_targets_prove_the_path_answers():
    ctx = build_tg_ecs(health_check={"path": "/ready"}, targets=[])
    ctx.settings.health_path = "/health"
    assert run(ctx).status == "fail"
    ctx = build_tg_ecs(health_check={"path": "/ready"})
    ctx.settings.health_path = "/health"
    out = run(ctx)
    assert out.status == "warn" and "health_path declares /health" in out.summary
    ctx.settings.health_path = "/ready"
    assert run(ctx).status == "pass"


def test_numeric_port_fails_only_on_evidence():
    assert run(build_tg_ecs(health_check={"port": "8000"})).status == "pass"
    out = run(build_tg_ecs(health_check={"port": "9000"}))  # targets healthy: something answers on 9000
    assert out.status == "warn" and "probes port 9000" in out.summary
    out = run(build_tg_ecs(health_check={"port": "5000"}, targets=unhealthy("Target.Timeout", "Request timed out")))
    assert out.status == "fail" and "probes port 5000" in out.summary and "listens on 8000" in out.summary
    assert "security group admits" in out.summary  # the task group admits only 8000 from the load balancer


def test_protocol_and_matcher():
    out = run(build_tg_ecs(health_check={"protocol": "TCP"}))
    assert out.status == "fail" and "TCP" in out.summary
    # a matcher that rejects the 200 the app really answers (AWS names the code)
    out = run(build_tg_ecs(health_check={"matcher": "301-399"},
                           targets=unhealthy(description="Health checks failed with these codes: [200]")))
    assert out.status == "fail" and "301-399" in out.summary and "answers /health with 200" in out.summary
    assert run(build_tg_ecs(health_check={"matcher": "200-299"})).status == "pass"


def test_settling_judges_configuration_not_stale_health():
    # right after a fix to the declared path, targets still read ResponseCodeMismatch: not a failure
    ctx = build_tg_ecs(targets=unhealthy())
    ctx.settings = dataclasses.replace(ctx.settings, health_path="/health", settling=True)
    assert run(ctx).status == "pass"


def test_fix_target_comes_from_the_container_healthcheck_command():
    from shine_ops.evaluators.healthcheck import judge_health_check
    from shine_ops.evaluators.tg_ports import _service_tgs

    ctx = with_container_check(build_tg_ecs(health_check={"path": "/healthz"}, targets=unhealthy()),
                               ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"])
    (m, tg), = _service_tgs(ctx)
    j = judge_health_check(ctx, m, tg)
    assert j.verdict == "fail" and j.new == {"HealthCheckPath": "/health"}
    assert j.evidence["fix_path_from"] == "the container's own healthCheck command"
