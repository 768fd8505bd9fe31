"""The HTML report and the SVG map in a real browser (headless chromium): the DOM the browser built has the
diagram and the root causes in order, and a screenshot shows it. Skips, naming the set-up script, where no
chromium is installed (``scripts/setup-system-tools.sh`` installs Debian's).

Set ``SHINE_OPS_SCREENSHOTS=docs/img`` to write the README's pictures (``incident-report.png``,
``map-incident.png``) instead of throw-away ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, assert_no_traceback

pytestmark = pytest.mark.slow

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DOMAIN = "api.shineskincollective.com"


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium binary on PATH (looked for " + ", ".join(BROWSERS) + "): run "
                "scripts/setup-system-tools.sh to install Debian's chromium")


def _chromium(binary: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / "chromium-profile"  # its own profile: runs in parallel never share a lock
    return subprocess.run([binary, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                           "--no-first-run", f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def _shot_dir(tmp_path: Path) -> Path:
    out = os.environ.get("SHINE_OPS_SCREENSHOTS")
    if not out:
        return tmp_path
    path = Path(out) if Path(out).is_absolute() else REPO / out
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture()
def incident(scenario_server, tmp_path) -> tuple[list[str], Path]:
    """The recorded incident seeded into moto, and the options that reach it with the app's declarations
    (the scenario's ``target:`` block, as a user's shine-ops.yaml)."""
    from shine_ops.sandbox.scenario import load_scenario

    endpoint = scenario_server("shine-incident")
    config = tmp_path / "shine-ops.yaml"
    config.write_text(yaml.safe_dump(load_scenario("shine-incident")["target"]))
    return ["--endpoint-url", endpoint, "--region", "us-east-1", "--config", str(config), "--domain", DOMAIN], config


def test_incident_report_in_a_real_browser(cli, incident, tmp_path):
    binary = _browser()
    conn, _ = incident
    page = tmp_path / "incident-report.html"
    proc = cli("diagnose", "--no-probe", *conn, "--format", "html", "--output", str(page))
    assert_no_traceback(proc)
    assert proc.returncode == 1 and proc.stdout == "", proc.stderr
    expected = json.loads(cli("diagnose", "--no-probe", *conn, "--format", "json").stdout)["root_causes"]
    assert len(expected) >= 3 and expected[0] == "dns.points-to-service-alb"

    dom = _chromium(binary, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    html = dom.stdout
    assert re.search(r'<figure class="diagram"[^>]*>\s*<svg', html), "the diagram is not in the DOM"
    svg = html[html.index("<svg"):html.index("</svg>")]
    hops = set(re.findall(r'data-hop="(\w+)"', svg))
    assert {"record", "load_balancer", "listener", "rule", "target_group", "targets", "service",
            "task_definition"} <= hops
    assert html.index("<svg") < html.index('class="root-causes"')
    listed = re.findall(r'<li id="rc-\d+" data-check="([^"]+)"', html)
    assert listed == expected  # the root causes, in request-path order
    assert "shine-ops fix alb-ecs --only route53.point-alias-to-service-alb" in html

    shot = _shot_dir(tmp_path) / "incident-report.png"
    run = _chromium(binary, tmp_path, f"--screenshot={shot}", "--window-size=1400,1800", page.as_uri())
    assert run.returncode == 0, run.stderr
    assert _png_size(shot) == (1400, 1800) and shot.stat().st_size > 50_000  # a picture, not a blank page


def test_svg_map_in_a_real_browser(cli, incident, tmp_path):
    binary = _browser()
    conn, _ = incident
    drawing = tmp_path / "map-incident.svg"
    proc = cli("map", "--no-probe", *conn, "--format", "svg", "--output", str(drawing))
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    text = drawing.read_text()
    width, height = (int(float(x)) for x in re.search(r'width="([\d.]+)" height="([\d.]+)"', text).groups())
    assert 600 < width <= 1800, "too wide to read in a report"

    dom = _chromium(binary, tmp_path, "--dump-dom", drawing.as_uri())
    assert dom.returncode == 0, dom.stderr
    assert dom.stdout.count('class="element"') == text.count('class="element"') > 8
    assert 'data-checks="dns.points-to-service-alb"' in dom.stdout

    shot = _shot_dir(tmp_path) / "map-incident.png"
    run = _chromium(binary, tmp_path, f"--screenshot={shot}", f"--window-size={width},{height}", drawing.as_uri())
    assert run.returncode == 0, run.stderr
    assert _png_size(shot) == (width, height)


def test_map_formats_and_their_errors(cli, incident, tmp_path):
    conn, _ = incident
    mermaid = cli("map", "--no-probe", *conn, "--format", "mermaid")
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("flowchart LR\n"), mermaid.stderr
    assert '-->|"(1) dns.points-to-service-alb"|' in mermaid.stdout
    dot = cli("map", "--no-probe", *conn, "--format", "dot")
    assert dot.returncode == 0 and dot.stdout.startswith("digraph request_path {")
    doc = json.loads(cli("map", "--no-probe", *conn, "--format", "json").stdout)
    assert doc["tree"]["children"][0]["kind"] == "record"
    assert doc["diagram"]["root_causes"][0] == "dns.points-to-service-alb"
    assert {e["hop"] for e in doc["diagram"]["elements"]} >= {"record", "task_definition"}
    bad = cli("map", "--no-probe", *conn, "--format", "png")
    assert bad.returncode == 2 and "tree, json, mermaid, dot, svg" in bad.stderr
    whole = cli("map", "--all", "--endpoint-url", conn[1], "--region", "us-east-1", "--format", "svg")
    assert whole.returncode == 2 and "--all prints tree or json" in whole.stderr
    md = cli("diagnose", "--no-probe", *conn, "--format", "markdown")
    assert "```mermaid\nflowchart LR\n" in md.stdout
