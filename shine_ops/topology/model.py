"""Typed views over raw AWS response shapes.

Each view keeps the raw dict it was built from (``raw``) because generic YAML checks query the raw
shapes with JMESPath, and because a finding's evidence should quote what AWS said, not our paraphrase.

The views live by service - ``model_dns`` (Route 53), ``model_elb`` (ELBv2, ACM), ``model_ecs`` (ECS) and
``model_ec2`` (EC2 networking) - and are all importable from here.
"""

from __future__ import annotations

from shine_ops.topology.model_dns import HostedZone, RecordSet, norm_dns
from shine_ops.topology.model_ec2 import NetworkAcl, NetworkInterface, RouteTable, SecurityGroup, SgRule, Subnet
from shine_ops.topology.model_ecs import (SIMULATED_MARK, ContainerDef, Deployment, Service, ServiceLoadBalancer, Task,
                                          TaskDefinition, TaskSet)
from shine_ops.topology.model_elb import (Action, Certificate, Condition, HealthCheck, Listener, LoadBalancer, Rule,
                                          TargetGroup, TargetHealth)

__all__ = [
    "norm_dns", "HostedZone", "RecordSet",
    "Action", "Certificate", "Condition", "HealthCheck", "Listener", "LoadBalancer", "Rule", "TargetGroup",
    "TargetHealth",
    "SIMULATED_MARK", "ContainerDef", "Deployment", "Service", "ServiceLoadBalancer", "Task", "TaskDefinition",
    "TaskSet",
    "NetworkAcl", "NetworkInterface", "RouteTable", "SecurityGroup", "SgRule", "Subnet",
]
