"""``shine-ops checks show``: a check's explanation, fix, references and the recorded failure modes it covers; an
``FM-nn`` a message cites resolves for anyone who installed the package (the record ships inside it)."""

from __future__ import annotations

import json

from typer.testing import CliRunner


def _run(*args: str):
    from shine_ops.cli import app

    return CliRunner().invoke(app, ["checks", *args], terminal_width=200)


def test_checks_show_prints_explanation_fix_references_and_failure_modes():
    out = _run("show", "cors.allows-frontend-origin")
    assert out.exit_code == 0, out.output
    text = out.output
    assert text.startswith("cors.allows-frontend-origin  (medium)")
    assert "The browser blocks a 200" in text  # the explanation
    assert "Recorded failure modes it covers:" in text and "FM-16   CORS did not allow the production frontend" in text
    assert "revealed by: a live CORS preflight" in text
    dns = _run("show", "dns.points-to-service-alb").output
    assert "shine-ops fix alb-ecs --only route53.point-alias-to-service-alb" in dns  # the derived fix
    assert "FM-11" in dns and "https://docs.aws.amazon.com/Route53/" in dns
    ecs = _run("show", "ecs.grace-period-covers-startup").output
    assert "References:" in ecs and "FM-05   The container health check depended on the model" in ecs


def test_checks_show_resolves_an_incident_id_to_its_summary_and_checks():
    text = _run("show", "FM-10").output
    assert text.startswith("FM-10  The load balancer could not reach the tasks on the container port")
    assert "Covered by: sg.alb-to-task-ingress" in text and "Cited by:" in text
    note = _run("show", "NOTE-cleanup").output
    assert "taskdef.stale-revisions" in note  # the checks that cite it
    fm = json.loads(_run("show", "fm-16", "--json").output)
    assert fm["id"] == "FM-16" and fm["checks"] == ["cors.allows-frontend-origin"]


def test_checks_show_json_and_unknown_id():
    data = json.loads(_run("show", "tg.targets-registered", "--json").output)
    assert data["fix"] == "tg.deregister-stale-targets" and data["hop"] == "targets"
    assert {c["id"] for c in data["covers"]} == {"FM-13", "FM-20"}
    assert any(r["ref"] == "FM-11" and "wrong load balancer" in r["text"] for r in data["references"])
    bad = _run("show", "tg.targets-registerd")
    assert bad.exit_code == 2 and "did you mean tg.targets-registered" in bad.output


def test_checks_list_json_names_hop_and_references():
    rows = {r["id"]: r for r in json.loads(_run("list", "--json").output)}
    assert rows["deploy.memory-covers-model"]["hop"] == "task_definition"
    assert rows["sg.unused"]["fix"] == "sg.delete-unused" and "NOTE-cleanup" in rows["sg.unused"]["references"]
