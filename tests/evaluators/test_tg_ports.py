"""tg.port-matches-container: judged on the ports targets are registered with (docs/aws-behaviour.md section 1)."""

from __future__ import annotations

from shine_ops.evaluators import REGISTRY
from shine_ops.topology.model import TaskDefinition
from tests.evaluators.builders import TD_ARN, TG_SVC
from tests.evaluators.builders_tg_ecs import build_tg_ecs, target


def run(ctx):
    return REGISTRY["tg.port-matches-container"].fn(ctx, {})


def test_targets_on_the_container_port_pass():
    out = run(build_tg_ecs())
    assert out.status == "pass" and "svc:8000 = api:8000" in out.summary
    assert TG_SVC in out.resources


def test_group_port_differs_but_targets_sit_on_the_container_port_is_a_warn():
    # created on 80 in front of containers on 8080 style: ECS registers ip:containerPort, traffic works
    out = run(build_tg_ecs(tg_port=80))
    assert out.status == "warn"
    assert "harmless today" in out.summary and "would get 80" in out.summary
    assert out.evidence["mappings"][0]["registered"] == ["10.0.1.10:8000", "10.0.1.11:8000"]


def test_group_port_differs_with_no_targets_is_still_only_a_warn():
    out = run(build_tg_ecs(tg_port=5000, targets=[]))
    assert out.status == "warn" and "ECS registers tasks on 8000" in out.summary


def test_tg_port_matches_container_fails_on_targets_registered_on_a_port_nothing_listens_on():
    out = run(build_tg_ecs(tg_port=5000, targets=[target("10.0.1.10", port=5000), target("10.0.1.11")]))
    assert out.status == "fail"
    assert "10.0.1.10:5000 registered" in out.summary and "listens on 8000" in out.summary
    assert "10.0.1.10:5000" in out.resources and TG_SVC in out.resources


def test_draining_targets_are_not_judged():
    out = run(build_tg_ecs(targets=[target("10.0.1.10"), target("10.0.1.9", "draining", port=5000)]))
    assert out.status == "pass"


def _bridge(ctx, host_port):
    ctx.snapshot.task_definitions[TD_ARN] = TaskDefinition.from_raw({
        "taskDefinitionArn": TD_ARN, "family": "api", "revision": 3, "networkMode": "bridge",
        "containerDefinitions": [{"name": "api", "image": "api:1",
                                  "portMappings": [{"containerPort": 8000, "hostPort": host_port}]}]})
    return ctx


def test_bridge_mode_dynamic_host_ports_pass_whatever_the_target_ports():
    ctx = _bridge(build_tg_ecs(target_type="instance", targets=[target("i-1", port=32768), target("i-2", port=32771)]),
                  0)
    out = run(ctx)
    assert out.status == "pass" and "dynamic host ports" in out.summary


def test_bridge_mode_static_host_port_is_judged_against_the_host_port():
    ctx = _bridge(build_tg_ecs(target_type="instance", targets=[target("i-1", port=80)]), 80)
    assert run(ctx).status == "warn"  # group port 8000, targets on the host port 80: harmless
    ctx = _bridge(build_tg_ecs(target_type="instance", targets=[target("i-1", port=8000)]), 80)
    out = run(ctx)
    assert out.status == "fail" and "i-1:8000" in out.summary and "listens on 80" in out.summary


def test_instance_group_behind_awsvpc_is_left_to_targets_registered():
    out = run(build_tg_ecs(target_type="instance"))
    assert out.status == "warn" and "instance target group behind an awsvpc service" in out.summary


# --------------------------------------------------------------------------- tg.targets-registered, no vacuous pass
def registered(ctx):
    return REGISTRY["tg.targets-registered"].fn(ctx, {})


def test_instance_group_behind_awsvpc_fails_targets_registered():
    out = registered(build_tg_ecs(target_type="instance", targets=[]))
    assert out.status == "fail" and "target type instance" in out.summary and "ip target group" in out.summary


def test_an_empty_group_never_passes():
    out = registered(build_tg_ecs(targets=[], tasks=[], service={"runningCount": 0}))
    assert out.status == "fail" and "lists no targets" in out.summary and "runs no task (0/2 running)" in out.summary
    out = registered(build_tg_ecs(targets=[]))  # two running tasks, none registered
    assert out.status == "fail" and "not registered" in out.summary
