"""A check's references reach the reports: the JSON finding (optional key), the root causes of the HTML and
Markdown reports (incident ids with their titles, AWS pages as text)."""

from __future__ import annotations

from shine_ops.report import render
from tests.report.test_html import incident_report


def test_references_reach_json_html_and_markdown_for_the_root_causes():
    import json

    report = incident_report()
    data = json.loads(render(report, "json"))
    dns = next(f for f in data["findings"] if f["check"] == "dns.points-to-service-alb")
    assert dns["status"] == "fail" and dns["references"] == [
        "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-elb-load-balancer.html"]
    ingress = next(f for f in data["findings"] if f["check"] == "sg.alb-to-task-ingress")
    assert "FM-10" not in ingress.get("references", [])  # covered, not cited: checks show lists it as covered

    html = render(report, "html")
    assert "Read more" in html and "routing-to-elb-load-balancer.html" in html
    assert 'href="https://' not in html  # a self-contained page links nowhere
    md = render(report, "markdown")
    assert "   - Read more: https://docs.aws.amazon.com/Route53/" in md


def test_incident_ids_render_with_their_titles():
    from shine_ops.report.html import references_html

    html = references_html(["FM-11", "https://docs.aws.amazon.com/x.html", "our runbook, step 3"])
    assert "<code>FM-11</code> The domain pointed at the wrong load balancer" in html
    assert 'title="The API&#x27;s DNS alias led to a legacy Elastic Beanstalk' in html
    assert "our runbook, step 3" in html and references_html([]) == ""
