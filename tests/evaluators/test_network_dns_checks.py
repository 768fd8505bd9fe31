"""Pure unit tests of the network checks (ALB egress, network ACLs, exposure) and of dns.resolves-to-alb."""

from __future__ import annotations

import pytest

from shine_ops.evaluators import REGISTRY
from shine_ops.evaluators.nacl import nacl_verdict
from tests.evaluators.builders import LB_ARN, LEGACY_ARN, build
from tests.evaluators.builders_network import acl_entry, default_entries, net_ctx


def run(check: str, ctx, params: dict | None = None):
    return REGISTRY[check].fn(ctx, params or {})


def tcp(port: int, *, cidr: str | None = None, group: str | None = None, to: int | None = None) -> dict:
    p = {"IpProtocol": "tcp", "FromPort": port, "ToPort": to or port}
    if cidr:
        p["IpRanges"] = [{"CidrIp": cidr}]
    if group:
        p["UserIdGroupPairs"] = [{"GroupId": group}]
    return p


# --------------------------------------------------------------------------- sg.alb-egress-to-task
def test_sg_alb_egress_to_task_passes_with_default_allow_all_egress():
    out = run("sg.alb-egress-to-task", net_ctx())
    assert out.status == "pass", out.summary
    assert "sg-alb" in out.summary and "sg-alb" in out.resources and "sg-task" in out.resources


def test_sg_alb_egress_to_task_passes_with_egress_to_the_task_group_or_covering_cidr():
    assert run("sg.alb-egress-to-task", net_ctx(alb_egress=[tcp(8000, group="sg-task")])).status == "pass"
    assert run("sg.alb-egress-to-task", net_ctx(alb_egress=[tcp(8000, cidr="10.0.0.0/16")])).status == "pass"
    assert run("sg.alb-egress-to-task", net_ctx(alb_egress=[tcp(1024, cidr="10.0.10.0/23", to=65535)])).status == "pass"


def test_sg_alb_egress_to_task_fails_on_the_old_port_and_names_the_groups():
    out = run("sg.alb-egress-to-task", net_ctx(alb_egress=[tcp(5000, group="sg-task")]))
    assert out.status == "fail"
    assert "sg-alb" in out.summary and "tcp/8000" in out.summary and "sg-task" in out.summary
    assert out.resources[:2] == ["sg-alb", "sg-task"]
    assert "tcp/5000 to sg-task" in out.actual


def test_sg_alb_egress_to_task_fails_when_cidr_covers_only_one_task_subnet_or_no_egress():
    assert run("sg.alb-egress-to-task", net_ctx(alb_egress=[tcp(8000, cidr="10.0.10.0/24")])).status == "fail"
    out = run("sg.alb-egress-to-task", net_ctx(alb_egress=[]))
    assert out.status == "fail" and "no egress" in out.actual


def test_sg_alb_egress_to_task_ipv6_world_does_not_cover_ipv4_task_subnets():
    # regression: admits()/_cidr_covers used to treat ::/0 as covering IPv4 subnets (all() of nothing)
    v6 = [{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]
    assert run("sg.alb-egress-to-task", net_ctx(alb_egress=v6)).status == "fail"


def test_sg_alb_egress_to_task_skips_without_service_or_ports():
    ctx = net_ctx()
    ctx.path.service = None
    assert run("sg.alb-egress-to-task", ctx).status == "skip"


# --------------------------------------------------------------------------- nacl.alb-to-task
def test_nacl_alb_to_task_passes_with_default_acls():
    out = run("nacl.alb-to-task", net_ctx())
    assert out.status == "pass", out.summary
    assert {"acl-public", "acl-private"} <= set(out.resources)
    assert len(out.evidence["legs"]) == 2 * 2 * 4  # ALB subnets x task subnets x 4 legs


def test_nacl_alb_to_task_fails_on_an_explicit_deny_and_names_acl_and_rule():
    private = [acl_entry(90, "deny", cidr="10.0.0.0/23", protocol="6", ports=(8000, 8000))] + default_entries()
    out = run("nacl.alb-to-task", net_ctx(private_acl=private))
    assert out.status == "fail"
    assert "acl-private rule 90" in out.summary and "ingress" in out.summary and "tcp/8000" in out.summary
    assert "acl-private" in out.resources


def test_nacl_alb_to_task_first_match_wins():
    # an allow numbered before the deny wins for the port it covers
    private = [acl_entry(80, protocol="6", ports=(8000, 8000)), acl_entry(90, "deny", protocol="6", ports=(8000, 8000))
               ] + default_entries()
    assert run("nacl.alb-to-task", net_ctx(private_acl=private)).status == "pass"


def test_nacl_alb_to_task_return_traffic_needs_the_whole_ephemeral_range():
    # the public ACL admits replies only on 32768-65535 (Linux's range): the load balancer uses 1024-65535
    public = [acl_entry(100, egress=True), acl_entry(100, protocol="6", ports=(443, 443)),
              acl_entry(110, protocol="6", ports=(32768, 65535))]
    out = run("nacl.alb-to-task", net_ctx(public_acl=public))
    assert out.status == "fail"
    assert "acl-public rule *" in out.summary and "replies" in out.summary and "1024-65535" in out.summary


def test_nacl_alb_to_task_custom_acl_without_entries_denies_everything():
    out = run("nacl.alb-to-task", net_ctx(private_acl=[]))
    assert out.status == "fail" and "acl-private rule *" in out.summary


def test_nacl_alb_to_task_egress_deny_in_the_load_balancer_subnet():
    public = [acl_entry(50, "deny", egress=True, cidr="10.0.10.0/24", protocol="6", ports=(8000, 8000))] + default_entries()
    out = run("nacl.alb-to-task", net_ctx(public_acl=public))
    assert out.status == "fail" and "acl-public rule 50" in out.summary and "egress" in out.summary


def test_nacl_alb_to_task_same_subnets_cross_no_acl_and_unknown_acl_skips():
    out = run("nacl.alb-to-task", net_ctx(same_subnets=True, private_acl=[]))
    assert out.status == "pass"  # subnet-pub-a -> subnet-pub-b still crosses acl-public (default: allowed)
    ctx = net_ctx()
    del ctx.snapshot.network_acls["acl-private"]
    out = run("nacl.alb-to-task", ctx)
    assert out.status == "skip" and "subnet-app-a" in out.summary


def test_nacl_verdict_partial_allows_and_ipv6_entries():
    entries = [acl_entry(10, protocol="6", ports=(1024, 30000)), acl_entry(20, protocol="6", ports=(30001, 65535))]
    assert nacl_verdict(entries, False, "10.0.0.0/24", (1024, 65535))[0] is True
    assert nacl_verdict(entries[:1], False, "10.0.0.0/24", (1024, 65535))[1].startswith("rule *")
    v6 = [{"RuleNumber": 1, "RuleAction": "deny", "Egress": False, "Ipv6CidrBlock": "::/0", "Protocol": "-1"},
          acl_entry(100)]
    assert nacl_verdict(v6, False, "10.0.0.0/24", (8000, 8000))[0] is True
    udp = [acl_entry(1, "deny", protocol="17"), acl_entry(100)]
    assert nacl_verdict(udp, False, "10.0.0.0/24", (8000, 8000))[0] is True


# --------------------------------------------------------------------------- sg.task-not-open-to-world
def test_sg_task_not_open_to_world_passes_when_only_the_alb_is_admitted():
    out = run("sg.task-not-open-to-world", build())
    assert out.status == "pass" and out.resources == ["sg-task"]


@pytest.mark.parametrize("perm", [tcp(8000, cidr="0.0.0.0/0"), tcp(0, cidr="0.0.0.0/0", to=65535),
                                  {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                                  {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000,
                                   "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
def test_sg_task_not_open_to_world_fails_and_names_group_and_rule(perm):
    ctx = build(ingress=[tcp(8000, group="sg-alb"), perm])
    out = run("sg.task-not-open-to-world", ctx)
    assert out.status == "fail"
    assert "sg-task" in out.summary and ("0.0.0.0/0" in out.summary or "::/0" in out.summary)
    assert out.evidence["open_rules"][0]["security_group"] == "sg-task"


def test_sg_task_not_open_to_world_ignores_other_ports_and_narrow_cidrs():
    ctx = build(ingress=[tcp(8000, group="sg-alb"), tcp(22, cidr="0.0.0.0/0"), tcp(8000, cidr="10.0.0.0/8")])
    assert run("sg.task-not-open-to-world", ctx).status == "pass"


# --------------------------------------------------------------------------- dns.resolves-to-alb
PROD_DNS = "prod-1.us-east-1.elb.amazonaws.com"
LEGACY_DNS = "legacy-1.us-east-1.elb.amazonaws.com"


def dns_probe(answers: dict, **kw) -> dict:
    return {"resolver": "127.0.0.1:5353", "simulated": False,
            "answers": {n: (a if isinstance(a, dict) else {"addresses": a}) for n, a in answers.items()}, **kw}


def test_dns_resolves_to_alb_passes_when_addresses_match():
    ctx = build()
    ctx.probes["dns"] = dns_probe({"api.example.com": ["1.2.3.4"], PROD_DNS: ["1.2.3.4", "5.6.7.8"]}, simulated=True)
    out = run("dns.resolves-to-alb", ctx)
    assert out.status == "pass", out.summary
    assert out.evidence["simulated"] is True and out.evidence["resolver"] == "127.0.0.1:5353"
    assert LB_ARN in out.resources


def test_dns_resolves_to_alb_fails_when_live_answer_is_another_load_balancer():
    ctx = build()
    ctx.probes["dns"] = dns_probe({"api.example.com": ["9.9.9.9"], PROD_DNS: ["1.2.3.4"], LEGACY_DNS: ["9.9.9.9"]})
    out = run("dns.resolves-to-alb", ctx)
    assert out.status == "fail"
    assert "9.9.9.9" in out.summary and "legacy" in out.summary and "prod" in out.summary
    assert "evidence" not in out.summary


def test_dns_resolves_to_alb_nxdomain_fails_and_timeout_is_an_error():
    ctx = build()
    ctx.probes["dns"] = dns_probe({"api.example.com": {"addresses": [], "error": "NXDOMAIN: the name does not exist",
                                                       "error_kind": "nxdomain"}, PROD_DNS: ["1.2.3.4"]})
    out = run("dns.resolves-to-alb", ctx)
    assert out.status == "fail" and "NXDOMAIN" in out.summary
    ctx.probes["dns"] = dns_probe({"api.example.com": {"addresses": [], "error": "timed out after 5.0 s",
                                                       "error_kind": "timeout"}, PROD_DNS: ["1.2.3.4"]})
    assert run("dns.resolves-to-alb", ctx).status == "error"
    ctx.probes["dns"] = dns_probe({"api.example.com": ["1.2.3.4"], PROD_DNS: {"error": "timed out", "error_kind": "timeout"}})
    assert run("dns.resolves-to-alb", ctx).status == "error"


def test_dns_resolves_to_alb_skips_without_probe_or_load_balancer():
    ctx = build()
    assert run("dns.resolves-to-alb", ctx).status == "skip"
    ctx.probes["dns"] = {"skipped": "Live probes are off (--no-probe)."}
    out = run("dns.resolves-to-alb", ctx)
    assert out.status == "skip" and "--no-probe" in out.summary
    ext = build(records=[{"Name": "api.example.com.", "Type": "CNAME", "TTL": 60,
                          "ResourceRecords": [{"Value": "elsewhere.example.net"}]}])
    ext.probes["dns"] = dns_probe({"api.example.com": ["1.2.3.4"]})
    assert run("dns.resolves-to-alb", ext).status == "skip"


def test_dns_resolves_to_alb_weighted_records_accept_either_load_balancer():
    alias = lambda dns: {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": f"dualstack.{dns}.", "EvaluateTargetHealth": True}
    ctx = build(records=[{"Name": "api.example.com.", "Type": "A", "SetIdentifier": "blue", "Weight": 50,
                          "AliasTarget": alias(PROD_DNS)},
                         {"Name": "api.example.com.", "Type": "A", "SetIdentifier": "green", "Weight": 50,
                          "AliasTarget": alias(LEGACY_DNS)}])
    ctx.probes["dns"] = dns_probe({"api.example.com": ["9.9.9.9"], PROD_DNS: ["1.2.3.4"], LEGACY_DNS: ["9.9.9.9"]})
    out = run("dns.resolves-to-alb", ctx)
    assert out.status == "pass" and LEGACY_ARN in out.resources


# --------------------------------------------------------------------------- the probe itself (no network)
def test_dns_resolves_to_alb_probe_off_unreachable_resolver_and_bad_option():
    import time

    from shine_ops.errors import UsageError
    from shine_ops.probes.dns import parse_resolver, probe_dns

    assert probe_dns("api.example.com", [], enabled=False) == {"skipped": "Live probes are off (--no-probe)."}
    assert "no DNS server" in probe_dns("api.example.com", [], sandbox_state={"endpoint": "x"})["skipped"]
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver("[::1]:53") == ("::1", 53) and parse_resolver("::1") == ("::1", 53)
    assert parse_resolver("10.0.0.2") == ("10.0.0.2", 53)
    for bad in ("dns.google", "127.0.0.1:0", "127.0.0.1:x"):
        with pytest.raises(UsageError):
            parse_resolver(bad)
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a bound UDP port nobody reads: queries time out
    s.bind(("127.0.0.1", 0))
    try:
        start = time.monotonic()
        out = probe_dns("api.example.com", ["x.elb.amazonaws.com"], resolver=f"127.0.0.1:{s.getsockname()[1]}",
                        timeout_s=1.0)
        assert time.monotonic() - start < 2.0
    finally:
        s.close()
    assert {a["error_kind"] for a in out["answers"].values()} == {"timeout"}
