"""Shape fuzzing (issue 14 item 2): accounts generated from botocore's service models, through the real Collector,
every evaluator of ``snail-trail`` and every renderer, must keep the invariants of ``tests/fuzz/world.py``.

The normal test command runs ``SHINE_OPS_FUZZ_EXAMPLES`` examples (default 40, derandomized: the same accounts each
run; ``SHINE_OPS_FUZZ_RANDOM=1`` draws new ones); a longer run:
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


# The test command's run is derandomized (the same accounts every run: CI stays a verdict on the change, not
# on the draw); exploring is the bench's job and SHINE_OPS_FUZZ_RANDOM=1's (each new finding becomes a fixed
# world below).
DERANDOMIZE = not os.environ.get("SHINE_OPS_FUZZ_RANDOM")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW_OK, print_blob=True, phases=PHASES,
          derandomize=DERANDOMIZE, database=None if DERANDOMIZE else settings.default.database)
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
    """Found by the fuzzer: "container sidecar sets PORT='', which is no port number"."""
    td = next(v for k, v in r.items() if k.startswith("ecs.DescribeTaskDefinition "))["taskDefinition"]
    td["containerDefinitions"][0]["environment"] = [{"name": "PORT", "value": ""}]


def _portless_group(r: dict) -> None:
    """Found by the fuzzer: "tg-0 has 203.0.113.10:None registered" (neither the target nor its group has a port)."""
    r["elbv2.DescribeTargetGroups"]["TargetGroups"][0].pop("Port")
    th = next(v for k, v in r.items() if k.startswith("elbv2.DescribeTargetHealth "))
    th["TargetHealthDescriptions"][0]["Target"].pop("Port")


def _group_without_own_port(r: dict) -> None:
    """Found by the fuzzer: "Target group tg-0's own port is None while ECS registers tasks on 80"."""
    r["elbv2.DescribeTargetGroups"]["TargetGroups"][0].pop("Port")


def _gateway_in_front(r: dict) -> None:
    """Found by the fuzzer: "admits nothing from the load balancer's  on tcp/8000" (no load-balancer group)."""
    lb = r["elbv2.DescribeLoadBalancers"]["LoadBalancers"][0]
    lb.pop("SecurityGroups")
    lb["Type"] = "gateway"  # a gateway load balancer has no security group
    for sg in r["ec2.DescribeSecurityGroups"]["SecurityGroups"]:  # and the tasks admit nothing but their own group
        for perm in sg.get("IpPermissions", []):
            perm["IpRanges"], perm["Ipv6Ranges"], perm["PrefixListIds"] = [], [], []


def _record_without_value(r: dict) -> None:
    """Found by the fuzzer: "api.example.com resolves to , a name outside this account's hosted zones"."""
    recs = next(v for k, v in r.items() if k.startswith("route53.ListResourceRecordSets "))["ResourceRecordSets"]
    recs[:] = [x for x in recs if x["Name"] != "www.example.com."]  # the domain's only record holds no value
    recs.append({"Name": "www.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": []})


def _external_task_sets(r: dict) -> None:
    """Found by the fuzzer: "fam-1:1  4/4 running; ?  0/2 running" (task sets without status or taskDefinition)."""
    svc = _service(r)
    td = svc["taskDefinition"]
    svc["deploymentController"] = {"type": "EXTERNAL"}
    svc["taskSets"] = [{"id": "ecs-svc/1", "taskDefinition": td, "computedDesiredCount": 2, "runningCount": 2},
                       {"id": "ecs-svc/2", "status": "ACTIVE", "computedDesiredCount": 2, "runningCount": 0}]


def _stale_target_without_port(r: dict) -> None:
    """Found by the fuzzer: "still sends traffic to 10.0.2.20:None"."""
    th = next(v for k, v in r.items() if k.startswith("elbv2.DescribeTargetHealth "))
    th["TargetHealthDescriptions"].append({"Target": {"Id": "10.0.9.99"},
                                           "TargetHealth": {"State": "unhealthy", "Reason": "Target.Timeout"}})


def _certificate_without_names(r: dict) -> None:
    """Found by the fuzzer: "The certificate on lb-0 TLS:443 names , not api.example.com"."""
    cert = next(v for k, v in r.items() if k.startswith("acm.DescribeCertificate "))["Certificate"]
    cert.pop("DomainName", None)
    cert.pop("SubjectAlternativeNames", None)



def _query_pair_without_key_or_value(r: dict) -> None:
    """Found by the fuzzer: "cannot judge priority 10 (query-string ,~x-1; future-field )" (a query-string pair with
    neither key nor value, a condition with no value at all)."""
    default = r["elbv2.DescribeRules"]["Rules"][0]
    r["elbv2.DescribeRules"]["Rules"].insert(0, {
        "RuleArn": default["RuleArn"].rsplit("/", 1)[0] + "/0a0b0c0d0e0f0a0b", "Priority": "10", "IsDefault": False,
        "Conditions": [{"Field": "query-string", "QueryStringConfig": {"Values": [{}]}, "RegexValues": ["x-1"]},
                       {"Field": "future-field", "Values": []}],
        "Actions": default["Actions"]})

# Each world above, and what the check must now say in it (in the fuzzer's words before the fix: the edit's doc).
def _lb_subnet_without_cidr(r: dict) -> None:
    """Found by the fuzzer (bench, 1000 examples): "admits nothing from the load balancer's subnets 10.9.0.0/24,  on
    tcp/443" (a subnet described with neither an IPv4 nor an IPv6 block)."""
    _gateway_in_front(r)
    for s in r["ec2.DescribeSubnets"]["Subnets"][1:]:
        s.pop("CidrBlock", None)
        s.pop("Ipv6CidrBlockAssociationSet", None)


def _inactive_certificate_without_domain_name(r: dict) -> None:
    """Found by the fuzzer (CI, stop 21): "The certificate  (1cc4d519-...) on lb-0 HTTPS:8080 is inactive" (no
    DomainName; its alternative names cover the domain)."""
    cert = next(v for k, v in r.items() if k.startswith("acm.DescribeCertificate "))["Certificate"]
    cert.pop("DomainName", None)
    cert["SubjectAlternativeNames"] = ["www.example.com"]
    cert["Status"] = "INACTIVE"


PINNED = [
    pytest.param(_empty_port_env, "ecs.port-env-matches-container", "fail", ["sets PORT to an empty value"],
                 id="empty-port-variable"),
    pytest.param(_portless_group, "tg.port-matches-container", "fail", ["10.0.1.184 (no port)"],
                 id="target-and-group-without-port"),
    pytest.param(_group_without_own_port, "tg.port-matches-container", "warn", ["has no port of its own"],
                 id="group-without-own-port"),
    pytest.param(_gateway_in_front, "sg.alb-to-task-ingress", "fail", ["from the load balancer's subnets"],
                 id="lb-without-security-groups"),
    pytest.param(_lb_subnet_without_cidr, "sg.alb-to-task-ingress", "fail", ["from the load balancer's subnets"],
                 id="subnet-without-cidr"),
    pytest.param(_inactive_certificate_without_domain_name, "listener.https-certificate", "fail",
                 ["The certificate www.example.com (", "is inactive (status INACTIVE"],
                 id="inactive-certificate-without-domain-name"),
    pytest.param(_record_without_value, "dns.points-to-service-alb", "fail", ["a record with no value"],
                 id="record-without-value"),
    pytest.param(_external_task_sets, "ecs.service-running", "warn",
                 ["webserver:2 2/2 running", "task set ecs-svc/2 ACTIVE"], id="task-sets-with-members-left-out"),
    pytest.param(_stale_target_without_port, "tg.targets-registered", "fail",
                 ["still sends traffic to 10.0.9.99, which"], id="stale-target-without-port"),
    pytest.param(_certificate_without_names, "listener.https-certificate", "fail", ["names no domain (arn:aws:acm:"],
                 id="certificate-naming-no-domain"),
    pytest.param(_query_pair_without_key_or_value, "listener.routes-to-service", "warn",
                 ["cannot judge priority 10 (query-string (empty value),~x-1; future-field)"],
                 id="query-pair-without-key-or-value"),
]


@pytest.mark.parametrize("edit, check, status, words", PINNED)
def test_a_message_the_fuzzer_found_broken_stays_whole(edit, check: str, status: str, words: list[str]):
    out = diagnose(_world("healthy-fargate", HEALTHY, edit))
    assert out.problems == []
    f = _finding(out, check)
    assert f.status == status and all(w in f.summary for w in words), f.summary


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
