"""The request-path diagram from pure snapshots (tests/evaluators/builders.py): the Mermaid text people paste
into notes is parsed back and compared with the path; the DOT and SVG renderings are well-formed and carry
one element per hop; failing links are red and carry their check id, root causes their number."""

from __future__ import annotations

import re
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import pytest

from shine_ops.engine.runner import Report, evaluate, load_catalogue
from shine_ops.evaluators import Settings
from shine_ops.report.diagram import build_diagram, diagram_for
from shine_ops.report.diagram_model import HOPS
from shine_ops.report.short_names import short_name
from shine_ops.report.diagram_text import render_dot, render_mermaid
from shine_ops.report.svg import render_svg, wrap
from tests.evaluators.builders import ACCT, LB_ARN, LEGACY_ARN, SVC_ARN, TD_ARN, TG_OLD, TG_SVC, build

SHINE = Settings(health_path="/health", service_paths=["/health", "/api/*"], startup_budget_s=60, latency_budget_s=30)
TASK_ON_5000_ONLY = [{"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 5000, "UserIdGroupPairs": [{"GroupId": "sg-alb"}]}]
RED = "#c62828"
SVG = "{http://www.w3.org/2000/svg}"


def _run(**kw):
    ctx = build(**kw)
    ctx.settings = SHINE
    findings = evaluate(load_catalogue().load_playbook("snail-trail"), ctx)
    return ctx, findings, build_diagram(ctx.snapshot, ctx.path, findings)


def parse_mermaid(text: str) -> dict:
    """Nodes {id: [label lines]}, edges [(src, [label lines], dst)], classes {id: class}, styles {edge index: css}."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    out: dict = {"nodes": {}, "edges": [], "classes": {}, "styles": {}}
    for ln in lines[1:]:
        if m := re.fullmatch(r"    (\w+)\[\"(.*)\"\]", ln):
            out["nodes"][m[1]] = m[2].split("<br/>")
        elif m := re.fullmatch(r"    (\w+) -->(?:\|\"(.*)\"\|)? (\w+)", ln):
            out["edges"].append((m[1], m[2].split("<br/>") if m[2] else [], m[3]))
        elif m := re.fullmatch(r"    class ([\w,]+) (\w+)", ln):
            out["classes"].update({n: m[2] for n in m[1].split(",")})
        elif m := re.fullmatch(r"    linkStyle ([\d,]+) (.*)", ln):
            out["styles"].update({int(i): m[2] for i in m[1].split(",")})
        else:
            assert re.fullmatch(r"    (%%.*|classDef \w+ .*)", ln), f"unexpected Mermaid line: {ln!r}"
    for src, _, dst in out["edges"]:
        assert src in out["nodes"] and dst in out["nodes"], (src, dst)
    return out


def _named(mm: dict, name: str) -> str:
    return next(n for n, label in mm["nodes"].items() if label[0] == name)


def test_mermaid_nodes_and_edges_follow_the_request_path():
    _, _, d = _run()
    mm = parse_mermaid(render_mermaid(d))
    chain = [_named(mm, x) for x in ("api.example.com", "prod", "HTTPS:443", "default", "svc", "targets", "api",
                                     "api:3")]
    edges = {(s, t) for s, _, t in mm["edges"]}
    for a, b in zip(chain, chain[1:]):  # record -> load balancer -> ... -> task definition, one arrow per hop
        assert (a, b) in edges, (a, b, sorted(edges))
    assert [n[: len("rec")] for n in chain[:1]] == ["rec"] and chain[-1].startswith("td")
    assert len(mm["nodes"]) == len(d.elements) and len(mm["edges"]) == len(d.links)
    # the security groups sit on the links they govern: the load balancer's into its listener, the tasks' into them
    labels = {(s, t): lab for s, lab, t in mm["edges"]}
    assert labels[(chain[1], chain[2])][0] == "SG alb"
    assert labels[(chain[4], chain[5])][0].startswith("SG task, tcp/8000")
    # a load balancer no record reaches and that serves nothing is not drawn
    assert not any(label[0] == "legacy" for label in mm["nodes"].values())


def test_failing_links_are_red_with_their_check_and_root_causes_numbered():
    ctx, findings, d = _run(alias_to="legacy", tg_port=5000, ingress=TASK_ON_5000_ONLY)
    report_order = Report("snail-trail", {}, findings, [], {"total": 0}, 0.0).root_causes
    assert d.root_causes == report_order and "dns.points-to-service-alb" in report_order
    mm = parse_mermaid(render_mermaid(d))
    rec, legacy, prod = _named(mm, "api.example.com"), _named(mm, "legacy"), _named(mm, "prod")
    n = report_order.index("dns.points-to-service-alb") + 1
    i, (_, label, _) = next((i, e) for i, e in enumerate(mm["edges"]) if e[0] == rec)
    assert label == [f"({n}) dns.points-to-service-alb"] and RED in mm["styles"][i]  # the record's wrong turn
    assert not any(s == rec and t == prod for s, _, t in mm["edges"])
    # the service's load balancer is still drawn, as a root of its own
    assert any(s == prod for s, _, _ in mm["edges"])
    # the tasks' security group gap on the target group -> targets link, numbered as in the report
    n = report_order.index("sg.alb-to-task-ingress") + 1
    i, (_, label, _) = next((i, e) for i, e in enumerate(mm["edges"]) if e[2].startswith("tgt"))
    assert f"({n}) sg.alb-to-task-ingress" in label and RED in mm["styles"][i]
    # every root cause is drawn somewhere, with its number
    text = render_mermaid(d)
    for k, check in enumerate(report_order, 1):
        assert f"({k}) {check}" in text
    assert d.unplaced == []
    assert legacy != prod


def test_listener_routes_to_service_marks_the_rule_that_takes_the_service_paths():
    _, findings, d = _run(default_tg=TG_OLD, rules=[(10, ["/health"], TG_SVC)])
    assert any(f.check == "listener.routes-to-service" and f.status == "fail" for f in findings)
    mm = parse_mermaid(render_mermaid(d))
    old = _named(mm, "old")
    [(src, label)] = [(s, lab) for s, lab, t in mm["edges"] if "listener.routes-to-service" in " ".join(lab)]
    assert (src, old) in {(s, t) for s, _, t in mm["edges"]} and mm["nodes"][src][0] == "default"
    # /health still reaches the service through priority 10: that link is not marked
    p10 = _named(mm, "priority 10")
    assert all(not lab for s, lab, t in mm["edges"] if s == p10)
    assert mm["classes"][old] in ("muted", "none")  # a target group off the service's path is context


def test_dot_is_well_formed_with_one_rank_per_hop():
    _, _, d = _run(alias_to="legacy", tg_port=5000, ingress=TASK_ON_5000_ONLY)
    dot = render_dot(d)
    assert dot.startswith("digraph request_path {") and dot.rstrip().endswith("}")
    body = re.sub(r'"(\\.|[^"\\])*"', '""', dot)  # quoted strings out of the way: braces and brackets balance
    assert body.count("{") == body.count("}") and body.count("[") == body.count("]")
    nodes = re.findall(r"^  (\w+) \[label=", dot, re.M)
    edges = re.findall(r"^  (\w+) -> (\w+) \[", dot, re.M)
    assert sorted(nodes) == sorted(e.id for e in d.elements)
    assert len(edges) == len(d.links) and all(a in nodes and b in nodes for a, b in edges)
    ranks = re.findall(r"^  \{ rank=same; ([\w; ]+); \}", dot, re.M)
    assert len(ranks) == len({e.hop for e in d.elements})
    assert f'tooltip="{LEGACY_ARN}' in dot and "penwidth=2.5" in dot


def test_svg_parses_and_has_one_element_per_hop_with_arns_on_hover():
    _, _, d = _run(alias_to="legacy", tg_port=5000, ingress=TASK_ON_5000_ONLY)
    svg = render_svg(d)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("viewBox")
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "element"]
    assert sorted(g.get("data-id") for g in groups) == sorted(e.id for e in d.elements)
    assert {g.get("data-hop") for g in groups} == set(HOPS)  # every hop of the path is drawn
    titles = {g.get("data-id"): g.find(f"{SVG}title").text for g in groups}
    by_hop = {e.hop: e.id for e in d.elements}
    assert SVC_ARN in titles[by_hop["service"]] and TD_ARN in titles[by_hop["task_definition"]]
    assert any(LB_ARN in t for t in titles.values())
    links = [g for g in root.iter(f"{SVG}g") if g.get("class") == "link"]
    assert len(links) == len(d.links)
    red = [g for g in links if g.find(f"{SVG}path").get("stroke") == RED]
    assert {g.get("data-checks") for g in red} >= {"dns.points-to-service-alb"}
    numbers = {t.text for t in root.iter(f"{SVG}text") if (t.text or "").isdigit()}
    assert numbers == {str(i) for i in range(1, len(d.root_causes) + 1)}
    visible = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "arn:aws:" not in visible  # short names on the picture, ARNs only on hover
    w = float(root.get("width"))
    for r in root.iter(f"{SVG}rect"):  # nothing drawn past the right edge
        assert float(r.get("x")) + float(r.get("width")) <= w + 0.5


def test_text_that_needs_escaping_stays_text_in_every_format():
    evil = '/a"b<c>&d`e'
    _, _, d = _run(default_tg=TG_OLD, rules=[(10, [evil], TG_SVC)])
    mm = render_mermaid(d)
    parse_mermaid(mm)
    drawn = "\n".join(ln for ln in mm.splitlines() if not ln.lstrip().startswith("%%"))
    assert evil not in drawn and "#quot;" in drawn and "#lt;" in drawn
    assert "`" not in mm  # a backtick could close the ```mermaid fence of a Markdown report
    ET.fromstring(render_svg(d))  # still XML
    dot = render_dot(d)
    assert '/a\\"b<c>&d`e' in dot


def test_empty_path_renders_without_elements():
    from shine_ops.topology.path import RequestPath
    from shine_ops.topology.snapshot import Snapshot

    d = build_diagram(Snapshot(region="us-east-1"), RequestPath(domain="nothing.example.com"), [])
    assert [e.detail for e in d.elements] == ["no record"]
    ET.fromstring(render_svg(d))
    parse_mermaid(render_mermaid(d))


def test_markdown_embeds_the_mermaid_diagram():
    from shine_ops.report.markdown import render_markdown

    ctx, findings, _ = _run(alias_to="legacy", tg_port=5000, ingress=TASK_ON_5000_ONLY)
    report = Report("snail-trail", {"domain": "api.example.com", "account": ACCT, "region": "us-east-1"}, findings, [],
                    {"total": 3}, 0.1, snapshot=ctx.snapshot, request_path=ctx.path)
    md = render_markdown(report)
    block = md.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    assert block + "\n" == render_mermaid(diagram_for(report))
    assert md.index("## Request path") < md.index("## Root causes")
    account = SimpleNamespace(**{**report.__dict__, "snapshot": SimpleNamespace(account_wide=True)})
    assert diagram_for(account) is None


@pytest.mark.parametrize("ref,short", [
    (LB_ARN, "prod"), (TG_SVC, "svc"), (TD_ARN, "api:3"), (SVC_ARN, "prod/api"),
    (f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:listener/app/prod/abc/l1", "prod listener l1"),
    (f"arn:aws:acm:us-east-1:{ACCT}:certificate/e354b5cc-4016-4568-852f-10e6703a82f4", "certificate e354b5cc"),
    ("sg-0123", "sg-0123"), ("api.example.com", "api.example.com"),
])
def test_short_names(ref, short):
    assert short_name(ref) == short


def test_short_names_use_the_snapshot_for_listeners_and_security_groups():
    ctx = build()
    lst = next(iter(ctx.snapshot.listeners))
    assert short_name(lst, ctx.snapshot) in ("prod HTTPS:443", "legacy HTTP:80")
    assert short_name("sg-task", ctx.snapshot) == "task"


def test_wrap_breaks_at_separators_and_never_loses_text():
    assert wrap("api.shineskincollective.com", 24) == ["api.", "shineskincollective.com"]
    assert wrap("production-shine-skincare-alb", 24) == ["production-shine-", "skincare-alb"]
    assert wrap("short", 24) == ["short"]
    long = "x" * 80
    assert wrap(long, 20, 2)[-1].endswith("\u2026")


def test_checks_without_a_place_on_the_path():
    """A user's own check that fails on its own is named under the picture; a live probe failing only because
    the path is broken is not painted on the (healthy) service."""
    from shine_ops.engine.finding import Finding

    ctx, findings, _ = _run(alias_to="legacy")
    own = Finding("acme.tagged", "Tagged", "fail", "high", "untagged", hop="acme")
    probe = Finding("smoke.health", "Health", "fail", "high", "504 through the domain", hop="app",
                    explained_by=["dns.points-to-service-alb"])
    findings = [f for f in findings if f.check != "smoke.health"] + [own, probe]
    d = build_diagram(ctx.snapshot, ctx.path, findings)
    assert "acme.tagged" in d.root_causes and d.unplaced == ["acme.tagged"]
    assert "root causes not drawn on one element: acme.tagged" in render_svg(d)
    svc = next(e for e in d.elements if e.hop == "service")
    assert "smoke.health" not in svc.checks
