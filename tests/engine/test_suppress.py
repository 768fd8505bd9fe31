"""Suppressions accept a failing finding until they expire, and bad ones are named by file and line."""

from __future__ import annotations

import datetime as dt

import pytest

from shine_ops.engine.finding import Finding
from shine_ops.engine.suppress import apply_suppressions, parse_suppressions
from shine_ops.errors import ConfigError


def _finding(check="sg.alb-to-task-ingress", resources=("sg-alb", "sg-task")) -> Finding:
    return Finding(check=check, title="t", status="fail", severity="critical", summary="s", resources=list(resources))


def test_active_suppression_marks_the_finding_and_expired_one_does_not():
    today = dt.date(2026, 11, 28)
    sup = parse_suppressions([{"check": "sg.alb-to-task-ingress", "reason": "migration", "owner": "ana",
                               "expires": "2026-12-31"}])
    f = _finding()
    assert apply_suppressions([f], sup, today) == []
    assert f.status == "fail" and f.suppressed == {"reason": "migration", "owner": "ana", "expires": "2026-12-31"}
    late = _finding()
    notes = apply_suppressions([late], sup, dt.date(2027, 1, 1))
    assert late.suppressed is None and "expired on 2026-12-31" in notes[0]


def test_resource_scoped_suppression_only_matches_that_resource():
    sup = parse_suppressions([{"check": "sg.alb-to-task-ingress", "resource": "sg-other", "reason": "r",
                               "owner": "o", "expires": dt.date(2030, 1, 1)}])
    f = _finding()
    apply_suppressions([f], sup, dt.date(2026, 1, 1))
    assert f.suppressed is None


@pytest.mark.parametrize("item,message", [
    ({"check": "x.y", "reason": "r", "owner": "o"}, "missing expires"),
    ({"check": "x.y", "reason": "r", "owner": "o", "expires": "next week"}, "expected a date"),
    ({"check": "x.y", "reason": "r", "owner": "o", "expires": "2026-01-01", "until": 1}, "unknown field"),
])
def test_bad_suppressions_are_config_errors(item, message):
    with pytest.raises(ConfigError, match=message):
        parse_suppressions([item])


def test_bad_suppression_in_project_file_names_line(tmp_path):
    from shine_ops.config import load_config

    p = tmp_path / "shine-ops.yaml"
    p.write_text("domain: api.example.com\nsuppressions:\n  - check: sg.alb-to-task-ingress\n    reason: r\n"
                 "    owner: o\n    expires: soon\n")
    with pytest.raises(ConfigError) as exc:
        load_config(str(p))
    assert str(exc.value).startswith(f"{p}:6:5: suppressions.0.expires: expected a date")


def test_bad_declared_topology_names_line(tmp_path):
    from shine_ops.config import load_config

    p = tmp_path / "shine-ops.yaml"
    p.write_text("declared:\n  domain: api.example.com\n  container_port: eight\n")
    with pytest.raises(ConfigError) as exc:
        load_config(str(p))
    assert str(exc.value).startswith(f"{p}:3:3: declared.container_port: expected int")
