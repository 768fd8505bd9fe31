"""Shape fuzzing (issue 14 item 2): accounts generated from botocore's service models, through the real Collector,
every evaluator of ``snail-trail`` and every renderer, must keep the invariants of ``tests/fuzz/world.py``.

The normal test command runs ``SHINE_OPS_FUZZ_EXAMPLES`` examples (default 40); a longer run:
``SHINE_OPS_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/fuzz/test_shape_fuzz.py -q`` (or
``python bench/shape_fuzz.py --examples 2000``, which also prints what the run covered).

Each bug the fuzzer found keeps a small fixed world below (a corpus world with one edit), so it stays fixed.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.corpus.replay import load_world
from tests.fuzz.strategies import OPERATIONS, PINNED, declared_settings, worlds
from tests.fuzz.world import EMPTY_NAME, diagnose

EXAMPLES = int(os.environ.get("SHINE_OPS_FUZZ_EXAMPLES", "40"))
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
TOPOLOGY = Path(__file__).resolve().parents[2] / "shine_ops" / "topology"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW_OK, print_blob=True)
@given(world=worlds(), declared=declared_settings())
def test_generated_accounts_keep_the_invariants(world, declared):
    out = diagnose(world, declared)
    assert out.problems == [], "\n".join(out.problems)


def test_the_fuzzer_answers_every_operation_the_collectors_call():
    """An operation the request-path collectors start calling must be generated here too (else the replay answers
    "world incomplete" and the fuzzer would stop short of it)."""
    called = set()
    for name in ("collect.py", "metrics.py"):
        called |= set(re.findall(r'(?:call|call_quick|paginate|iter_pages)\(\s*"([a-z0-9]+)",\s*"([A-Za-z]+)"',
                                 (TOPOLOGY / name).read_text()))
    called |= {("ecs", "ListServices"), ("ecs", "DescribeServices"), ("sts", "GetCallerIdentity")}  # account.py
    generated = {(svc, op) for svc, ops in OPERATIONS.items() for op in ops}
    assert called and called <= generated, sorted(called - generated)


# --------------------------------------------------------------------------- regressions: one world per bug
def _world(base: str, target: dict, edit) -> dict:
    responses = copy.deepcopy(load_world(base))
    edit(responses)
    return {"responses": responses, "target": target}


HEALTHY = {"domain": "api.example.com"}


def _service(responses: dict) -> dict:
    return responses["ecs.DescribeServices"]["services"][0]


def _no_named_revision(r: dict) -> None:
    svc = _service(r)
    svc.pop("taskDefinition", None)
    for d in svc.get("deployments", []):
        d.pop("taskDefinition", None)
    svc["deploymentController"] = {"type": "EXTERNAL"}  # answers without taskDefinition; task sets name them
    svc.pop("taskSets", None)  # ... and it has none yet
    r["ecs.DescribeTasks"]["tasks"] = []  # nothing runs: no revision to judge from the tasks either


def test_a_service_naming_no_task_definition_says_so():
    """Found by the fuzzer: 'The task definition  of c-0/svc-0 was not found.' (an EXTERNAL-controller service
    answers without taskDefinition)."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _no_named_revision))
    assert out.problems == []
    f = next(f for f in out.report.findings if f.check == "ecs.port-env-matches-container")
    assert f.status == "skip" and "names no task definition" in f.summary and not EMPTY_NAME.search(f.summary)


def _no_listeners(r: dict) -> None:
    r["elbv2.DescribeListeners"]["Listeners"] = []
    r["elbv2.DescribeRules"]["Rules"] = []


def test_a_load_balancer_without_listeners_names_what_was_judged():
    """Found by the fuzzer: 'service_paths was not declared: judged  (the domain's plain request ...' when no
    listener could be judged."""
    svc = _service(load_world("healthy-fargate"))
    target = {"cluster": svc["clusterArn"].rsplit("/", 1)[1], "service": svc["serviceName"]}
    out = diagnose(_world("healthy-fargate", target, _no_listeners))
    assert out.problems == []
    f = next(f for f in out.report.findings if f.check == "listener.routes-to-service")
    assert f.status == "fail" and "no request could be judged" in f.summary


# --------------------------------------------------------------------------- open bugs (PINNED in strategies.py)
def _gateway_lb(r: dict) -> None:
    lbs = r["elbv2.DescribeLoadBalancers"]["LoadBalancers"]
    arn = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/gwy/my-gateway-load-balancer/0a1b2c3d"
    lbs.append({"LoadBalancerArn": arn, "LoadBalancerName": "my-gateway-load-balancer", "Type": "gateway",
                "State": {"Code": "active"}, "VpcId": lbs[0].get("VpcId", "vpc-1"), "AvailabilityZones": []})


@pytest.mark.xfail(strict=True, reason=PINNED[("elbv2", "LoadBalancer.DNSName")])
def test_an_account_with_a_gateway_load_balancer_is_diagnosed():
    out = diagnose(_world("healthy-fargate", HEALTHY, _gateway_lb))
    assert out.problems == []


def _gateway_listener(r: dict) -> None:
    _gateway_lb(r)
    gwy = r["elbv2.DescribeLoadBalancers"]["LoadBalancers"][-1]
    gwy["DNSName"] = "unused.example"  # only the listener's shape is under test here
    arn = gwy["LoadBalancerArn"].replace(":loadbalancer/", ":listener/") + "/9f8e7d6c"
    # a gateway load balancer's listener, as aws-cli create-listener example 1 records it: no Port, no Protocol
    r["elbv2.DescribeListeners"]["Listeners"].append({"ListenerArn": arn, "LoadBalancerArn": gwy["LoadBalancerArn"],
                                                      "DefaultActions": [{"Type": "forward", "TargetGroupArn": (
                                                          r["elbv2.DescribeTargetGroups"]["TargetGroups"][0]
                                                          ["TargetGroupArn"])}]})
    r["elbv2.DescribeTargetGroups"]["TargetGroups"][0].setdefault("LoadBalancerArns", []).append(
        gwy["LoadBalancerArn"])


@pytest.mark.xfail(strict=True, reason=PINNED[("elbv2", "Listener.Port")])
def test_a_gateway_listener_in_front_of_the_service_is_diagnosed():
    out = diagnose(_world("healthy-fargate", HEALTHY, _gateway_listener))
    assert out.problems == []


def _ipv6_only_subnet(r: dict) -> None:
    for s in r["ec2.DescribeSubnets"]["Subnets"]:
        s.pop("CidrBlock", None)
        s["Ipv6Native"] = True
        s["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": "2600:1f14:abc:de00::/64",
                                             "Ipv6CidrBlockState": {"State": "associated"}}]


@pytest.mark.xfail(strict=True, reason=PINNED[("ec2", "Subnet.CidrBlock")])
def test_a_service_in_ipv6_only_subnets_is_diagnosed():
    out = diagnose(_world("healthy-fargate", HEALTHY, _ipv6_only_subnet))
    assert out.problems == []
