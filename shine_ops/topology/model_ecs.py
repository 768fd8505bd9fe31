"""Typed views over ECS response shapes (services, deployments, task sets, task definitions, tasks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServiceLoadBalancer:
    target_group_arn: str | None
    container_name: str | None
    container_port: int | None


SIMULATED_MARK = "[simulated]"  # the sandbox prefixes what it emulated (moto reports no health, no rollouts)


def _count(raw: dict, key: str) -> int:
    try:
        return int(raw.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def _revision_label(arn: str | None) -> str:
    """``arn:...:task-definition/shine-api:8`` -> ``shine-api:8`` (what people call a revision)."""
    return (arn or "").rsplit("/", 1)[-1] or "?"


@dataclass
class Deployment:
    """One entry of a service's ``deployments[]`` (rolling-update ``ECS`` controller).

    ``PRIMARY`` is the newest (the service's ``taskDefinition``); ``ACTIVE`` ones are older revisions still
    running during a rollout (or the failed one while a circuit breaker rolls back); ``INACTIVE`` are gone.
    AWS returns counts and rollout fields on each; moto omits most of them, hence every member is optional."""

    id: str
    status: str  # PRIMARY | ACTIVE | INACTIVE
    task_definition: str
    desired: int
    running: int
    pending: int
    failed_tasks: int
    rollout_state: str | None  # IN_PROGRESS | COMPLETED | FAILED (None: not reported)
    rollout_state_reason: str | None
    created_at: Any = None
    updated_at: Any = None
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Deployment":
        return cls(id=str(raw.get("id", "")), status=str(raw.get("status", "")).upper(),
                   task_definition=raw.get("taskDefinition") or "", desired=_count(raw, "desiredCount"),
                   running=_count(raw, "runningCount"), pending=_count(raw, "pendingCount"),
                   failed_tasks=_count(raw, "failedTasks"), rollout_state=raw.get("rolloutState"),
                   rollout_state_reason=raw.get("rolloutStateReason"), created_at=raw.get("createdAt"),
                   updated_at=raw.get("updatedAt"), raw=raw)

    @property
    def simulated(self) -> bool:
        """The sandbox set this deployment (moto cannot roll out) and marked its reason."""
        return (self.rollout_state_reason or "").startswith(SIMULATED_MARK)

    @property
    def reason(self) -> str:
        """``rolloutStateReason`` as ECS words it (without the sandbox's mark)."""
        text = self.rollout_state_reason or ""
        return text[len(SIMULATED_MARK):].strip() if text.startswith(SIMULATED_MARK) else text

    @property
    def revision(self) -> str:
        return _revision_label(self.task_definition)


@dataclass
class TaskSet:
    """One entry of a service's ``taskSets[]`` (``CODE_DEPLOY`` / ``EXTERNAL`` controllers): each task set has its
    own task definition, load balancers and counts; ``scale`` says what share of the desired count it runs."""

    id: str
    status: str  # PRIMARY | ACTIVE | DRAINING
    task_definition: str
    computed_desired: int
    running: int
    pending: int
    stability_status: str | None  # STEADY_STATE | STABILIZING
    scale: dict | None  # {"value": 100.0, "unit": "PERCENT"}
    load_balancers: list[ServiceLoadBalancer]
    external_id: str | None = None
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "TaskSet":
        return cls(id=str(raw.get("id", "")), status=str(raw.get("status", "")).upper(),
                   task_definition=raw.get("taskDefinition") or "",
                   computed_desired=_count(raw, "computedDesiredCount"), running=_count(raw, "runningCount"),
                   pending=_count(raw, "pendingCount"), stability_status=raw.get("stabilityStatus"),
                   scale=raw.get("scale"),
                   load_balancers=[ServiceLoadBalancer(lb.get("targetGroupArn"), lb.get("containerName"),
                                                       lb.get("containerPort"))
                                   for lb in raw.get("loadBalancers") or []],
                   external_id=raw.get("externalId"), raw=raw)

    @property
    def revision(self) -> str:
        return _revision_label(self.task_definition)


@dataclass
class Service:
    arn: str
    name: str
    cluster_arn: str
    status: str
    desired: int
    running: int
    pending: int
    task_definition: str
    launch_type: str | None
    load_balancers: list[ServiceLoadBalancer]
    subnets: list[str]
    security_groups: list[str]
    assign_public_ip: str | None
    grace_period: int | None
    rollout_state: str | None  # the PRIMARY deployment's
    events: list[dict]
    raw: dict = field(repr=False, default_factory=dict)
    deployments: list[Deployment] = field(default_factory=list)  # ECS controller: PRIMARY first
    task_sets: list[TaskSet] = field(default_factory=list)  # CODE_DEPLOY / EXTERNAL controllers
    deployment_controller: str = "ECS"  # absent from a response means the default, ECS

    @classmethod
    def from_raw(cls, raw: dict) -> "Service":
        aws = (raw.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        deployments = raw.get("deployments") or []
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else {})
        return cls(arn=raw["serviceArn"], name=raw["serviceName"], cluster_arn=raw["clusterArn"],
                   status=raw.get("status", "UNKNOWN"), desired=int(raw.get("desiredCount", 0)),
                   running=int(raw.get("runningCount", 0)), pending=int(raw.get("pendingCount", 0)),
                   task_definition=raw.get("taskDefinition", ""), launch_type=raw.get("launchType"),
                   load_balancers=[ServiceLoadBalancer(lb.get("targetGroupArn"), lb.get("containerName"),
                                                       lb.get("containerPort"))
                                   for lb in raw.get("loadBalancers", [])],
                   subnets=list(aws.get("subnets", [])), security_groups=list(aws.get("securityGroups", [])),
                   assign_public_ip=aws.get("assignPublicIp"),
                   grace_period=raw.get("healthCheckGracePeriodSeconds"),
                   rollout_state=primary.get("rolloutState"), events=list(raw.get("events", [])), raw=raw,
                   deployments=sorted((Deployment.from_raw(d) for d in deployments),
                                      key=lambda d: {"PRIMARY": 0, "ACTIVE": 1}.get(d.status, 2)),
                   task_sets=sorted((TaskSet.from_raw(t) for t in raw.get("taskSets") or []),
                                    key=lambda t: {"PRIMARY": 0, "ACTIVE": 1}.get(t.status, 2)),
                   deployment_controller=str((raw.get("deploymentController") or {}).get("type") or "ECS"))

    @property
    def cluster_name(self) -> str:
        return self.cluster_arn.split("/")[-1]

    @property
    def key(self) -> str:
        return f"{self.cluster_name}/{self.name}"

    @property
    def target_group_arns(self) -> list[str]:
        return [lb.target_group_arn for lb in self.load_balancers if lb.target_group_arn]

    @property
    def primary_deployment(self) -> Deployment | None:
        return next((d for d in self.deployments if d.status == "PRIMARY"), None)

    @property
    def uses_task_sets(self) -> bool:
        """CODE_DEPLOY and EXTERNAL controllers deploy through task sets, not deployments."""
        return self.deployment_controller in ("CODE_DEPLOY", "EXTERNAL") or (bool(self.task_sets)
                                                                            and not self.deployments)

    def named_revisions(self) -> list[str]:
        """Every task definition the service names: its own, its deployments' and its task sets' (deduplicated)."""
        arns = [self.task_definition] + [d.task_definition for d in self.deployments if d.status != "INACTIVE"] \
            + [t.task_definition for t in self.task_sets]
        return list(dict.fromkeys(a for a in arns if a))


@dataclass
class ContainerDef:
    name: str
    image: str
    port_mappings: list[dict]
    environment: dict[str, str]
    health_check: dict | None
    essential: bool
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "ContainerDef":
        return cls(name=raw["name"], image=raw.get("image", ""), port_mappings=list(raw.get("portMappings", [])),
                   environment={e["name"]: e.get("value", "") for e in raw.get("environment", [])},
                   health_check=raw.get("healthCheck"), essential=raw.get("essential", True), raw=raw)

    @property
    def container_ports(self) -> list[int]:
        return [int(p["containerPort"]) for p in self.port_mappings if "containerPort" in p]


@dataclass
class TaskDefinition:
    arn: str
    family: str
    revision: int
    network_mode: str
    containers: list[ContainerDef]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "TaskDefinition":
        return cls(arn=raw["taskDefinitionArn"], family=raw["family"], revision=int(raw.get("revision", 0)),
                   network_mode=raw.get("networkMode", "bridge"),
                   containers=[ContainerDef.from_raw(c) for c in raw.get("containerDefinitions", [])], raw=raw)

    def container(self, name: str | None) -> ContainerDef | None:
        return next((c for c in self.containers if c.name == name), None)

    @property
    def label(self) -> str:
        return f"{self.family}:{self.revision}"


@dataclass
class Task:
    arn: str
    task_definition: str
    last_status: str
    desired_status: str
    group: str | None
    health: str | None
    stopped_reason: str | None
    addresses: list[str]
    eni_ids: list[str]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Task":
        addrs: list[str] = []
        enis: list[str] = []
        for att in raw.get("attachments", []):
            details = {d["name"]: d.get("value") for d in att.get("details", [])}
            if details.get("privateIPv4Address"):
                addrs.append(details["privateIPv4Address"])
            if details.get("networkInterfaceId"):
                enis.append(details["networkInterfaceId"])
        for c in raw.get("containers", []):
            for ni in c.get("networkInterfaces", []):
                if ni.get("privateIpv4Address") and ni["privateIpv4Address"] not in addrs:
                    addrs.append(ni["privateIpv4Address"])
        return cls(arn=raw["taskArn"], task_definition=raw.get("taskDefinitionArn", ""),
                   last_status=raw.get("lastStatus", ""), desired_status=raw.get("desiredStatus", ""),
                   group=raw.get("group"), health=raw.get("healthStatus"), stopped_reason=raw.get("stoppedReason"),
                   addresses=addrs, eni_ids=enis, raw=raw)
