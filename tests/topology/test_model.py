"""Pure unit tests of the model helpers and of the ALB matching rules in path.py (no AWS, no moto)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shine_ops.topology import path as P
from shine_ops.topology.model import (Action, Condition, Listener, LoadBalancer, NetworkInterface, RecordSet, Rule,
                                      SgRule, norm_dns)
from shine_ops.topology.snapshot import Snapshot


# --------------------------------------------------------------------------- norm_dns
@pytest.mark.parametrize("raw, expected", [
    ("api.example.com", "api.example.com"),
    ("api.example.com.", "api.example.com"),                       # trailing dot (Route 53 answers with it)
    ("API.Example.COM", "api.example.com"),                        # case
    ("  api.example.com.  ", "api.example.com"),                   # stray whitespace
    ("dualstack.my-alb-1.us-east-1.elb.amazonaws.com", "my-alb-1.us-east-1.elb.amazonaws.com"),
    ("DUALSTACK.Name-1.US-EAST-1.elb.amazonaws.com.", "name-1.us-east-1.elb.amazonaws.com"),
    ("ipv6.my-elb-1.us-east-1.elb.amazonaws.com", "my-elb-1.us-east-1.elb.amazonaws.com"),
    ("\\052.example.com.", "*.example.com"),                       # Route 53's octal escape for *
    ("\\052.Example.com", "*.example.com"),
    ("", ""),
    (None, ""),
])
def test_norm_dns(raw, expected):
    assert norm_dns(raw) == expected


def test_norm_dns_keeps_dualstack_inside_a_name():
    assert norm_dns("api.dualstack.example.com") == "api.dualstack.example.com"


@given(st.from_regex(r"(dualstack\.)?[A-Za-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,12}){1,3}\.?", fullmatch=True))
@settings(max_examples=200, deadline=None)
def test_norm_dns_is_idempotent_and_lower_case(name):
    once = norm_dns(name)
    assert norm_dns(once) == once
    assert once == once.lower() and not once.endswith(".")


@pytest.mark.parametrize("name", ["ipv6.example.com", "dualstack.example.com"])
def test_norm_dns_keeps_the_first_label_of_a_non_elb_name(name):
    assert norm_dns(name) == name


NLB_DNS = "my-nlb-4e2d1f8bb2751e6a.elb.us-east-1.amazonaws.com"  # NLBs: <name>-<id>.elb.<region>.amazonaws.com


def test_norm_dns_strips_dualstack_from_a_network_load_balancer_name():
    assert norm_dns(f"dualstack.{NLB_DNS}.") == NLB_DNS


def test_dualstack_alias_to_a_network_load_balancer_reaches_it():
    snap = Snapshot(region="us-east-1")
    nlb = LoadBalancer.from_raw({"LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/my-nlb/"
                                                    "4e2d1f8bb2751e6a", "LoadBalancerName": "my-nlb",
                                 "DNSName": NLB_DNS, "Type": "network"})
    snap.load_balancers[nlb.arn] = nlb
    snap.records.append(RecordSet.from_raw("Z1", {"Name": "api.example.com.", "Type": "A", "AliasTarget": {
        "HostedZoneId": "Z26RNL4JYFTOTI", "DNSName": f"dualstack.{NLB_DNS}.", "EvaluateTargetHealth": True}}))

    [branch] = P.branches(snap, "api.example.com")

    assert branch.lb_arn == nlb.arn and branch.external is None


# --------------------------------------------------------------------------- SgRule.covers_tcp_port
def _sg(protocol, lo=None, hi=None) -> SgRule:
    raw: dict = {"IpProtocol": protocol, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    if lo is not None:
        raw["FromPort"], raw["ToPort"] = lo, hi
    return SgRule.from_raw(raw)


@pytest.mark.parametrize("rule, port, covered", [
    (_sg("tcp", 8000, 8000), 8000, True),
    (_sg("tcp", 8000, 8000), 8001, False),
    (_sg("tcp", 8000, 8000), 7999, False),
    (_sg("tcp", 1024, 65535), 1024, True),        # range: inclusive bounds
    (_sg("tcp", 1024, 65535), 65535, True),
    (_sg("tcp", 1024, 65535), 443, False),
    (_sg("tcp", 0, 65535), 0, True),
    (_sg("6", 80, 90), 85, True),                 # protocol by number
    (_sg("-1"), 8000, True),                      # all traffic: no ports at all
    (_sg("-1", -1, -1), 5000, True),
    (_sg("all"), 22, True),
    (_sg("udp", 8000, 8000), 8000, False),
    (_sg("17", 0, 65535), 53, False),
    (_sg("icmp", -1, -1), 8000, False),
    (_sg("tcp"), 8000, True),                     # tcp without ports: the whole range
])
def test_sg_rule_covers_tcp_port(rule, port, covered):
    assert rule.covers_tcp_port(port) is covered


def test_sg_rule_from_raw_flattens_every_source():
    rule = SgRule.from_raw({"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8010,
                            "IpRanges": [{"CidrIp": "10.0.0.0/16"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                            "UserIdGroupPairs": [{"GroupId": "sg-alb"}, {"UserId": "123"}],
                            "PrefixListIds": [{"PrefixListId": "pl-1"}]})
    assert (rule.cidrs, rule.ipv6_cidrs, rule.groups, rule.prefix_lists) == (
        ["10.0.0.0/16"], ["::/0"], ["sg-alb"], ["pl-1"])
    assert rule.describe() == "tcp/8000-8010 from sg-alb, 10.0.0.0/16, ::/0, pl-1"
    assert _sg("-1").describe() == "all from 0.0.0.0/0"
    assert _sg("tcp", 443, 443).describe() == "tcp/443 from 0.0.0.0/0"


# --------------------------------------------------------------------------- Action.from_raw
def test_action_from_raw_with_forward_config_weights():
    action = Action.from_raw({"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": "arn:tg/blue", "Weight": 90},
        {"TargetGroupArn": "arn:tg/green", "Weight": 10},
        {"TargetGroupArn": "arn:tg/drained", "Weight": 0},
        {"TargetGroupArn": "arn:tg/unweighted"},
    ]}})
    assert action.target_groups == {"arn:tg/blue": 90, "arn:tg/green": 10, "arn:tg/drained": 0,
                                    "arn:tg/unweighted": 1}
    assert action.forwarded_tgs == ["arn:tg/blue", "arn:tg/green", "arn:tg/unweighted"]  # weight 0 gets nothing
    assert action.describe({"arn:tg/blue": "blue", "arn:tg/green": "green"}) == (
        "forward to blue (90), green (10), arn:tg/drained (0), arn:tg/unweighted (1)")


def test_action_from_raw_as_describe_returns_a_single_forward():
    # DescribeListeners/DescribeRules return both TargetGroupArn and a one-entry ForwardConfig.
    action = Action.from_raw({"Type": "forward", "TargetGroupArn": "arn:tg/a", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": "arn:tg/a", "Weight": 1}],
        "TargetGroupStickinessConfig": {"Enabled": False}}})
    assert action.target_groups == {"arn:tg/a": 1}
    assert action.forwarded_tgs == ["arn:tg/a"]
    assert action.describe({"arn:tg/a": "a"}) == "forward to a"


def test_action_from_raw_non_forward_actions():
    redirect = Action.from_raw({"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                                       "StatusCode": "HTTP_301"}})
    assert redirect.forwarded_tgs == [] and redirect.describe({}) == "redirect to HTTPS:443 (HTTP_301)"
    fixed = Action.from_raw({"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}})
    assert fixed.forwarded_tgs == [] and fixed.describe({}) == "fixed response 404"


def test_listener_default_action_skips_auth_actions():
    lst = Listener.from_raw({"ListenerArn": "arn:l", "LoadBalancerArn": "arn:lb", "Port": 443, "Protocol": "HTTPS",
                             "Certificates": [{"CertificateArn": "arn:cert"}],
                             "DefaultActions": [
                                 {"Type": "forward", "TargetGroupArn": "arn:tg/a", "Order": 2},
                                 {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {}}]})
    assert lst.default_action.type == "forward" and lst.default_action.forwarded_tgs == ["arn:tg/a"]
    assert lst.certificates == ["arn:cert"] and lst.label == "HTTPS:443"


# --------------------------------------------------------------------------- rules and conditions
def test_rule_from_raw_priorities_and_condition_shapes():
    default = Rule.from_raw("arn:l", {"RuleArn": "arn:r0", "Priority": "default", "IsDefault": True,
                                      "Conditions": [], "Actions": [{"Type": "forward", "TargetGroupArn": "t"}]})
    assert default.is_default and default.priority is None and default.label == "default"
    rule = Rule.from_raw("arn:l", {"RuleArn": "arn:r1", "Priority": "10", "IsDefault": False, "Conditions": [
        {"Field": "path-pattern", "Values": ["/api/*"], "PathPatternConfig": {"Values": ["/api/*"]}},
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}},
    ], "Actions": [{"Type": "forward", "TargetGroupArn": "t"}]})
    assert rule.priority == 10 and not rule.is_default
    assert rule.values("path-pattern") == ["/api/*"] and rule.values("host-header") == ["api.example.com"]
    assert rule.label == "priority 10 (path-pattern /api/*; host-header api.example.com)"

    header = Condition.from_raw({"Field": "http-header",
                                 "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["1"]}})
    assert header.values == ["1"]
    query = Condition.from_raw({"Field": "query-string",
                                "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}})
    assert query.values == ["v=2"]


def _rule(priority, *conds) -> Rule:
    return Rule.from_raw("arn:l", {"RuleArn": f"arn:r{priority}", "Priority": str(priority),
                                   "Conditions": list(conds), "Actions": [{"Type": "forward", "TargetGroupArn": "t"}]})


def test_rule_matches_plain_request_semantics():
    path_rule = _rule(1, {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a/*", "/b"]}})
    assert P.rule_matches(path_rule, "x.com", "/b") == (True, None)
    assert P.rule_matches(path_rule, "x.com", "/c") == (False, None)
    get_rule = _rule(2, {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}})
    post_rule = _rule(3, {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}})
    assert P.rule_matches(get_rule, "x.com", "/")[0] is True
    assert P.rule_matches(post_rule, "x.com", "/")[0] is False
    ok, note = P.rule_matches(_rule(4, {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}),
                              "x.com", "/")
    assert ok is False and note == "source-ip condition does not match a plain request"
    ok, note = P.rule_matches(_rule(5, {"Field": "host-header", "HostHeaderConfig": {"Values": ["a.x.com"]}}),
                              None, "/")
    assert ok is True and "assumed" in (note or "")


def test_route_on_a_hand_built_snapshot_orders_rules_by_priority():
    snap = Snapshot(region="us-east-1")
    lst = Listener.from_raw({"ListenerArn": "arn:l", "LoadBalancerArn": "arn:lb", "Port": 80,
                             "DefaultActions": [{"Type": "fixed-response",
                                                 "FixedResponseConfig": {"StatusCode": "404"}}]})
    snap.listeners[lst.arn] = lst
    api = {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}
    snap.rules[lst.arn] = [_rule(300, api), _rule(20, api), _rule(100, {"Field": "path-pattern",
                                                                         "Values": ["/*"]})]
    r = P.route(snap, lst, "x.com", "/api/v1")
    assert [m.priority for m in r.matching] == [20, 100, 300] and r.rule is not None and r.rule.priority == 20
    r = P.route(snap, lst, "x.com", "")  # not even "/": only the default action is left
    assert r.rule is None and r.action.type == "fixed-response"


# --------------------------------------------------------------------------- path patterns
@pytest.mark.parametrize("pattern, path, matches", [
    ("/api/*", "/api/x", True),
    ("/api/*", "/api/", True),               # * is zero or more characters
    ("/api/*", "/api/v1/users/7", True),     # * crosses slashes
    ("/api/*", "/api", False),
    ("/api/*", "/API/x", False),             # case-sensitive
    ("/api/*", "/apix/y", False),
    ("/", "/", True),
    ("/", "/health", False),                 # "/" is the root only
    ("/health", "/health", True),
    ("/health", "/health/", False),
    ("/v?/skin", "/v6/skin", True),          # ? is exactly one character
    ("/v?/skin", "/v66/skin", False),
    ("/v?/skin", "//skin", False),
    ("/v1.0/*", "/v1.0/a", True),
    ("/v1.0/*", "/v1x0/a", False),           # regex metacharacters are literal
    ("/a+b/(c)", "/a+b/(c)", True),
    ("/a+b/(c)", "/aab/c", False),
    ("*", "/anything", True),
    ("/v6/skin/*", "/api/v6/skin/analyze", False),
])
def test_match_path_pattern(pattern, path, matches):
    assert P.match_path_pattern(pattern, path) is matches


@pytest.mark.parametrize("pattern, host, matches", [
    ("api.example.com", "API.Example.com", True),
    ("*.example.com", "www.example.com", True),
    ("*.example.com", "example.com", False),
    ("api-?.example.com", "api-1.example.com", True),
    ("api.example.com", "api.example.com.evil.net", False),
])
def test_match_host(pattern, host, matches):
    assert P.match_host(pattern, host) is matches


@pytest.mark.parametrize("pattern, sample", [
    ("/api/*", "/api/shine-ops-probe"),
    ("/ml/*", "/ml/shine-ops-probe"),
    ("/health", "/health"),
    ("/v?/skin/*", "/vx/skin/shine-ops-probe"),
    ("/", "/"),
])
def test_sample_path(pattern, sample):
    assert P.sample_path(pattern) == sample
    assert P.match_path_pattern(pattern, sample)


@given(st.text(alphabet="/abcAB09-._~*?+()[]$^{}|\\", min_size=1, max_size=30))
@settings(max_examples=300, deadline=None)
def test_sample_path_always_matches_its_pattern(pattern):
    sample = P.sample_path(pattern)
    assert P.match_path_pattern(pattern, sample)
    assert "*" not in sample and "?" not in sample


# --------------------------------------------------------------------------- DNS model pieces
@pytest.mark.parametrize("extra, routing", [
    ({}, "simple"),
    ({"SetIdentifier": "blue", "Weight": 90}, "weighted"),
    ({"SetIdentifier": "use1", "Region": "us-east-1"}, "latency"),
    ({"SetIdentifier": "p", "Failover": "PRIMARY"}, "failover"),
    ({"SetIdentifier": "eu", "GeoLocation": {"ContinentCode": "EU"}}, "geolocation"),
    ({"SetIdentifier": "m1", "MultiValueAnswer": True}, "multivalue"),
    ({"SetIdentifier": "x"}, "other"),
])
def test_record_set_routing(extra, routing):
    rec = RecordSet.from_raw("Z1", {"Name": "Api.Example.com.", "Type": "A", "TTL": 60,
                                    "ResourceRecords": [{"Value": "10.0.0.1"}], **extra})
    assert rec.routing == routing
    assert rec.name == "api.example.com" and rec.values == ["10.0.0.1"] and rec.alias_dns is None
    assert rec.label == "api.example.com A" + (f" [{extra['SetIdentifier']}]" if extra else "")


def test_record_set_alias_is_normalised():
    rec = RecordSet.from_raw("Z1", {"Name": "\\052.example.com.", "Type": "A", "AliasTarget": {
        "HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": "dualstack.My-ALB-1.us-east-1.elb.amazonaws.com.",
        "EvaluateTargetHealth": True}})
    assert rec.name == "*.example.com"
    assert rec.alias_dns == "my-alb-1.us-east-1.elb.amazonaws.com"
    assert rec.target == "alias my-alb-1.us-east-1.elb.amazonaws.com"


def test_network_interface_load_balancer_ref_and_lookup():
    eni = NetworkInterface.from_raw({"NetworkInterfaceId": "eni-1", "Description": "ELB app/api-alb/50dc6c495c0c9188",
                                     "PrivateIpAddress": "10.0.1.5",
                                     "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.5",
                                                             "Association": {"PublicIp": "3.3.3.3"}}]})
    assert eni.load_balancer_ref == "app/api-alb/50dc6c495c0c9188"
    assert eni.private_ips == ["10.0.1.5"] and eni.public_ips == ["3.3.3.3"]
    other = NetworkInterface.from_raw({"NetworkInterfaceId": "eni-2", "Description": "moto ECS"})
    assert other.load_balancer_ref is None

    snap = Snapshot(region="us-east-1")
    for name, suffix in (("api-alb", "50dc6c495c0c9188"), ("myapi-alb", "50dc6c495c0c9188")):
        lb = LoadBalancer.from_raw({"LoadBalancerArn": f"arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/"
                                                       f"app/{name}/{suffix}", "LoadBalancerName": name,
                                    "DNSName": f"{name}-1.us-east-1.elb.amazonaws.com"})
        snap.load_balancers[lb.arn] = lb
    found = snap.lb_by_ref("app/api-alb/50dc6c495c0c9188")
    assert found is not None and found.name == "api-alb"
    snap.network_interfaces[eni.id] = eni
    for ip in ("10.0.1.5", "3.3.3.3"):
        assert P._lb_for_ip(snap, ip) is found
    assert P._lb_for_ip(snap, "10.9.9.9") is None
