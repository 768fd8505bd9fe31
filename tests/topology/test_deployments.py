"""Deployments as ECS reports them: the model parses ``deployments[]``, ``taskSets[]`` and the deployment controller
(tolerant of what moto omits), RequestPath says which revisions serve, and the collector describes every revision a
deployment, task set or running task names, once each."""

from __future__ import annotations

import datetime as dt

from shine_ops.topology import path as P
from shine_ops.topology.collect import PERMISSIONS, Collector, Target
from shine_ops.topology.model import Service, Task, TaskDefinition
from shine_ops.topology.snapshot import Snapshot

ACCT = "123456789012"
TD = f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/shine-api"
TG = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/shine-api/0123456789abcdef"

# DescribeServices for a service mid-rollout, shaped as AWS returns it (every member the botocore model names for a
# rolling update with the circuit breaker, a capacity provider strategy and epoch timestamps as the wire carries them)
MID_ROLLOUT = {
    "serviceArn": f"arn:aws:ecs:us-east-1:{ACCT}:service/prod/shine-api", "serviceName": "shine-api",
    "clusterArn": f"arn:aws:ecs:us-east-1:{ACCT}:cluster/prod", "status": "ACTIVE",
    "loadBalancers": [{"targetGroupArn": TG, "containerName": "api", "containerPort": 8000}],
    "desiredCount": 1, "runningCount": 1, "pendingCount": 1, "taskDefinition": f"{TD}:8",
    "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
    "platformVersion": "LATEST", "platformFamily": "Linux",
    "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                "maximumPercent": 200, "minimumHealthyPercent": 100},
    "deployments": [
        {"id": "ecs-svc/5296302771042960401", "status": "PRIMARY", "taskDefinition": f"{TD}:8", "desiredCount": 1,
         "pendingCount": 1, "runningCount": 0, "failedTasks": 0, "createdAt": 1714557600.123,
         "updatedAt": 1714557612.456, "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1,
                                                                      "base": 0}],
         "platformVersion": "1.4.0", "platformFamily": "Linux",
         "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"], "securityGroups": ["sg-1"],
                                                          "assignPublicIp": "DISABLED"}},
         "rolloutState": "IN_PROGRESS", "rolloutStateReason": "ECS deployment ecs-svc/5296302771042960401 in progress."},
        {"id": "ecs-svc/8815103322587610938", "status": "ACTIVE", "taskDefinition": f"{TD}:7", "desiredCount": 1,
         "pendingCount": 0, "runningCount": 1, "failedTasks": 0, "createdAt": 1714471200.0, "updatedAt": 1714471290.0,
         "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
         "rolloutState": "COMPLETED", "rolloutStateReason": "ECS deployment ecs-svc/8815103322587610938 completed."},
    ],
    "deploymentController": {"type": "ECS"},
    "events": [{"id": "e1", "createdAt": 1714557612.0,
                "message": "(service shine-api) has started 1 tasks: (task 0f1e2d3c4b5a69788796a5b4c3d2e1f0)."}],
    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"], "securityGroups": ["sg-1"],
                                                     "assignPublicIp": "DISABLED"}},
    "healthCheckGracePeriodSeconds": 0, "schedulingStrategy": "REPLICA", "enableECSManagedTags": True,
    "propagateTags": "NONE", "enableExecuteCommand": False,
}

TASK_SETS = [
    {"id": "ecs-svc/ts-green", "taskSetArn": f"arn:aws:ecs:us-east-1:{ACCT}:task-set/prod/shine-api/ecs-svc/ts-green",
     "status": "ACTIVE", "taskDefinition": f"{TD}:8", "computedDesiredCount": 2, "pendingCount": 2, "runningCount": 0,
     "createdAt": 1714557600.0, "launchType": "FARGATE", "externalId": "d-ABCDEF123",
     "loadBalancers": [{"targetGroupArn": TG + "-green", "containerName": "api", "containerPort": 8000}],
     "scale": {"value": 100.0, "unit": "PERCENT"}, "stabilityStatus": "STABILIZING"},
    {"id": "ecs-svc/ts-blue", "status": "PRIMARY", "taskDefinition": f"{TD}:7", "computedDesiredCount": 2,
     "pendingCount": 0, "runningCount": 2, "loadBalancers": [{"targetGroupArn": TG, "containerName": "api",
                                                              "containerPort": 8000}],
     "scale": {"value": 100.0, "unit": "PERCENT"}, "stabilityStatus": "STEADY_STATE"},
]


def _td(rev: int) -> TaskDefinition:
    return TaskDefinition.from_raw({"taskDefinitionArn": f"{TD}:{rev}", "family": "shine-api", "revision": rev,
                                    "containerDefinitions": [{"name": "api", "image": f"api:{rev}"}]})


def _task(n: int, rev: int, status: str = "RUNNING") -> Task:
    return Task.from_raw({"taskArn": f"arn:aws:ecs:us-east-1:{ACCT}:task/prod/t{n}", "taskDefinitionArn": f"{TD}:{rev}",
                          "lastStatus": status, "desiredStatus": status, "group": "service:shine-api",
                          "clusterArn": MID_ROLLOUT["clusterArn"]})


# --------------------------------------------------------------------------- model
def test_a_real_shaped_rollout_parses_into_deployments_primary_first():
    svc = Service.from_raw(MID_ROLLOUT)
    assert svc.deployment_controller == "ECS" and not svc.uses_task_sets
    primary, active = svc.deployments
    assert (primary.status, primary.revision, primary.running, primary.pending, primary.rollout_state) == (
        "PRIMARY", "shine-api:8", 0, 1, "IN_PROGRESS")
    assert primary.reason == "ECS deployment ecs-svc/5296302771042960401 in progress." and not primary.simulated
    assert (active.status, active.revision, active.running, active.desired, active.rollout_state) == (
        "ACTIVE", "shine-api:7", 1, 1, "COMPLETED")
    assert active.created_at == 1714471200.0
    assert svc.primary_deployment is primary and svc.rollout_state == "IN_PROGRESS"
    assert svc.named_revisions() == [f"{TD}:8", f"{TD}:7"]
    assert svc.grace_period == 0


def test_deployments_are_ordered_primary_first_whatever_the_response_order():
    raw = dict(MID_ROLLOUT, deployments=list(reversed(MID_ROLLOUT["deployments"])))
    assert [d.status for d in Service.from_raw(raw).deployments] == ["PRIMARY", "ACTIVE"]


def test_task_sets_and_the_controller_type_parse():
    raw = dict(MID_ROLLOUT, deployments=[], taskSets=TASK_SETS, deploymentController={"type": "CODE_DEPLOY"},
               taskDefinition=f"{TD}:7")
    svc = Service.from_raw(raw)
    assert svc.deployment_controller == "CODE_DEPLOY" and svc.uses_task_sets
    blue, green = svc.task_sets
    assert (blue.status, blue.revision, blue.running, blue.computed_desired, blue.stability_status) == (
        "PRIMARY", "shine-api:7", 2, 2, "STEADY_STATE")
    assert (green.status, green.pending, green.scale, green.external_id) == (
        "ACTIVE", 2, {"value": 100.0, "unit": "PERCENT"}, "d-ABCDEF123")
    assert green.load_balancers[0].target_group_arn == TG + "-green"
    assert svc.named_revisions() == [f"{TD}:7", f"{TD}:8"]


def test_absent_members_are_tolerated_as_moto_omits_them():
    svc = Service.from_raw({"serviceArn": "arn:svc", "serviceName": "s", "clusterArn": "arn:c/prod",
                            "deployments": [{"status": "PRIMARY"}, {}]})
    assert svc.deployment_controller == "ECS" and svc.task_sets == []
    d = svc.deployments[0]
    assert (d.task_definition, d.running, d.rollout_state, d.reason, d.revision) == ("", 0, None, "", "?")
    assert svc.named_revisions() == []


def test_the_sandbox_mark_makes_a_deployment_simulated():
    raw = dict(MID_ROLLOUT["deployments"][0], rolloutStateReason="[simulated] ECS deployment x in progress.")
    svc = Service.from_raw(dict(MID_ROLLOUT, deployments=[raw]))
    assert svc.deployments[0].simulated and svc.deployments[0].reason == "ECS deployment x in progress."


# --------------------------------------------------------------------------- the revisions that serve
def _path(tasks: list[Task], raw: dict = MID_ROLLOUT) -> tuple[Snapshot, P.RequestPath]:
    snap = Snapshot(region="us-east-1", account=ACCT)
    svc = Service.from_raw(raw)
    snap.services[svc.arn] = svc
    for rev in (7, 8):
        snap.task_definitions[f"{TD}:{rev}"] = _td(rev)
    for t in tasks:
        snap.tasks[t.arn] = t
    return snap, P.RequestPath(domain=None, service=svc)


def test_serving_revisions_come_from_the_running_tasks():
    snap, path = _path([_task(1, 7), _task(2, 8, "PROVISIONING"), _task(3, 8, "STOPPED")])
    assert path.task_definition(snap).label == "shine-api:8"  # existing callers: the PRIMARY one
    assert path.serving_task_definition_arns(snap) == [f"{TD}:7"]
    assert [td.label for td in path.serving_task_definitions(snap)] == ["shine-api:7"]
    assert [td.label for td in path.judged_task_definitions(snap)] == ["shine-api:8", "shine-api:7"]


def test_without_tasks_the_deployment_counts_say_what_serves():
    snap, path = _path([])
    assert path.serving_task_definition_arns(snap) == [f"{TD}:7"]
    sets = dict(MID_ROLLOUT, deployments=[], taskSets=TASK_SETS, taskDefinition=f"{TD}:7")
    snap, path = _path([], sets)
    assert path.serving_task_definition_arns(snap) == [f"{TD}:7"]


def test_nothing_running_judges_the_primary_revision_alone():
    raw = dict(MID_ROLLOUT, deployments=[dict(MID_ROLLOUT["deployments"][0])])
    snap, path = _path([], raw)
    assert path.serving_task_definitions(snap) == []
    assert [td.label for td in path.judged_task_definitions(snap)] == ["shine-api:8"]


# --------------------------------------------------------------------------- collection
def test_collector_describes_every_named_and_running_revision_once(aws, clients, monkeypatch):
    from moto.ecs.models import ecs_backends

    ecs = clients["ecs"]
    ec2 = clients["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="task", Description="task", VpcId=vpc)["GroupId"]
    net = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}}
    ecs.create_cluster(clusterName="prod")
    arns = [ecs.register_task_definition(family="shine-api", networkMode=mode, containerDefinitions=[
        {"name": "api", "image": f"api:{i}", "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
        for i, mode in ((1, "bridge"), (2, "awsvpc"), (3, "awsvpc"))]  # :1 bridge: moto runs it without an ENI
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    ecs.create_service(cluster="prod", serviceName="shine-api", taskDefinition=arns[2], desiredCount=1,
                       launchType="FARGATE",
                       networkConfiguration=net)
    # a rollout from :2 to :3 (moto never rolls out: its model is set as DescribeServices would report it),
    # and one running task left on :1 that no deployment names
    model = ecs_backends[ACCT]["us-east-1"].services["prod:shine-api"]
    now = dt.datetime.now(dt.timezone.utc)
    model.deployments = [
        {"id": "ecs-svc/3", "status": "PRIMARY", "taskDefinition": arns[2], "desiredCount": 1, "runningCount": 0,
         "pendingCount": 1, "rolloutState": "IN_PROGRESS", "createdAt": now, "updatedAt": now},
        {"id": "ecs-svc/2", "status": "ACTIVE", "taskDefinition": arns[1], "desiredCount": 1, "runningCount": 1,
         "pendingCount": 0, "rolloutState": "COMPLETED", "createdAt": now, "updatedAt": now}]
    from moto.moto_api import state_manager

    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10 ** 6})  # stays RUNNING
    try:
        ecs.run_task(cluster="prod", taskDefinition=arns[0], count=1, launchType="FARGATE", group="service:shine-api")
        snap, path = Collector(aws, areas={"ecs", "tasks"}).collect(Target(cluster="prod", service="shine-api"))
    finally:
        state_manager.unset_transition("ecs::task")
    assert [t.last_status for t in snap.tasks.values()] == ["RUNNING"]
    assert aws.calls.by_operation["ecs.DescribeTaskDefinition"] == 3
    assert {td.label for td in snap.task_definitions.values()} == {"shine-api:1", "shine-api:2", "shine-api:3"}
    assert [d.revision for d in path.service.deployments] == ["shine-api:3", "shine-api:2"]
    assert path.task_definition(snap).label == "shine-api:3"
    assert "ecs:DescribeTaskDefinition" in PERMISSIONS["ecs"] + PERMISSIONS["tasks"]

    again = Collector(aws, areas={"ecs"})
    aws.calls.by_operation.clear()
    again.collect(Target(cluster="prod", service="shine-api"))
    assert aws.calls.by_operation["ecs.DescribeTaskDefinition"] == 2  # without tasks: the deployments' revisions
