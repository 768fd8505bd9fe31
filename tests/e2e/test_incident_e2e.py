"""End to end: the real CLI against the sandbox daemon and against a plain moto server."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_no_traceback
from tests.e2e.conftest import sandbox_up
from tests.e2e.plain_seed import DOMAIN, seed_incident, team_project

pytestmark = pytest.mark.slow

# what AWS's semantics support: the target group on 5000 is a warn (ECS registers the task on 8000)
INCIDENT_ROOT_CAUSES = ["dns.points-to-service-alb", "listener.routes-to-service", "sg.alb-to-task-ingress"]


def _report(proc) -> dict:
    assert_no_traceback(proc)
    return json.loads(proc.stdout)


def test_sandbox_incident_finds_the_four_faults_dns_first(cli):
    st = sandbox_up(cli, "shine-incident")
    try:
        status = cli("sandbox", "status")
        assert status.returncode == 0 and "shine-incident" in status.stdout
        proc = cli("diagnose", "--sandbox", "--format", "json")
        assert proc.returncode == 1, proc.stderr
        report = _report(proc)
        assert report["schema"] == "shine-ops.report/v1"
        assert report["root_causes"] == INCIDENT_ROOT_CAUSES
        assert report["target"]["domain"] == DOMAIN
        assert report["target"]["service"] == "shine-api-gateway"
        by_id = {f["check"]: f for f in report["findings"]}
        assert by_id["dns.record-exists"]["status"] == "pass"
        assert by_id["ecs.service-running"]["status"] == "pass"
        dns = by_id["dns.points-to-service-alb"]
        assert "awseb--AWSEB-ydAUJ3jj2fwA" in dns["summary"] and "production-shine-skincare-alb" in dns["summary"]
        assert dns["fix"] == "route53.point-alias-to-service-alb"
        tg = by_id["tg.port-matches-container"]
        assert tg["status"] == "warn" and "5000" in tg["summary"] and "8000" in tg["summary"]
        assert "harmless today" in tg["summary"]
        # the live probes go through the domain and fail too, but as consequences, never as root causes
        failing = {f["check"] for f in report["findings"] if f["status"] == "fail"}
        assert set(INCIDENT_ROOT_CAUSES) <= failing
        for f in report["findings"]:  # every other failure is a consequence the root causes explain
            if f["status"] == "fail" and f["check"] not in INCIDENT_ROOT_CAUSES:
                assert set(f["explained_by"]) & set(INCIDENT_ROOT_CAUSES), f
        assert report["summary"]["error"] == 0 and report["summary"]["skip"] == 0
        health = by_id["smoke.health"]
        assert health["status"] == "fail" and "504" in health["summary"]
        assert health["evidence"]["simulated"] is True
        assert "awseb--AWSEB-ydAUJ3jj2fwA" in health["evidence"]["simulated_route"]
        assert set(INCIDENT_ROOT_CAUSES) <= set(health["explained_by"])  # (tg.targets-healthy may join them)
        assert report["api_calls"]["total"] > 0
        assert st["endpoint"].startswith("http://127.0.0.1:")
        # the human table names the root cause first, with the fix command
        table = cli("diagnose", "--sandbox")
        assert table.returncode == 1
        first = table.stdout.index("dns.points-to-service-alb")
        assert first < table.stdout.index("listener.routes-to-service")
        assert "shine-ops fix alb-ecs --only route53.point-alias-to-service-alb" in table.stdout
    finally:
        down = cli("sandbox", "down")
        assert down.returncode == 0 and "stopped" in down.stdout
    assert cli("sandbox", "status").returncode == 1


def test_sandbox_healthy_has_no_failing_finding(cli):
    sandbox_up(cli, "healthy")
    try:
        proc = cli("diagnose", "--sandbox", "--format", "json")
        report = _report(proc)
        assert proc.returncode == 0, report
        assert report["root_causes"] == []
        assert all(f["status"] == "pass" for f in report["findings"]), report["findings"]
        by_id = {f["check"]: f for f in report["findings"]}
        for check in ("smoke.health", "smoke.face-detect", "smoke.analyze", "cors.allows-frontend-origin"):
            assert by_id[check]["evidence"]["simulated"] is True, check
        assert "task 127.77." in by_id["smoke.face-detect"]["evidence"]["simulated_route"]
        table = cli("diagnose", "--sandbox")
        assert "(simulated)" in table.stdout
        no_probe = _report(cli("diagnose", "--sandbox", "--no-probe", "--format", "json"))
        assert {f["check"]: f["status"] for f in no_probe["findings"]}["smoke.health"] == "skip"
        mapped = cli("map", "--sandbox", "--format", "json")
        assert mapped.returncode == 0, mapped.stderr
        tree = json.loads(mapped.stdout)["tree"]
        text = json.dumps(tree)
        assert "production-shine-skincare-alb" in text and "shine-api-gateway" in text
        assert tree["children"][0]["kind"] == "record"
        assert tree["children"][0]["children"][0]["kind"] == "load_balancer"
    finally:
        cli("sandbox", "down")


def test_plain_moto_server_incident_same_root_causes(cli, fresh_moto, tmp_path):
    seed_incident(fresh_moto)
    args = ("diagnose", "--no-probe", "--endpoint-url", fresh_moto, "--region", "us-east-1", "--domain", DOMAIN,
            "--format", "json")
    proc = cli(*args, cwd=team_project(tmp_path))
    assert proc.returncode == 1, proc.stderr
    report = _report(proc)
    assert report["root_causes"] == INCIDENT_ROOT_CAUSES
    # declaring nothing, the missing /api/* rule is no evidence: the domain's own requests still go astray at /
    bare = _report(cli(*args))
    listener = {f["check"]: f for f in bare["findings"]}["listener.routes-to-service"]
    assert listener["status"] == "warn" and "service_paths" in listener["summary"]
    assert bare["root_causes"] == ["dns.points-to-service-alb", "sg.alb-to-task-ingress"]
    assert report["target"]["account"] == "123456789012"


def test_plain_moto_server_repaired_has_no_failing_finding(cli, fresh_moto):
    seed_incident(fresh_moto, repaired=True)
    for args in (["--domain", DOMAIN], ["--cluster", "production-shine-cluster", "--service", "shine-api-gateway"]):
        proc = cli("diagnose", "--no-probe", "--endpoint-url", fresh_moto, "--region", "us-east-1", *args, "--format", "json")
        report = _report(proc)
        assert proc.returncode == 0, report["findings"]
        assert report["summary"]["fail"] == 0
        assert report["target"]["domain"] == DOMAIN  # found by reverse lookup when only the service is given


def test_fail_on_critical_only_and_output_formats(cli, fresh_moto, tmp_path):
    seed_incident(fresh_moto)
    base = ["diagnose", "--no-probe", "--endpoint-url", fresh_moto, "--region", "us-east-1", "--domain", DOMAIN]
    md = tmp_path / "note.md"
    team_project(tmp_path)
    proc = cli(*base, "--format", "markdown", "--output", str(md), cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    text = md.read_text()
    assert text.index("dns.points-to-service-alb") < text.index("sg.alb-to-task-ingress")
    junit = cli(*base, "--format", "junit", cwd=tmp_path)
    assert 'failures="3"' in junit.stdout
    skipped = int(junit.stdout.split('skipped="')[1].split('"')[0])
    report = _report(cli(*base, "--format", "json", cwd=tmp_path))
    skips = {f["check"] for f in report["findings"] if f["status"] == "skip"}
    assert skipped == len(skips)  # JUnit counts exactly the report's skips
    # the live smoke probes and the live DNS probe are off with --no-probe
    assert {"smoke.health", "smoke.face-detect", "smoke.analyze", "dns.resolves-to-alb"} <= skips and 'name="dns.record-exists"' in junit.stdout


def test_missing_service_is_a_failing_finding(cli, fresh_moto):
    seed_incident(fresh_moto, repaired=True)
    proc = cli("diagnose", "--no-probe", "--endpoint-url", fresh_moto, "--region", "us-east-1", "--cluster",
               "production-shine-cluster", "--service", "nope", "--format", "json")
    report = _report(proc)
    assert proc.returncode == 1
    by_id = {f["check"]: f for f in report["findings"]}
    assert by_id["ecs.service-running"]["status"] == "fail"
    assert "MISSING" in by_id["ecs.service-running"]["summary"]


def test_domain_with_no_record(cli, fresh_moto):
    seed_incident(fresh_moto, repaired=True)
    proc = cli("diagnose", "--no-probe", "--endpoint-url", fresh_moto, "--region", "us-east-1", "--domain",
               "nope.shineskincollective.com", "--format", "json")
    report = _report(proc)
    assert proc.returncode == 1
    by_id = {f["check"]: f for f in report["findings"]}
    assert by_id["dns.record-exists"]["status"] == "fail"
    assert "nope.shineskincollective.com has no A, AAAA or CNAME record" in by_id["dns.record-exists"]["summary"]
    assert report["root_causes"][0] == "dns.record-exists"


def test_diagnose_all_covers_every_service_behind_a_load_balancer(cli, fresh_moto):
    seed_incident(fresh_moto, repaired=True)
    proc = cli("diagnose", "--all", "--no-probe", "--endpoint-url", fresh_moto, "--region", "us-east-1",
               "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "shine-ops.report-set/v1"
    assert [r["target"]["service"] for r in doc["reports"]] == ["shine-api-gateway"]
    assert doc["reports"][0]["target"]["domain"] == DOMAIN
    junit = cli("diagnose", "--all", "--no-probe", "--endpoint-url", fresh_moto, "--region", "us-east-1",
                "--format", "junit")
    assert junit.stdout.count("<testsuite ") == 1
    bad = cli("diagnose", "--all", "--domain", DOMAIN, "--endpoint-url", fresh_moto, "--region", "us-east-1")
    assert bad.returncode == 2 and "--all diagnoses every service" in bad.stderr
