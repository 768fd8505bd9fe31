"""The JSON Schema of ``shine-ops.report/v1`` (shine_ops/schemas/report-v1.json): what ``shine-ops report schema``
prints, and what real reports validate against (a seeded scenario, ``diagnose --all``, the recorded-shape worlds).
The shape fuzzer (test_shape_fuzz.py) validates every report it generates against the same schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.conftest import diagnose_json

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "shine_ops" / "schemas" / "report-v1.json"


def validator(kind: str = "report") -> jsonschema.Draft202012Validator:
    from shine_ops.cli.report_cmd import report_schema

    schema = report_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(doc: dict, kind: str = "report") -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator(kind).iter_errors(doc)]


def test_report_schema_prints_the_shipped_schema(cli):
    proc = cli("report", "schema")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed == json.loads(SCHEMA_FILE.read_text())
    assert printed["title"] == "shine-ops.report/v1"
    jsonschema.Draft202012Validator.check_schema(printed)
    wrapper = json.loads(cli("report", "schema", "--kind", "report-set").stdout)
    assert wrapper["$ref"] == "#/$defs/report_set"
    bad = cli("report", "schema", "--kind", "nope")
    assert bad.returncode == 2 and "--kind must be one of report, report-set" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_schema_follows_the_contract():
    """Statuses and severities as the README and the report schema list them; a finding without a summary, with an unknown status or
    with an empty resource name does not validate."""
    from shine_ops.engine.finding import SEVERITIES, STATUSES

    defs = json.loads(SCHEMA_FILE.read_text())["$defs"]
    assert defs["status"]["enum"] == list(STATUSES) == ["pass", "fail", "warn", "skip", "error"]
    assert defs["severity"]["enum"] == list(SEVERITIES) == ["critical", "high", "medium", "low", "info"]
    example = {  # the example report of shine-ops.report/v1
        "schema": "shine-ops.report/v1", "tool_version": "0.1.0", "playbook": "snail-trail",
        "target": {"domain": "api.example.com", "cluster": "prod", "service": "api", "region": "us-east-1",
                   "account": "123456789012"},
        "path": [{"hop": "dns", "resource": "api.example.com", "status": "fail"}],
        "findings": [{"check": "sg.alb-to-task-ingress", "title": "...", "status": "fail", "severity": "critical",
                      "resources": ["sg-0123", "sg-0456"], "summary": "one sentence", "expected": "...",
                      "actual": "...", "evidence": {}, "fix": "sg.allow-alb-to-task"}],
        "root_causes": ["sg.alb-to-task-ingress"], "summary": {"pass": 0, "fail": 1, "warn": 0, "skip": 0, "error": 0},
        "api_calls": {"total": 17, "by_operation": {"elbv2.DescribeLoadBalancers": 1}}, "duration_s": 0.8}
    assert errors(example) == []
    for key, value in (("status", "broken"), ("summary", ""), ("resources", ["sg-1", ""]), ("severity", "urgent"),
                       ("fix", "not an id")):
        bad = json.loads(json.dumps(example))
        bad["findings"][0][key] = value
        assert errors(bad), f"{key}={value!r} validated"
    missing = json.loads(json.dumps(example))
    del missing["api_calls"]["by_operation"]
    assert errors(missing)


@pytest.mark.parametrize("world", ["healthy-fargate", "empty-target-group", "vpce-private-zone"])
def test_recorded_shape_worlds_validate(world):
    from tests.corpus.worlds import diagnose_world

    run = diagnose_world(world)
    doc = json.loads(json.dumps(run.report.to_json(), default=str))
    assert errors(doc) == []


@pytest.mark.slow
def test_diagnose_json_of_a_seeded_scenario_validates(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("shine-incident"))
    exit_code = report.pop("_exit")
    assert exit_code == 1 and report["root_causes"]
    assert errors(report) == []


@pytest.mark.slow
def test_diagnose_all_json_is_a_report_set_that_validates(cli, scenario_server):
    endpoint = scenario_server("healthy")
    proc = cli("diagnose", "--all", "--no-probe", "--endpoint-url", endpoint, "--region", "us-east-1",
               "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "shine-ops.report-set/v1" and doc["reports"]
    assert errors(doc, "report-set") == []
    assert all(errors(r) == [] for r in doc["reports"])  # each report alone is a report/v1 too
