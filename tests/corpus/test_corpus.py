"""The corpus of real AWS shapes (``tests/data/aws``) and the worlds assembled from it are what they claim to be.

- every operation the collectors call has a corpus file, and every file names its origin;
- every response, recorded or built, fits the installed botocore's output shape for its operation (members, types,
  enums), except where AWS itself is recorded answering outside the model (``shapes.KNOWN_DEVIATIONS``);
- every item of a world names the corpus example it was taken from (``_from``), and holds no field that example
  lacks unless the item says it was edited or built (``_edits`` / ``_built``) in a note naming that field;
- the replay answers like AWS: filters, NotFound errors, parameter validation, Route 53's listing order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shine_ops.errors import AwsCallError, UsageError
from tests.corpus.replay import WORLDS, ReplayAws, WorldIncomplete, load_world
from tests.corpus.shapes import problems

DATA = Path(__file__).resolve().parents[1] / "data" / "aws"
FILES = sorted(p for p in DATA.glob("*/*.json"))
WORLD_NAMES = sorted(p.parent.name for p in WORLDS.glob("*/world.json"))
MOTO_NEVER = {  # what moto never produces (issue 14): the corpus must hold each
    "rolloutState": "ecs/DescribeServices.json", "taskSets": "ecs/DescribeServices.json",
    "capacityProviderStrategy": "ecs/DescribeServices.json", "PrefixListId": "ec2/DescribeSecurityGroups.json",
    '"UserId"': "ec2/DescribeSecurityGroups.json", "CidrIpv6": "ec2/DescribeSecurityGroups.json",
    '"PublicIp"': "ec2/DescribeNetworkInterfaces.json", '"HealthCheckPort": "8081"': "elbv2/DescribeTargetGroups.json",
    '"200-299"': "elbv2/DescribeTargetGroups.json", '"dualstack"': "elbv2/DescribeLoadBalancers.json",
    "routing.http.response.server.enabled": "elbv2/DescribeListenerAttributes.json",
}


def collector_operations() -> set[str]:
    """Every ``service.Operation`` the collectors (and the metrics reader they use) call."""
    root = Path(__file__).resolve().parents[2] / "shine_ops" / "topology"
    ops = set()
    for src in root.glob("*.py"):
        ops |= {f"{s}.{o}" for s, o in re.findall(r'(?:call|paginate|call_quick)\(\s*"([a-z0-9]+)",\s*"([A-Za-z]+)"',
                                                   src.read_text())}
    ops |= {"sts.GetCallerIdentity", "cloudwatch.GetMetricData"}  # Aws.identity(); metrics.read_lb_metrics
    return ops


def test_every_operation_the_collectors_call_has_a_corpus_file():
    have = {json.loads(f.read_text())["operation"] for f in FILES}
    assert collector_operations() - have == set()


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_each_corpus_example_names_its_origin_and_fits_the_model(path):
    doc = json.loads(path.read_text())
    assert doc["_origin"] and doc["operation"] == f"{path.parent.name}.{path.stem}"
    service, operation = doc["operation"].split(".")
    for ex in doc["examples"]:
        assert ex["origin"] and isinstance(ex["built"], bool), ex["id"]
        if ex["built"]:
            assert "not recorded" in ex["origin"], f"{ex['id']}: a built example must say it was not recorded"
        else:
            assert ex["origin"].startswith(("aws-cli ", "botocore ")), ex["id"]
        assert problems(service, operation, ex["response"]) == [], ex["id"]


def test_the_readme_lists_every_corpus_file_and_the_corpus_holds_what_moto_never_produces():
    readme = (DATA / "README.md").read_text()
    for f in FILES:
        assert f"{f.parent.name}/{f.name}" in readme
    for needle, where in MOTO_NEVER.items():
        assert needle in (DATA / where).read_text(), f"{needle} missing from {where}"
    health = (DATA / "elbv2/DescribeTargetHealth.json").read_text()
    for reason in ("Elb.RegistrationInProgress", "Elb.InitialHealthChecking", "Target.ResponseCodeMismatch",
                   "Target.Timeout", "Target.FailedHealthChecks", "Elb.InternalError", "Target.NotRegistered",
                   "Target.NotInUse", "Target.DeregistrationInProgress", "Target.InvalidState", "Target.IpUnusable",
                   "Target.HealthCheckDisabled", '"unhealthy.draining"'):
        assert reason in health, reason
    certs = (DATA / "acm/DescribeCertificate.json").read_text()
    for status in ("PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT", "REVOKED", "FAILED"):
        assert f'"Status": "{status}"' in certs, status


# --------------------------------------------------------------------------- worlds
def _paths(obj, prefix: str = "") -> set[str]:
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k.startswith("_"):
                continue
            out.add(prefix + k)
            out |= _paths(v, prefix + k + ".")
    elif isinstance(obj, list):
        for v in obj:
            out |= _paths(v, prefix.rstrip(".") + "[].")
    return out


def _sourced(obj):
    if isinstance(obj, dict):
        if "_from" in obj:
            yield obj
        for v in obj.values():
            yield from _sourced(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _sourced(v)


def _example(ref: str):
    file, ex_id = ref.split("#")
    doc = json.loads((DATA / file).read_text())
    return next(x for x in doc["examples"] if x["id"] == ex_id)


@pytest.mark.parametrize("world", WORLD_NAMES)
def test_world_responses_fit_the_model_and_every_item_comes_from_the_corpus(world):
    for key, resp in load_world(world).items():
        service, operation = key.split(" ")[0].split(".")
        assert problems(service, operation, resp) == [], key
        items = list(_sourced(resp))
        assert items or not any(v for v in resp.values() if not isinstance(v, (bool, str))), f"{key}: no _from"
        for item in items:
            source = _example(item["_from"])
            have = _paths(source["response"])
            notes = " ".join(item.get("_edits", [])) + " " + item.get("_built", "")
            for path in _paths(item):
                recorded = any(h == path or h.endswith("." + path) or h.endswith("]." + path) for h in have)
                assert recorded or any(seg.strip("[]") in notes for seg in re.split(r"[.\[\]]+", path) if seg), \
                    f"{world} {key}: {path} is in no part of {item['_from']} and no note names it"


# --------------------------------------------------------------------------- the replay answers like AWS
def test_replay_filters_raises_not_found_and_validates_like_aws():
    aws = ReplayAws("healthy-fargate")
    tg = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
    assert [t["TargetGroupName"] for t in aws.paginate("elbv2", "DescribeTargetGroups", "TargetGroups",
                                                       TargetGroupArns=[tg])] == ["my-targets"]
    with pytest.raises(AwsCallError) as err:
        aws.paginate("elbv2", "DescribeTargetGroups", "TargetGroups", TargetGroupArns=[tg + "0"])
    assert err.value.code == "TargetGroupNotFound" and err.value.iam_action == "elasticloadbalancing:DescribeTargetGroups"
    with pytest.raises(AwsCallError) as err:
        aws.call("ecs", "DescribeServices", cluster="nope", services=["x"])
    assert err.value.code == "ClusterNotFoundException"
    missing = aws.call("ecs", "DescribeServices", cluster="MyCluster", services=["gone"])
    assert missing["services"] == [] and missing["failures"][0]["reason"] == "MISSING"
    with pytest.raises(AwsCallError) as err:
        aws.call("ecs", "DescribeTaskDefinition", taskDefinition="webserver:99")
    assert err.value.code == "ClientException"
    with pytest.raises(UsageError):
        aws.call("elbv2", "DescribeTargetHealth", TargetGroup=tg)  # not a parameter: rejected before sending, uncounted
    with pytest.raises(WorldIncomplete):
        aws.call("ec2", "DescribeNetworkInterfaces", Filters=[{"Name": "tag:x", "Values": ["y"]}])
    assert aws.calls.total == 6 and aws.calls.by_operation["elbv2.DescribeTargetGroups"] == 2


def test_replay_lists_records_in_route53_order_and_pages():
    aws = ReplayAws("healthy-fargate")
    page = aws.call("route53", "ListResourceRecordSets", HostedZoneId="Z3P5QSUBK4POTI", StartRecordName="www.example.com",
                    MaxItems="1")
    assert [r["Name"] for r in page["ResourceRecordSets"]] == ["www.example.com."] and page["IsTruncated"]
    assert page["NextRecordName"] == "www.example.com." and page["NextRecordType"] == "AAAA"
    first = aws.call("route53", "ListResourceRecordSets", HostedZoneId="Z3P5QSUBK4POTI")["ResourceRecordSets"]
    assert [r["Type"] for r in first[:2]] == ["NS", "SOA"]  # the apex sorts before www (labels reversed)
    cert = aws.call("acm", "DescribeCertificate", CertificateArn="arn:aws:acm:us-west-2:123456789012:certificate/"
                    "fe59da96-6f58-4a22-8eed-6d0d50477e1d")["Certificate"]
    assert cert["NotAfter"].year == 2030 and cert["NotAfter"].tzinfo is not None  # parsed as botocore does
