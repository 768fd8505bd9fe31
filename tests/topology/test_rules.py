"""The listener-rule evaluator (topology.rules) as an ALB evaluates rules: every condition kind with its case and
wildcard rules, both condition shapes, priorities and the default action, auth actions by Order, weights, and
"cannot judge" (never a guess) for what it does not model."""

from __future__ import annotations

import pytest

from shine_ops.topology import rules as R
from shine_ops.topology.model import Listener, Rule

TG_A, TG_B, TG_C = "arn:tg/a", "arn:tg/b", "arn:tg/c"
LISTENER = Listener.from_raw({"ListenerArn": "arn:l", "LoadBalancerArn": "arn:lb", "Port": 443, "Protocol": "HTTPS",
                              "DefaultActions": [{"Type": "fixed-response",
                                                  "FixedResponseConfig": {"StatusCode": "404"}}]})


def fwd(tg: str, order: int | None = None) -> dict:
    a = {"Type": "forward", "TargetGroupArn": tg}
    return a | ({"Order": order} if order is not None else {})


def rule(priority: int, *conds: dict, actions: list[dict] | None = None, **extra) -> Rule:
    return Rule.from_raw("arn:l", {"RuleArn": f"arn:r/{priority}", "Priority": str(priority), "IsDefault": False,
                                   "Conditions": list(conds), "Actions": actions or [fwd(TG_A)], **extra})


def host(*v: str) -> dict:
    return {"Field": "host-header", "HostHeaderConfig": {"Values": list(v)}}


def paths(*v: str) -> dict:
    return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(v)}}


def header(name: str, *v: str) -> dict:
    return {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": name, "Values": list(v)}}


def query(*pairs: tuple[str | None, str]) -> dict:
    return {"Field": "query-string", "QueryStringConfig": {"Values": [
        {"Key": k, "Value": v} if k else {"Value": v} for k, v in pairs]}}


def method(*v: str) -> dict:
    return {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": list(v)}}


def source(*v: str) -> dict:
    return {"Field": "source-ip", "SourceIpConfig": {"Values": list(v)}}


PLAIN = R.Request.plain("api.example.com", "/api/v1/users")

# condition, request, expected verdict (True / False / None = cannot judge)
CASES = [
    # host-header: case-insensitive, * any run, ? one character, the port is not part of the name
    ("host exact", host("api.example.com"), PLAIN, True),
    ("host case", host("API.Example.COM"), PLAIN, True),
    ("host other", host("admin.example.com"), PLAIN, False),
    ("host wildcard", host("*.example.com"), PLAIN, True),
    ("host wildcard not apex", host("*.example.com"), R.Request.plain("example.com"), False),
    ("host ?", host("ap?.example.com"), PLAIN, True),
    ("host ? is one char", host("a?.example.com"), PLAIN, False),
    ("host any of values", host("x.org", "api.example.com"), PLAIN, True),
    ("host with port", host("api.example.com"), R.Request.plain("api.example.com:443"), True),
    ("host legacy Values", {"Field": "host-header", "Values": ["api.example.com"]}, PLAIN, True),
    ("host no suffix trick", host("api.example.com"), R.Request.plain("api.example.com.evil.net"), False),
    # path-pattern: case-sensitive, wildcards, path only
    ("path *", paths("/api/*"), PLAIN, True),
    ("path case", paths("/API/*"), PLAIN, False),
    ("path ?", paths("/api/v?/users"), PLAIN, True),
    ("path exact only", paths("/api"), PLAIN, False),
    ("path legacy Values", {"Field": "path-pattern", "Values": ["/api/*"]}, PLAIN, True),
    ("path ignores query", paths("/a"), R.Request(host="x.com", path="/a", query={"b": "c"}), True),
    ("path literal dot", paths("/v1.0/*"), R.Request.plain("x.com", "/v1x0/a"), False),
    # http-header: name case-insensitive, values case-insensitive with wildcards; a plain request has none
    ("header plain request", header("X-Canary", "1"), PLAIN, False),
    ("header name case", header("X-Canary", "1"), R.Request(host="x.com", headers={"x-canary": "1"}), True),
    ("header value case", header("User-Agent", "*mobile*"),
     R.Request(host="x.com", headers={"User-Agent": "Some MOBILE browser"}), True),
    ("header other value", header("X-Canary", "1"), R.Request(host="x.com", headers={"X-Canary": "0"}), False),
    ("header ?", header("X-Canary", "v?"), R.Request(host="x.com", headers={"X-Canary": "v2"}), True),
    ("header other header", header("X-Canary", "*"), R.Request(host="x.com", headers={"X-Other": "1"}), False),
    # query-string: key optional, case-insensitive, wildcards, \* literal; a plain request has none
    ("query plain request", query(("v", "2")), PLAIN, False),
    ("query key=value", query(("v", "2")), R.Request(host="x.com", query={"v": "2"}), True),
    ("query case", query(("Lang", "EN")), R.Request(host="x.com", query={"lang": "en"}), True),
    ("query other value", query(("v", "2")), R.Request(host="x.com", query={"v": "3"}), False),
    ("query value only", query((None, "beta")), R.Request(host="x.com", query={"channel": "beta"}), True),
    ("query bare token", query((None, "beta")), R.Request.from_target("x.com", "/?beta"), True),
    ("query wildcard", query(("v", "1.*")), R.Request(host="x.com", query=[("v", "1.7")]), True),
    ("query escaped star", query(("q", "a\\*")), R.Request(host="x.com", query={"q": "ab"}), False),
    ("query escaped star literal", query(("q", "a\\*")), R.Request(host="x.com", query={"q": "a*"}), True),
    ("query any pair", query(("a", "1"), ("b", "2")), R.Request(host="x.com", query=[("b", "2")]), True),
    # http-request-method: exact; a plain request is GET (HEAD is not GET)
    ("method GET", method("GET"), PLAIN, True),
    ("method POST", method("POST"), PLAIN, False),
    ("method HEAD only", method("HEAD"), PLAIN, False),
    ("method POST request", method("POST", "PUT"), R.Request(host="x.com", method="POST"), True),
    # source-ip: CIDRs v4 and v6; a plain request has no particular source address (a /0 matches anyone)
    ("source plain", source("10.0.0.0/8"), PLAIN, False),
    ("source /0", source("0.0.0.0/0"), PLAIN, True),
    ("source v4 in", source("10.0.0.0/8"), R.Request(host="x.com", source_ip="10.1.2.3"), True),
    ("source v4 out", source("10.0.0.0/8"), R.Request(host="x.com", source_ip="192.168.1.1"), False),
    ("source v6 in", source("2001:db8::/32"), R.Request(host="x.com", source_ip="2001:db8::7"), True),
    ("source v6 vs v4", source("2001:db8::/32", "10.0.0.0/8"), R.Request(host="x.com", source_ip="2001:db9::1"),
     False),
    ("source bad CIDR", source("not-a-cidr"), R.Request(host="x.com", source_ip="10.0.0.1"), None),
    # what the evaluator does not model: cannot judge, never a guess
    ("RegexValues top level", {"Field": "host-header", "RegexValues": ["^api\\..*$"]}, PLAIN, None),
    ("RegexValues in config", {"Field": "path-pattern", "PathPatternConfig": {"RegexValues": ["^/api/.*$"]}},
     PLAIN, None),
    ("RegexValues header", {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X", "RegexValues": [".*"]}},
     PLAIN, None),
    ("unknown field", {"Field": "tls-version", "Values": ["1.3"]}, PLAIN, None),
]


@pytest.mark.parametrize("cond, req, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_condition_kinds(cond, req, expected):
    v = R.rule_verdict(rule(10, cond), req)
    assert v.result is expected, v.note
    if expected is None:
        assert v.note and "not modelled" in v.note or "no CIDR" in (v.note or "")


def test_cannot_judge_names_what_it_does_not_model():
    v = R.rule_verdict(rule(10, {"Field": "host-header", "RegexValues": ["^api\\..*$"]}), PLAIN)
    assert v.result is None and "RegexValues" in v.note and "^api" in v.note
    v = R.rule_verdict(rule(10, {"Field": "tls-version", "Values": ["1.3"]}), PLAIN)
    assert v.result is None and "tls-version" in v.note


def test_a_sure_miss_decides_beside_an_unjudgeable_condition():
    # another host: whatever the regex says, this rule cannot catch the request
    r = rule(10, host("admin.example.com"), {"Field": "path-pattern", "PathPatternConfig": {"RegexValues": [".*"]}})
    assert R.rule_verdict(r, PLAIN).result is False


def test_every_condition_must_match():
    r = rule(10, host("api.example.com"), paths("/api/*"), method("GET"))
    assert R.rule_verdict(r, PLAIN).result is True
    assert R.rule_verdict(r, R.Request.plain("api.example.com", "/health")).result is False
    assert R.rule_verdict(r, R.Request(host="api.example.com", path="/api/x", method="POST")).result is False


def test_plain_request_miss_is_explained_only_when_it_decides():
    v = R.rule_verdict(rule(5, header("X-Canary", "1")), PLAIN)
    assert v.result is False and v.note == "http-header condition does not match a plain request"
    v = R.rule_verdict(rule(5, host("admin.example.com"), header("X-Canary", "1")), PLAIN)
    assert v.result is False and v.note is None  # another host anyway: no note about the header


def test_unknown_host_is_assumed_with_a_note():
    v = R.rule_verdict(rule(5, host("a.example.com")), R.Request.plain(None, "/"))
    assert v.result is True and "assumed" in v.note


# --------------------------------------------------------------------------- one listener
def evaluate(rules: list[Rule], req: R.Request = PLAIN) -> R.Evaluation:
    return R.evaluate_rules(LISTENER, rules, req)


def test_priorities_ascending_whatever_the_order_given():
    ev = evaluate([rule(30, paths("/api/*"), actions=[fwd(TG_C)]), rule(10, paths("/api/*"), actions=[fwd(TG_B)]),
                   rule(20, host("*.example.com"))])
    assert ev.rule.priority == 10 and ev.forwarded_tgs == [TG_B]
    assert [r.priority for r in ev.matching] == [10, 20, 30]


def test_default_action_when_no_rule_matches():
    ev = evaluate([rule(10, host("admin.example.com"))])
    assert ev.rule is None and ev.rule_label == "default action" and ev.action.type == "fixed-response"
    assert ev.judged and ev.forwarded_tgs == []


def test_default_rule_from_describe_rules_is_the_default_action():
    default = Rule.from_raw("arn:l", {"RuleArn": "arn:r/d", "Priority": "default", "IsDefault": True,
                                      "Conditions": [], "Actions": [fwd(TG_C)]})
    ev = evaluate([default, rule(10, host("admin.example.com"))])
    assert ev.rule is None and ev.forwarded_tgs == [TG_C]


def test_exact_host_ahead_of_wildcard_and_header_rule_for_canaries():
    rules = [rule(10, host("admin.example.com"), actions=[fwd(TG_B)]),
             rule(20, header("X-Canary", "1"), actions=[fwd(TG_C)]),
             rule(30, host("api.example.com"), actions=[fwd(TG_A)]),
             rule(40, host("*.example.com"), actions=[fwd(TG_B)])]
    assert evaluate(rules).forwarded_tgs == [TG_A]
    canary = R.Request(host="api.example.com", path="/", headers={"X-Canary": "1"})
    assert evaluate(rules, canary).forwarded_tgs == [TG_C]
    assert evaluate(rules, R.Request.plain("www.example.com")).forwarded_tgs == [TG_B]


@pytest.mark.parametrize("weights, receiving", [
    ({TG_A: 1, TG_B: 0}, [TG_A]),               # weight 0 gets no traffic
    ({TG_A: 90, TG_B: 10}, [TG_A, TG_B]),
    ({TG_A: 0, TG_B: 0}, []),
    ({TG_A: 999, TG_B: 1, TG_C: 0}, [TG_A, TG_B]),
])
def test_forward_config_weights(weights, receiving):
    action = {"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": t, "Weight": w} for t, w in weights.items()]}}
    ev = evaluate([rule(10, host("api.example.com"), actions=[action])])
    assert ev.forwarded_tgs == receiving
    assert ev.action.target_groups == weights


@pytest.mark.parametrize("actions, auth", [
    ([{"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {}}, fwd(TG_B, 2)], ["authenticate-oidc"]),
    ([fwd(TG_B, 2), {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {}}], ["authenticate-oidc"]),
    ([{"Type": "authenticate-cognito", "Order": 2, "AuthenticateCognitoConfig": {}},
      {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {}}, fwd(TG_B, 3)],
     ["authenticate-oidc", "authenticate-cognito"]),
    ([fwd(TG_B)], []),
])
def test_authenticate_actions_run_first_by_order(actions, auth):
    ev = evaluate([rule(10, host("api.example.com"), actions=actions)])
    assert ev.judged and [a.type for a in ev.auth] == auth
    assert ev.action.type == "forward" and ev.forwarded_tgs == [TG_B]
    assert ev.describe_action({TG_B: "b"}) == "".join(f"{t}, then " for t in auth) + "forward to b"


def test_listener_default_actions_with_oidc():
    lst = Listener.from_raw({"ListenerArn": "arn:l2", "LoadBalancerArn": "arn:lb", "Port": 443, "Protocol": "HTTPS",
                             "DefaultActions": [fwd(TG_A, 2),
                                                {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {}}]})
    ev = R.evaluate_rules(lst, [], PLAIN)
    assert ev.judged and [a.type for a in ev.auth] == ["authenticate-oidc"] and ev.forwarded_tgs == [TG_A]


def test_jwt_validation_action_cannot_be_judged():
    ev = evaluate([rule(10, host("api.example.com"),
                        actions=[{"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": {}}, fwd(TG_A, 2)])])
    assert not ev.judged and any("jwt-validation" in c and "priority 10" in c for c in ev.cannot_judge)


def test_unknown_action_type_cannot_be_judged():
    ev = evaluate([rule(10, host("api.example.com"), actions=[{"Type": "teleport", "Order": 1}])])
    assert not ev.judged and any("teleport" in c for c in ev.cannot_judge)


def test_rule_transforms_cannot_be_judged():
    r = rule(10, host("api.example.com"), Transforms=[{"Type": "url-rewrite", "UrlRewriteConfig": {}}])
    ev = evaluate([r])
    assert not ev.judged and any("Transforms" in c and "url-rewrite" in c for c in ev.cannot_judge)
    # a rule with transforms that does not match the request is irrelevant to it
    assert evaluate([r], R.Request.plain("other.org")).judged


def test_unjudgeable_rule_before_the_decision_is_named_and_its_groups_kept_as_possible():
    regex = rule(5, {"Field": "path-pattern", "RegexValues": ["^/api/v[0-9]+/.*$"]}, actions=[fwd(TG_C)])
    ev = evaluate([regex, rule(10, host("api.example.com"), actions=[fwd(TG_A)])])
    assert not ev.judged and ev.rule.priority == 10 and ev.forwarded_tgs == [TG_A]
    assert ev.cannot_judge and "priority 5" in ev.cannot_judge[0] and "RegexValues" in ev.cannot_judge[0]
    assert ev.possible_tgs() == [TG_A, TG_C]


def test_unjudgeable_rule_after_the_decision_does_not_matter():
    regex = rule(50, {"Field": "path-pattern", "RegexValues": [".*"]}, actions=[fwd(TG_C)])
    ev = evaluate([rule(10, host("api.example.com")), regex])
    assert ev.judged and ev.forwarded_tgs == [TG_A]


# --------------------------------------------------------------------------- requests
def test_plain_request_is_get_with_nothing_else():
    req = R.Request.plain("api.example.com", "/x")
    assert (req.method, dict(req.headers), req.query_pairs(), req.source_ip) == ("GET", {}, [], None)
    assert req.is_plain and req.describe() == "GET api.example.com/x"


def test_request_from_a_request_line_target():
    req = R.Request.from_target("api.example.com", "/api/x?v=2&beta", "POST", {"X-Canary": "1"}, "10.0.0.9")
    assert req.path == "/api/x" and req.query_pairs() == [("v", "2"), ("beta", "")]
    assert req.header("x-canary") == "1" and not req.is_plain
    assert req.describe() == "POST api.example.com/api/x?v=2&beta [X-Canary: 1] from 10.0.0.9"


@pytest.mark.parametrize("pattern", ["/api/*", "/v?/skin/*", "/health", "/"])
def test_sample_path_matches_its_pattern(pattern):
    assert R.match_path_pattern(pattern, R.sample_path(pattern))
