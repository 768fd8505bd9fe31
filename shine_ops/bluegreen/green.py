"""Green: the copies of blue's target group and service on the new revision, and watching them become steady."""

from __future__ import annotations

import time
from typing import Any, Callable

from shine_ops.fixes import ApiCall
from shine_ops.start_failures import rollout_failure, stopped_reason, stopped_tasks

TG_COPY = ("Protocol", "Port", "VpcId", "TargetType", "HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled",
           "HealthCheckPath", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
           "UnhealthyThresholdCount", "Matcher", "ProtocolVersion", "IpAddressType")


def tg_params(blue_tg: dict, name: str) -> dict:
    """CreateTargetGroup input copying the blue group's settings (protocol, port, VPC, type, health check)."""
    params = {k: blue_tg[k] for k in TG_COPY if blue_tg.get(k) not in (None, "", [])}
    params["Name"] = name
    return params


def service_params(blue: dict, cluster: str, name: str, td_arn: str, tg_arn: str, blue_tg: str) -> dict:
    """CreateService input copying the blue service (cluster, network, launch type, desired count, grace
    period, load-balancer mapping with the same container name/port), on the new revision and green's TG."""
    lbs = [{**{k: v for k, v in m.items() if k in ("containerName", "containerPort")},
            "targetGroupArn": tg_arn if m.get("targetGroupArn") == blue_tg else m.get("targetGroupArn")}
           for m in blue.get("loadBalancers", [])]
    params: dict[str, Any] = {"cluster": cluster, "serviceName": name, "taskDefinition": td_arn,
                              "desiredCount": int(blue.get("desiredCount") or 1), "loadBalancers": lbs}
    for key in ("launchType", "networkConfiguration", "healthCheckGracePeriodSeconds", "platformVersion",
                "deploymentConfiguration", "capacityProviderStrategy", "enableECSManagedTags", "propagateTags"):
        if blue.get(key) not in (None, "", [], {}):
            params[key] = blue[key]
    if params.get("capacityProviderStrategy"):
        params.pop("launchType", None)  # AWS accepts one or the other
    if params.get("propagateTags") == "NONE":
        params.pop("propagateTags")
    return params


def remove_service(cluster: str, name: str) -> list[ApiCall]:
    """Undo of a CreateService: scale to 0, then delete (ECS refuses to delete a service scaled above 0)."""
    return [ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": name, "desiredCount": 0}),
            ApiCall("ecs", "DeleteService", {"cluster": cluster, "service": name, "force": True})]


def green_status(aws: Any, cluster: str, name: str, td_arn: str, tg_arn: str) -> dict:
    """One look at green: tasks on the new revision, target health, the newest events (and the service as
    described, for ``rollout_failure``)."""
    s = (aws.call("ecs", "DescribeServices", cluster=cluster, services=[name]).get("services") or [{}])[0]
    arns = aws.call("ecs", "ListTasks", cluster=cluster, serviceName=name).get("taskArns", [])
    tasks = aws.call("ecs", "DescribeTasks", cluster=cluster, tasks=arns).get("tasks", []) if arns else []
    tasks = [t for t in tasks if t.get("group") == f"service:{name}"]
    running = [t for t in tasks if t.get("lastStatus") == "RUNNING" and t.get("taskDefinitionArn") == td_arn]
    health = aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg_arn).get("TargetHealthDescriptions", [])
    return {"desired": int(s.get("desiredCount") or 0), "running": len(running),
            "targets": [(h["Target"]["Id"], h["Target"].get("Port"), h["TargetHealth"].get("State"),
                         h["TargetHealth"].get("Description") or h["TargetHealth"].get("Reason") or "")
                        for h in health],
            "events": [e.get("message") for e in s.get("events", [])[:3]],
            "service": s,
            "stopped": [stopped_reason(t) for t in tasks
                        if t.get("lastStatus") == "STOPPED" and t.get("taskDefinitionArn") == td_arn][:3]}


def stopped_evidence(aws: Any, cluster: str, name: str, td_arn: str) -> list[str]:
    """Why green's tasks stopped (ListTasks returns running tasks unless asked for STOPPED ones, on AWS)."""
    return [stopped_reason(t) for t in stopped_tasks(aws, cluster, name, td_arn)][:3]


def is_steady(st: dict) -> bool:
    """Tasks on the new revision running as desired and every registered target healthy."""
    states = [t[2] for t in st["targets"]]
    return (st["desired"] > 0 and st["running"] >= st["desired"] and len(states) >= st["desired"]
            and all(s == "healthy" for s in states))


def describe_status(st: dict) -> str:
    states = ", ".join(f"{ip} {state}" + (f" ({why})" if state != "healthy" and why else "")
                       for ip, _, state, why in st["targets"]) or "no target registered"
    return f"{st['running']}/{st['desired']} tasks running on the new revision; targets: {states}"


def wait_green(aws: Any, cluster: str, name: str, td_arn: str, tg_arn: str, deadline_s: float,
               tick: Callable[[dict], None]) -> tuple[bool, dict]:
    """Until green is steady, the deadline, or evidence that it cannot be (``st["failure"]``: a task that cannot
    start, see ``shine_ops/start_failures.py``); ``tick`` gets every look (the live view)."""
    end = time.monotonic() + deadline_s
    st: dict = {}
    while True:
        st = green_status(aws, cluster, name, td_arn, tg_arn)
        tick(st)
        if is_steady(st):
            return True, st
        st["failure"] = rollout_failure(aws, st["service"], cluster, name, td_arn)
        if st["failure"] or time.monotonic() >= end:
            return False, st
        time.sleep(1.0)
