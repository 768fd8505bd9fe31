"""End to end: `shine-ops audit` against a plain moto server with two services, one broken."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import boto3
import pytest

from tests.audit.seed_two import repair, seed_service
from tests.conftest import assert_no_traceback

pytestmark = pytest.mark.slow

CHECK = "sg.alb-to-task-ingress"


def _config(tmp_path: Path, alpha: dict, beta: dict, *, notify: str = "", extra_targets: str = "") -> Path:
    cfg = tmp_path / "audit.yaml"
    cfg.write_text(f"""\
targets:
  - name: alpha
    domain: {alpha['domain']}
    region: us-east-1
  - cluster: {beta['cluster']}
    service: {beta['service']}
    region: us-west-2
    role_arn: arn:aws:iam::123456789012:role/shine-ops-audit
{extra_targets}playbooks: [snail-trail]
fail_on: high
{notify}""")
    return cfg


def _audit(cli, cfg: Path, out: Path, endpoint: str, *args: str):
    proc = cli("audit", "--config", str(cfg), "--out-dir", str(out), "--no-probe", "--endpoint-url", endpoint, *args,
               timeout=180)
    assert_no_traceback(proc)
    return proc


def _seed_two(endpoint: str) -> tuple[dict, dict]:
    return (seed_service(endpoint, region="us-east-1", name="alpha", broken=True),
            seed_service(endpoint, region="us-west-2", name="beta", broken=False))


def test_audit_two_services_reports_history_webhook_metrics_then_resolved(cli, fresh_moto, tmp_path, hook):
    alpha, beta = _seed_two(fresh_moto)
    sns = boto3.client("sns", endpoint_url=fresh_moto, region_name="us-east-1")
    topic = sns.create_topic(Name="shine-ops")["TopicArn"]
    cfg = _config(tmp_path, alpha, beta, notify=f"notify:\n  webhook: {hook.url}\n  sns_topic_arn: {topic}\n"
                                                 "  when: change\n")
    out = tmp_path / "out1"
    proc = _audit(cli, cfg, out, fresh_moto)
    assert proc.returncode == 1, proc.stderr

    # report.json: the audit document with one contract report per target
    doc = json.loads((out / "report.json").read_text())
    assert doc["schema"] == "shine-ops.audit/v1" and doc["exit_code"] == 1
    assert [t["name"] for t in doc["targets"]] == ["alpha", "beta"]
    for t in doc["targets"]:
        assert t["schema"] == "shine-ops.report/v1" and t["playbook"] == "snail-trail"
    a, b = doc["targets"]
    assert a["root_causes"] == [CHECK] and a["target"]["region"] == "us-east-1"
    assert b["summary"]["fail"] == 0 and b["target"]["region"] == "us-west-2"
    assert b["target"]["domain"] == beta["domain"]  # discovered from cluster+service through the assumed role
    assert doc["summary"]["failing"] == 1 and doc["summary"]["targets"] == 2
    assert doc["comparison"]["first_audit"] is True
    assert [(i["target"], i["check"]) for i in doc["comparison"]["new"]] == [("alpha", CHECK)]
    delivered = {d["channel"]: d for d in doc["delivery"] if d["channel"] != "cloudwatch"}
    assert delivered["webhook"]["ok"] and delivered["sns"]["ok"], doc["delivery"]
    assert "secret" not in delivered["webhook"]["target"]  # the webhook's secret path stays out of reports

    # report.xml: JUnit, one suite per target, the failing check as a failure
    root = ET.fromstring((out / "report.xml").read_text())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["shine-ops.snail-trail.alpha", "shine-ops.snail-trail.beta"]
    assert suites[0].get("failures") == "1" and suites[1].get("failures") == "0"
    failed = [c.get("name") for c in suites[0].findall("testcase") if c.find("failure") is not None]
    assert failed == [CHECK]

    md = (out / "report.md").read_text()
    assert md.startswith(f"# shine-ops audit {doc['audit_id']}") and "- New: 1" in md and f"`{CHECK}`" in md
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and CHECK in html and "alpha" in html and "beta" in html
    assert "<script" not in html and "http://" not in html.split("</style>")[0]  # self-contained
    prom = (out / "metrics.prom").read_text()
    assert 'shine_ops_audit_failing_checks{target="alpha",severity="critical"} 1' in prom
    assert 'shine_ops_audit_failing_checks{target="beta",severity="critical"} 0' in prom
    assert "shine_ops_audit_exit_code 1" in prom

    # the webhook got the failing check
    assert len(hook.bodies) == 1
    assert CHECK in hook.bodies[0]["text"] and "alpha" in hook.bodies[0]["text"]
    assert hook.bodies[0]["shine_ops"]["new"][0]["check"] == CHECK

    # CloudWatch: readable back from the emulator, per target in its own region
    cw = boto3.client("cloudwatch", endpoint_url=fresh_moto, region_name="us-east-1")
    names = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
             for m in cw.list_metrics(Namespace="ShineOps")["Metrics"]}
    assert ("FailingChecks", (("Severity", "critical"), ("Target", "alpha"))) in names
    assert ("AuditDuration", (("Target", "alpha"),)) in names
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    stats = cw.get_metric_statistics(Namespace="ShineOps", MetricName="FailingChecks",
                                     Dimensions=[{"Name": "Target", "Value": "alpha"},
                                                 {"Name": "Severity", "Value": "critical"}],
                                     StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=10),
                                     Period=60, Statistics=["Maximum"])
    assert max(p["Maximum"] for p in stats["Datapoints"]) == 1.0
    cw_west = boto3.client("cloudwatch", endpoint_url=fresh_moto, region_name="us-west-2")
    assert any(m["MetricName"] == "AuditDuration" for m in cw_west.list_metrics(Namespace="ShineOps")["Metrics"])

    # fix it; the next audit reports the finding as resolved and exits 0
    repair(fresh_moto, alpha)
    out2 = tmp_path / "out2"
    proc2 = _audit(cli, cfg, out2, fresh_moto)
    assert proc2.returncode == 0, proc2.stderr
    doc2 = json.loads((out2 / "report.json").read_text())
    assert doc2["comparison"]["previous_audit"] == doc["audit_id"]
    assert [(i["target"], i["check"]) for i in doc2["comparison"]["resolved"]] == [("alpha", CHECK)]
    assert doc2["comparison"]["new"] == [] and doc2["comparison"]["persisting"] == []
    assert "Resolved: 1" in (out2 / "report.md").read_text()
    assert len(hook.bodies) == 2 and "Resolved" in hook.bodies[1]["text"] and CHECK in hook.bodies[1]["text"]

    # nothing changed: `when: change` sends nothing
    proc3 = _audit(cli, cfg, tmp_path / "out3", fresh_moto)
    assert proc3.returncode == 0 and len(hook.bodies) == 2

    # history lists the audits, and one check's pass/fail over time
    hist = cli("history")
    assert hist.returncode == 0 and doc["audit_id"] in hist.stdout and doc2["audit_id"] in hist.stdout
    timeline = cli("history", "--check", CHECK, "--json", "--limit", "1000")
    rows = [r for r in json.loads(timeline.stdout) if r["target"] == "alpha" and r["config"] == str(cfg.resolve())]
    assert [r["status"] for r in rows] == ["fail", "pass", "pass"]
    text = cli("history", "--check", CHECK)
    assert "FAIL" in text.stdout and "PASS" in text.stdout
    audits = json.loads(cli("history", "--audits", "--json", "--limit", "1000").stdout)
    assert doc2["audit_id"] in [x["audit_id"] for x in audits]


def test_webhook_500_is_retried_and_the_audit_still_completes(cli, fresh_moto, tmp_path, hook):
    alpha, beta = _seed_two(fresh_moto)
    cfg = _config(tmp_path, alpha, beta, notify="notify:\n  when: fail\n")
    hook.statuses = [500, 500]  # then 200
    proc = _audit(cli, cfg, tmp_path / "a", fresh_moto, "--notify-webhook", hook.url, "--no-cloudwatch")
    assert proc.returncode == 1, proc.stderr
    assert len(hook.bodies) == 3 and all(CHECK in t for t in hook.texts())
    doc = json.loads((tmp_path / "a" / "report.json").read_text())
    (hooked,) = [d for d in doc["delivery"] if d["channel"] == "webhook"]
    assert hooked["ok"] and hooked["attempts"] == 3
    assert not any(d["channel"] == "cloudwatch" for d in doc["delivery"])

    # a webhook that always answers 500: bounded retries, reported, exit code unchanged...
    hook.bodies.clear()
    hook.statuses = [500] * 50
    proc = _audit(cli, cfg, tmp_path / "b", fresh_moto, "--notify-webhook", hook.url)
    assert proc.returncode == 1, proc.stderr
    assert len(hook.bodies) == 4
    assert "notification by webhook" in proc.stderr and "HTTP 500" in proc.stderr
    doc = json.loads((tmp_path / "b" / "report.json").read_text())
    assert [d["ok"] for d in doc["delivery"] if d["channel"] == "webhook"] == [False]
    for name in ("report.json", "report.xml", "report.md", "report.html", "metrics.prom"):
        assert (tmp_path / "b" / name).exists()
    # ... unless --strict-notify
    proc = _audit(cli, cfg, tmp_path / "c", fresh_moto, "--notify-webhook", hook.url, "--strict-notify")
    assert proc.returncode == 3, proc.stderr


def test_exit_codes_over_targets_and_bad_configuration(cli, fresh_moto, tmp_path):
    alpha, beta = _seed_two(fresh_moto)
    # an unreachable target makes the run incomplete: 3 wins over 1
    cfg = _config(tmp_path, alpha, beta, extra_targets="  - name: gone\n    domain: gone.example.test\n"
                                                        "    endpoint_url: http://127.0.0.1:9\n")
    proc = cli("audit", "--config", str(cfg), "--out-dir", str(tmp_path / "o"), "--no-probe", "--endpoint-url",
               fresh_moto, env={"SHINE_OPS_MAX_ATTEMPTS": "1"}, timeout=180)
    assert_no_traceback(proc)
    assert proc.returncode == 3, proc.stderr
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    gone = [t for t in doc["targets"] if t["name"] == "gone"][0]
    assert gone["exit_code"] == 3 and "cannot reach" in gone["error"]
    assert [t["exit_code"] for t in doc["targets"] if t["name"] == "alpha"] == [1]
    assert doc["summary"]["incomplete"] == 1
    assert "shine_ops_audit_target_up{target=\"gone\"} 0" in (tmp_path / "o" / "metrics.prom").read_text()
    # configuration errors: exit 2 before any call
    for body, words in (("targets: []\n", "empty"), ("targets:\n  - cluster: c\n", "needs a domain"),
                        ("targets:\n  - domain: a.example\nplaybooks: [nope]\n", "nope"),
                        ("targets:\n  - domain: a.example\nnotify:\n  when: sometimes\n", "notify.when"),
                        ("targets:\n  - domain: a.example\nfail_on: bad\n", "fail_on")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(body)
        proc = cli("audit", "--config", str(bad), "--out-dir", str(tmp_path / "x"), "--no-probe")
        assert proc.returncode == 2 and words in proc.stderr, (body, proc.stderr)
    assert cli("audit", "--config", str(cfg)).returncode == 2  # --out-dir missing


def test_team_history_in_s3_is_shared_between_machines(cli, fresh_moto, tmp_path):
    alpha, beta = _seed_two(fresh_moto)
    boto3.client("s3", endpoint_url=fresh_moto, region_name="us-east-1").create_bucket(Bucket="team-state")
    cfg = _config(tmp_path, alpha, beta)
    cfg.write_text(cfg.read_text() + "state: s3://team-state/shine-ops\n")
    first = _audit(cli, cfg, tmp_path / "a", fresh_moto, "--no-cloudwatch")
    assert first.returncode == 1, first.stderr
    doc1 = json.loads((tmp_path / "a" / "report.json").read_text())
    repair(fresh_moto, alpha)
    # another machine: an empty local state folder, the same team store
    other = tmp_path / "other-state"
    proc = cli("audit", "--config", str(cfg), "--out-dir", str(tmp_path / "b"), "--no-probe", "--endpoint-url",
               fresh_moto, "--no-cloudwatch", env={"SHINE_OPS_STATE_DIR": str(other)}, timeout=180)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    doc2 = json.loads((tmp_path / "b" / "report.json").read_text())
    assert doc2["comparison"]["previous_audit"] == doc1["audit_id"]
    assert [i["check"] for i in doc2["comparison"]["resolved"]] == [CHECK]
    assert not (other / "audits.db").exists()
    s3 = boto3.client("s3", endpoint_url=fresh_moto, region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="team-state")["Contents"]]
    assert keys == ["shine-ops/audits.db"]  # and the lock is gone
    hist = cli("history", "--check", CHECK, "--json", "--config", str(cfg), "--endpoint-url", fresh_moto,
               env={"SHINE_OPS_STATE_DIR": str(other)})
    assert hist.returncode == 0, hist.stderr
    assert [r["status"] for r in json.loads(hist.stdout) if r["target"] == "alpha"] == ["fail", "pass"]
