"""Shape fuzzing (issue 14 item 2): accounts generated from botocore's service models, through the real Collector,
every evaluator of ``snail-trail`` and every renderer, must keep the invariants of ``tests/fuzz/world.py``.

The normal test command runs ``SHINE_OPS_FUZZ_EXAMPLES`` examples (default 40); a longer run:
``SHINE_OPS_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/fuzz/test_shape_fuzz.py -q`` (or
``python bench/shape_fuzz.py --examples 2000``, which also prints what the run covered).

Each bug the fuzzer found keeps a small fixed world below (a corpus world with one edit), so it stays fixed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.corpus.replay import load_world
from tests.fuzz.strategies import OPERATIONS, declared_settings, worlds
from tests.fuzz.world import EMPTY_NAME, diagnose

EXAMPLES = int(os.environ.get("SHINE_OPS_FUZZ_EXAMPLES", "40"))
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
# Shrinking a whole account takes minutes and rarely makes the broken sentence clearer: off unless asked for
# (SHINE_OPS_FUZZ_SHRINK=1). A failure dumps its world to a JSON file instead (see _dump).
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target] + (
    [Phase.shrink] if os.environ.get("SHINE_OPS_FUZZ_SHRINK") else [])
TOPOLOGY = Path(__file__).resolve().parents[2] / "shine_ops" / "topology"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW_OK, print_blob=True, phases=PHASES)
@given(world=worlds(), declared=declared_settings())
def test_generated_accounts_keep_the_invariants(world, declared):
    try:
        out = diagnose(world, declared)
    except Exception as exc:
        raise AssertionError(f"crash: {type(exc).__name__}: {exc} ({_dump(world, declared)})") from exc
    assert out.problems == [], "\n".join(out.problems) + f"\n({_dump(world, declared)})"


def _dump(world: dict, declared) -> str:
    """Write a failing world where it can be replayed: ``tests.fuzz.world.diagnose(doc, Settings(**doc["settings"]))``."""
    from dataclasses import asdict

    doc = {**world, "settings": asdict(declared)}
    text = json.dumps(doc, indent=1, default=str, sort_keys=True)
    path = Path(tempfile.gettempdir()) / f"shine-ops-fuzz-{hashlib.sha1(text.encode()).hexdigest()[:10]}.json"
    path.write_text(text)
    return f"world written to {path}"


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


HEALTHY = {"domain": "www.example.com"}  # healthy-fargate's own domain (its verdicts.yaml)


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


def _finding(out, check: str):
    return next(f for f in out.report.findings if f.check == check)


def _empty_port_env(r: dict) -> None:
    td = next(v for k, v in r.items() if k.startswith("ecs.DescribeTaskDefinition "))["taskDefinition"]
    td["containerDefinitions"][0]["environment"] = [{"name": "PORT", "value": ""}]


def test_an_empty_port_variable_is_named_as_empty():
    """Found by the fuzzer: "container sidecar sets PORT='', which is no port number"."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _empty_port_env))
    assert out.problems == []
    f = _finding(out, "ecs.port-env-matches-container")
    assert f.status == "fail" and "sets PORT to an empty value" in f.summary


def _portless_group(r: dict) -> None:
    r["elbv2.DescribeTargetGroups"]["TargetGroups"][0].pop("Port")
    th = next(v for k, v in r.items() if k.startswith("elbv2.DescribeTargetHealth "))
    th["TargetHealthDescriptions"][0]["Target"].pop("Port")


def test_a_target_without_a_port_in_a_group_without_one_is_named_without_none():
    """Found by the fuzzer: "tg-0 has 203.0.113.10:None registered" (neither the target nor its group has a port)."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _portless_group))
    assert out.problems == []
    f = _finding(out, "tg.port-matches-container")
    assert f.status == "fail" and "10.0.1.184 (no port)" in f.summary


def _group_without_own_port(r: dict) -> None:
    r["elbv2.DescribeTargetGroups"]["TargetGroups"][0].pop("Port")


def test_a_group_without_its_own_port_says_so():
    """Found by the fuzzer: "Target group tg-0's own port is None while ECS registers tasks on 80"."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _group_without_own_port))
    assert out.problems == []
    f = _finding(out, "tg.port-matches-container")
    assert f.status == "warn" and "has no port of its own" in f.summary


def _gateway_in_front(r: dict) -> None:
    lb = r["elbv2.DescribeLoadBalancers"]["LoadBalancers"][0]
    lb.pop("SecurityGroups")
    lb["Type"] = "gateway"  # a gateway load balancer has no security group
    for sg in r["ec2.DescribeSecurityGroups"]["SecurityGroups"]:  # and the tasks admit nothing but their own group
        for perm in sg.get("IpPermissions", []):
            perm["IpRanges"], perm["Ipv6Ranges"], perm["PrefixListIds"] = [], [], []


def test_a_load_balancer_without_security_groups_is_named_by_its_subnets():
    """Found by the fuzzer: "admits nothing from the load balancer's  on tcp/8000" (no load-balancer group)."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _gateway_in_front))
    assert out.problems == []
    f = _finding(out, "sg.alb-to-task-ingress")
    assert f.status == "fail" and "from the load balancer's subnets" in f.summary, f.summary


def _record_without_value(r: dict) -> None:
    recs = next(v for k, v in r.items() if k.startswith("route53.ListResourceRecordSets "))["ResourceRecordSets"]
    recs[:] = [x for x in recs if x["Name"] != "www.example.com."]  # the domain's only record holds no value
    recs.append({"Name": "www.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": []})


def test_a_record_without_a_value_is_named_as_such():
    """Found by the fuzzer: "api.example.com resolves to , a name outside this account's hosted zones"."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _record_without_value))
    assert out.problems == []
    f = _finding(out, "dns.points-to-service-alb")
    assert "a record with no value" in f.summary, f.summary


def _external_task_sets(r: dict) -> None:
    svc = _service(r)
    td = svc["taskDefinition"]
    svc["deploymentController"] = {"type": "EXTERNAL"}
    svc["taskSets"] = [{"id": "ecs-svc/1", "taskDefinition": td, "computedDesiredCount": 2, "runningCount": 2},
                       {"id": "ecs-svc/2", "status": "ACTIVE", "computedDesiredCount": 2, "runningCount": 0}]


def test_task_sets_with_members_left_out_are_described_without_gaps():
    """Found by the fuzzer: "fam-1:1  4/4 running; ?  0/2 running" (task sets without status or taskDefinition)."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _external_task_sets))
    assert out.problems == []
    f = _finding(out, "ecs.service-running")
    assert f.status == "warn" and "webserver:2 2/2 running" in f.summary and "task set ecs-svc/2 ACTIVE" in f.summary


def _stale_target_without_port(r: dict) -> None:
    th = next(v for k, v in r.items() if k.startswith("elbv2.DescribeTargetHealth "))
    th["TargetHealthDescriptions"].append({"Target": {"Id": "10.0.9.99"},
                                           "TargetHealth": {"State": "unhealthy", "Reason": "Target.Timeout"}})


def test_a_stale_target_without_a_port_is_named_by_its_id():
    """Found by the fuzzer: "still sends traffic to 10.0.2.20:None"."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _stale_target_without_port))
    assert out.problems == []
    f = _finding(out, "tg.targets-registered")
    assert f.status == "fail" and "still sends traffic to 10.0.9.99, which" in f.summary, f.summary


def _certificate_without_names(r: dict) -> None:
    cert = next(v for k, v in r.items() if k.startswith("acm.DescribeCertificate "))["Certificate"]
    cert.pop("DomainName", None)
    cert.pop("SubjectAlternativeNames", None)


def test_a_certificate_naming_no_domain_says_so():
    """Found by the fuzzer: "The certificate on lb-0 TLS:443 names , not api.example.com"."""
    out = diagnose(_world("healthy-fargate", HEALTHY, _certificate_without_names))
    assert out.problems == []
    f = _finding(out, "listener.https-certificate")
    assert f.status == "fail" and "names no domain (arn:aws:acm:" in f.summary, f.summary


# ------------------------------------------- fixed bugs the fuzzer could not reach while their members were pinned
def _gateway_lb(r: dict) -> None:
    lbs = r["elbv2.DescribeLoadBalancers"]["LoadBalancers"]
    arn = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/gwy/my-gateway-load-balancer/0a1b2c3d"
    lbs.append({"LoadBalancerArn": arn, "LoadBalancerName": "my-gateway-load-balancer", "Type": "gateway",
                "State": {"Code": "active"}, "VpcId": lbs[0].get("VpcId", "vpc-1"), "AvailabilityZones": []})


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
    r[f"elbv2.DescribeLoadBalancerAttributes LoadBalancerArn={gwy['LoadBalancerArn']}"] = {"Attributes": []}


def test_a_gateway_listener_in_front_of_the_service_is_diagnosed():
    out = diagnose(_world("healthy-fargate", HEALTHY, _gateway_listener))
    assert out.problems == []


def _ipv6_only_subnet(r: dict) -> None:
    for s in r["ec2.DescribeSubnets"]["Subnets"]:
        s.pop("CidrBlock", None)
        s["Ipv6Native"] = True
        s["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": "2600:1f14:abc:de00::/64",
                                             "Ipv6CidrBlockState": {"State": "associated"}}]


def test_a_service_in_ipv6_only_subnets_is_diagnosed():
    out = diagnose(_world("healthy-fargate", HEALTHY, _ipv6_only_subnet))
    assert out.problems == []
