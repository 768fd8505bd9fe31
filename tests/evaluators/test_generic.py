"""YAML-only checks: the generic JMESPath evaluator, its validation, and the three built-in ones."""

from __future__ import annotations

import pytest

from shine_ops.engine.catalogue import Catalogue
from shine_ops.engine.yamlload import load_located
from shine_ops.errors import ConfigError
from shine_ops.evaluators import REGISTRY
from tests.evaluators.builders import TD_ARN, build


def _run(params: dict, ctx=None):
    ctx = ctx or build()  # build() loads the built-in evaluators
    return REGISTRY["jmespath"].fn(ctx, params)


def test_assertion_passes_and_names_failing_resources():
    params = {"resource": "task_definitions", "id": "taskDefinitionArn",
              "assert": "length(containerDefinitions[?logConfiguration == null]) == `0`"}
    out = _run(params)
    assert out.status == "fail" and out.resources == [TD_ARN]  # the builder's container has no logConfiguration
    ctx = build()
    ctx.snapshot.task_definitions[TD_ARN].raw["containerDefinitions"][0]["logConfiguration"] = {"logDriver": "awslogs"}
    assert _run(params, ctx).status == "pass"


def test_where_filters_and_no_resource_skips():
    assert _run({"resource": "certificates", "id": "CertificateArn", "assert": "true"}).status == "skip"
    out = _run({"resource": "target_groups", "id": "TargetGroupName", "where": "Port == `8000`",
                "assert": "HealthCheckPath == '/health'"})
    assert out.status == "pass" and out.resources == ["svc"]


@pytest.mark.parametrize("params,field,message", [
    ({"resource": "widgets", "id": "x", "assert": "true"}, "params.resource", "unknown resource kind"),
    ({"resource": "services", "id": "serviceArn", "assert": "length("}, "params.assert", "invalid JMESPath"),
    ({"resource": "services", "id": "serviceArn"}, "params.assert", "expected a JMESPath expression"),
])
def test_invalid_yaml_check_is_a_config_error_with_line(tmp_path, params, field, message):
    import yaml

    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump({"id": "my.check", "title": "mine", "severity": "low", "evaluator": "jmespath",
                                 "params": params}, sort_keys=False))
    cat = Catalogue.load()
    with pytest.raises(ConfigError) as exc:
        cat._check_from(load_located(f), REGISTRY)
    assert f"{f}:" in str(exc.value) and field in str(exc.value) and message in str(exc.value)


def test_builtin_yaml_only_checks_load_and_run_in_the_guardrails_playbook():
    cat = Catalogue.load()
    pb = cat.load_playbook("guardrails")
    assert [e.check.id for e in pb.entries] == ["ecs.task-logging-configured", "ecs.container-health-check-defined",
                                                "tg.deregistration-delay-bounded"]
    assert all(e.check.evaluator == "jmespath" for e in pb.entries)
    from shine_ops.engine.runner import evaluate

    findings = {f.check: f for f in evaluate(pb, build())}
    assert findings["ecs.task-logging-configured"].status == "fail"
    assert findings["ecs.container-health-check-defined"].status == "fail"
    assert findings["tg.deregistration-delay-bounded"].status == "skip"  # attributes not collected in the builder
