"""The map's tree prints one status per line: the service's own checks and the network to its tasks apart."""

from __future__ import annotations

from shine_ops.topology.tree import render_tree


def test_map_tree_one_status_per_line():
    tree = {"kind": "domain", "label": "api.example.com", "children": [
        {"kind": "service", "label": "prod/api (ACTIVE, 1/1 running)", "checks": "pass", "network_checks": "fail",
         "children": [{"kind": "task_definition", "label": "api:3", "checks": "pass", "children": []}]}]}
    text = render_tree(tree, color=False)
    for line in text.splitlines():
        assert sum(line.count(f"[{s}]") for s in ("pass", "fail", "warn", "skip", "error")) <= 1, line
    service = next(line for line in text.splitlines() if "prod/api" in line)
    assert "[pass]" in service and "[fail]" not in service
    assert any("network" in line and "[fail]" in line for line in text.splitlines())
