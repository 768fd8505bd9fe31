"""The HTML report without a browser: one self-contained file, the picture first, the root causes in order with
their evidence and fix command, the checks by hop, short names with the ARN on hover (the browser test loads it
in chromium: tests/report/test_html_browser.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from types import SimpleNamespace

from shine_ops.engine.runner import Report, evaluate, load_catalogue
from shine_ops.evaluators import Settings
from shine_ops.fixes import command_for
from shine_ops.report import FORMATS, render, render_many
from tests.evaluators.builders import ACCT, LB_ARN, LEGACY_ARN, build

SHINE = Settings(health_path="/health", service_paths=["/health", "/api/*"], startup_budget_s=60, latency_budget_s=30)
TASK_ON_5000_ONLY = [{"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 5000, "UserIdGroupPairs": [{"GroupId": "sg-alb"}]}]


def incident_report(**kw) -> Report:
    ctx = build(**(kw or {"alias_to": "legacy", "tg_port": 5000, "ingress": TASK_ON_5000_ONLY}))
    ctx.settings = SHINE
    findings = evaluate(load_catalogue().load_playbook("snail-trail"), ctx)
    target = {"domain": "api.example.com", "cluster": "prod", "service": "api", "region": "us-east-1",
              "account": ACCT}
    return Report("snail-trail", target, findings, [], {"total": 12}, 0.4, snapshot=ctx.snapshot,
                  request_path=ctx.path, notes=["a <note>"])


class Dom(HTMLParser):
    """Just enough of a DOM: tags in order with attributes, and the visible text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._skip = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)

    def all(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def test_html_is_a_format_of_diagnose():
    assert "html" in FORMATS
    assert render(incident_report(), "html").startswith("<!DOCTYPE html>")


def test_html_report_is_self_contained_diagram_first_then_root_causes_in_order():
    report = incident_report()
    html = render(report, "html")
    dom = Dom(html)
    # one file: inline CSS and SVG, no script, nothing fetched
    assert not dom.all("script") and not dom.all("link") and not dom.all("img")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html) and "@import" not in html
    assert "url(" not in html.split("</style>")[0]
    assert "@media print" in html
    # the picture comes before the root causes, which come before the checks
    assert html.index("<svg") < html.index('class="root-causes"') < html.index('class="checks"')
    items = [a["data-check"] for a in dom.all("li") if "data-check" in a]
    assert items == report.root_causes and len(items) >= 2
    by_id = {f.check: f for f in report.findings}
    for cid in report.root_causes:
        if by_id[cid].fix:
            assert command_for(by_id[cid].fix) in html
    assert "Evidence" in html and "expected" in html
    # short names on the page, the full ARN as the hover text
    chips = dom.all("span", **{"class": "res"})
    assert {c["title"] for c in chips} >= {LB_ARN, LEGACY_ARN}
    visible = " ".join(dom.text)
    assert "arn:aws:elasticloadbalancing" not in visible.split("Evidence")[0]
    assert "a <note>" in visible and "<note>" not in html  # escaped


def test_checks_are_grouped_by_hop_in_path_order():
    report = incident_report()
    dom = Dom(render(report, "html"))
    hops = [a["data-hop"] for t, a in dom.tags if t == "h3" and "data-hop" in a]
    assert hops[:3] == ["dns", "load_balancer", "listener"] and "network" in hops and len(hops) == len(set(hops))
    rows = [a["data-check"] for a in dom.all("tr") if "data-check" in a]
    assert sorted(rows) == sorted(f.check for f in report.findings)


def test_several_services_in_one_page_each_with_its_own_picture():
    html = render_many([incident_report(), incident_report(alias_to="prod")], "html")
    dom = Dom(html)
    assert len(dom.all("svg")) == 2
    markers = [a["id"] for a in dom.all("marker")]
    assert len(markers) == len(set(markers))  # ids stay unique in one document
    assert html.count("<h1>") == 1


def test_audit_report_html_draws_each_target_when_given_the_run():
    from shine_ops.audit.html import render_html
    from shine_ops.audit.output import target_entries

    rep = incident_report()
    spec = SimpleNamespace(name="shine-api", describe=lambda: {"domain": "api.example.com"})
    results = [SimpleNamespace(spec=spec, reports=[rep], error=None, exit_code=1),
               SimpleNamespace(spec=SimpleNamespace(name="gone", describe=lambda: {"domain": "x.example.com"}),
                               reports=[], error="endpoint unreachable", exit_code=3)]
    doc = {"audit_id": "a1", "started_at": "s", "finished_at": "f", "config": "c.yaml", "exit_code": 1,
           "fail_on": "high", "schema": "shine-ops.audit/v1", "tool_version": "0",
           "summary": {"targets": 2, "failing": 1, "pass": 1, "fail": 1, "warn": 0, "skip": 0, "error": 0},
           "comparison": {"first_audit": False, "previous_audit": "a0", "resolved": [], "persisting": [],
                          "new": [{"target": "shine-api", "check": "sg.alb-to-task-ingress", "severity": "critical",
                                   "resources": [LB_ARN], "summary": "gap"}]},
           "targets": target_entries(results)}
    html = render_html(doc, results)
    dom = Dom(html)
    assert len(dom.all("svg")) == 1 and "Could not audit: endpoint unreachable" in html
    assert [a["data-check"] for a in dom.all("li") if "data-check" in a] == rep.root_causes
    assert any(c.get("title") == LB_ARN for c in dom.all("span", **{"class": "res"}))
    assert not dom.all("script")
    # without the run (the JSON document alone) everything but the picture is still there
    plain = render_html(doc)
    assert "<svg" not in plain and [a["data-check"] for a in Dom(plain).all("li") if "data-check" in a] == \
        rep.root_causes
