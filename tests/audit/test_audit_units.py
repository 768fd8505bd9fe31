"""Unit tests: comparison, notification policy and delivery, configuration, exit codes, metrics, HTML escaping."""

from __future__ import annotations

import pytest

from shine_ops.audit.compare import compare, failing_items, finding_key
from shine_ops.audit.config import parse_audit_config
from shine_ops.audit.notify import message_text, post_webhook, should_notify, slack_payload
from shine_ops.audit.run import combine_exit_codes
from shine_ops.config import ProjectConfig
from shine_ops.errors import ConfigError


def _f(check, status="fail", resources=("sg-1",), severity="critical", suppressed=None):
    f = {"check": check, "status": status, "severity": severity, "resources": list(resources), "summary": check}
    if suppressed:
        f["suppressed"] = suppressed
    return f


def _group(name, *findings, error=None):
    return {"name": name, "reports": [{"playbook": "snail-trail", "findings": list(findings)}] if not error else [],
            "error": error, "exit_code": 3 if error else 0}


def test_finding_key_is_target_check_and_sorted_resources():
    assert finding_key("a", "c", ["sg-2", "sg-1"]) == finding_key("a", "c", ["sg-1", "sg-2"]) == "a|c|sg-1,sg-2"
    assert finding_key("a", "c", ["sg-1"]) != finding_key("b", "c", ["sg-1"])


def test_failing_items_ignore_passing_and_suppressed():
    items = failing_items([_group("a", _f("x"), _f("y", status="pass"), _f("z", suppressed={"reason": "r"}),
                                  _f("w", status="warn"))])
    assert [i["check"] for i in items.values()] == ["x"]


def test_compare_new_resolved_persisting():
    prev = failing_items([_group("a", _f("x"), _f("y")), _group("b", _f("x"))])
    cur = failing_items([_group("a", _f("x"), _f("z")), _group("b")])
    cmp = compare(prev, cur, previous_id="u1")
    assert [(i["target"], i["check"]) for i in cmp["new"]] == [("a", "z")]
    assert sorted((i["target"], i["check"]) for i in cmp["resolved"]) == [("a", "y"), ("b", "x")]
    assert [(i["target"], i["check"]) for i in cmp["persisting"]] == [("a", "x")]
    assert cmp["changed"] and cmp["previous_audit"] == "u1" and not cmp["first_audit"]


def test_compare_same_check_on_other_resources_is_new_and_resolved():
    cmp = compare(failing_items([_group("a", _f("x", resources=["sg-1"]))]),
                  failing_items([_group("a", _f("x", resources=["sg-2"]))]))
    assert len(cmp["new"]) == 1 and len(cmp["resolved"]) == 1 and cmp["persisting"] == []


def test_compare_unaudited_target_resolves_nothing():
    prev = failing_items([_group("a", _f("x")), _group("b", _f("x"))])
    cmp = compare(prev, failing_items([_group("a", _f("x")), _group("b", error="cannot reach")]),
                  unaudited_targets=["b"])
    assert cmp["resolved"] == [] and [i["target"] for i in cmp["unknown"]] == ["b"] and not cmp["changed"]


def test_compare_first_audit():
    cmp = compare(None, failing_items([_group("a", _f("x"))]))
    assert cmp["first_audit"] and len(cmp["new"]) == 1 and cmp["changed"]
    assert not compare(None, {})["changed"]


@pytest.mark.parametrize("when,exit_code,changed,expected", [
    ("always", 0, False, True), ("fail", 0, True, False), ("fail", 1, False, True), ("fail", 3, False, True),
    ("change", 1, False, False), ("change", 0, True, True)])
def test_should_notify(when, exit_code, changed, expected):
    assert should_notify(when, exit_code=exit_code, comparison={"changed": changed}) is expected


def _doc(**cmp):
    c = {"new": [], "resolved": [], "persisting": [], "previous_audit": None, "first_audit": True, "changed": True}
    c.update(cmp)
    return {"audit_id": "u1", "exit_code": 1, "fail_on": "high", "summary": {"targets": 1, "failing": 1},
            "comparison": c, "targets": [{"name": "gone", "error": "cannot reach x"}]}


def test_message_names_new_resolved_and_unreachable_targets():
    item = {"target": "alpha", "check": "sg.alb-to-task-ingress", "severity": "critical", "summary": "blocked"}
    text = message_text(_doc(new=[item], resolved=[dict(item, check="tg.port-matches-container")]))
    assert "FAILING" in text and "New:\n  - alpha: sg.alb-to-task-ingress [critical] blocked" in text
    assert "Resolved:\n  - alpha: tg.port-matches-container" in text and "Could not audit gone" in text
    many = message_text(_doc(new=[dict(item, check=f"c{i}") for i in range(30)]))
    assert "and 10 more" in many
    payload = slack_payload(_doc(new=[item]))
    assert payload["text"].startswith("shine-ops audit u1") and payload["shine_ops"]["failing"] == [item]


def test_post_webhook_retries_5xx_then_succeeds(hook):
    hook.statuses = [503, 500]
    d = post_webhook(hook.url, {"text": "hi"}, wait_s=0.01)
    assert d.ok and d.attempts == 3 and len(hook.bodies) == 3 and hook.texts() == ["hi"] * 3
    assert d.target.endswith("/...") and "secret" not in d.target


def test_post_webhook_gives_up_after_bounded_attempts(hook):
    hook.statuses = [500] * 10
    d = post_webhook(hook.url, {"text": "hi"}, attempts=3, wait_s=0.01)
    assert not d.ok and d.attempts == 3 and "HTTP 500" in d.detail and len(hook.bodies) == 3


def test_post_webhook_does_not_retry_a_client_error(hook):
    hook.statuses = [404]
    d = post_webhook(hook.url, {"text": "hi"}, wait_s=0.01)
    assert not d.ok and d.attempts == 1 and "404" in d.detail


def test_post_webhook_connection_refused_is_reported_not_raised():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = post_webhook(f"http://127.0.0.1:{port}/x", {"text": "hi"}, attempts=2, wait_s=0.01, timeout_s=1)
    assert not d.ok and d.attempts == 2 and "ConnectionError" in d.detail


@pytest.mark.parametrize("codes,expected", [([0, 0], 0), ([1, 0], 1), ([1, 3], 3), ([3, 2, 1], 2), ([], 0)])
def test_exit_code_first_of_2_3_1_wins(codes, expected):
    assert combine_exit_codes(codes) == expected


def test_config_defaults_and_labels():
    acfg = parse_audit_config(ProjectConfig({"targets": [{"domain": "a.example"},
                                                         {"cluster": "c", "service": "s", "region": "eu-west-1"}]},
                                            "x.yaml"))
    assert [t.name for t in acfg.targets] == ["a.example", "s"]
    assert acfg.playbooks == ["snail-trail"] and acfg.fail_on == "high" and acfg.notify.when == "change"
    single = parse_audit_config(ProjectConfig({"domain": "api.example"}, "shine-ops.yaml"))
    assert [t.domain for t in single.targets] == ["api.example"]


@pytest.mark.parametrize("data,words", [
    ({}, "no targets"), ({"targets": [{"domain": "a", "colour": "x"}]}, "targets[0].colour"),
    ({"targets": [{"service": "s"}]}, "needs a domain"),
    ({"targets": [{"domain": "a"}, {"domain": "a"}]}, "two targets are named"),
    ({"targets": [{"domain": "a", "role_arn": "role"}]}, "not an ARN"),
    ({"targets": [{"domain": "a"}], "notify": {"webhook": "ftp://x"}}, "http(s) URL"),
    ({"targets": [{"domain": "a"}], "notify": {"sns_topic_arn": "topic"}}, "SNS topic ARN"),
    ({"targets": [{"domain": "a"}], "playbooks": ["x", "x"]}, "listed twice")])
def test_config_errors_name_the_field(data, words):
    with pytest.raises(ConfigError) as exc:
        parse_audit_config(ProjectConfig(data, "audit.yaml"))
    assert words in str(exc.value) and "audit.yaml" in str(exc.value)
    assert exc.value.exit_code == 2


def test_prometheus_text_escapes_labels():
    from shine_ops.audit.metrics import prometheus_text

    text = prometheus_text([_group('we"ird\\name', _f("x", severity="high"))], 1, {'we"ird\\name': 1.5})
    assert 'shine_ops_audit_failing_checks{target="we\\"ird\\\\name",severity="high"} 1' in text
    assert "shine_ops_audit_exit_code 1" in text and text.endswith("\n")


def test_html_escapes_everything():
    from shine_ops.audit.html import render_html

    evil = "<script>alert(1)</script>"
    doc = {"audit_id": "u1", "started_at": "s", "finished_at": "f", "config": evil, "exit_code": 1, "fail_on": "high",
           "schema": "shine-ops.audit/v1", "summary": {"targets": 1, "failing": 1, "pass": 0, "fail": 1, "warn": 0,
                                                       "skip": 0, "error": 0},
           "comparison": {"first_audit": True, "new": [{"target": evil, "check": "x", "severity": "high",
                                                        "resources": [evil], "summary": evil}],
                          "resolved": [], "persisting": []},
           "targets": [{"name": evil, "playbook": "p", "target": {"domain": evil}, "root_causes": [evil],
                        "findings": [_f("x") | {"summary": evil, "fix": evil}]}],
           "delivery": [{"channel": "webhook", "target": evil, "ok": False, "detail": evil}]}
    html = render_html(doc)
    assert "<script" not in html and "&lt;script&gt;" in html
