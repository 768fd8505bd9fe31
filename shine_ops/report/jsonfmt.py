"""The JSON report of the contract (schema ``shine-ops.report/v1``)."""

from __future__ import annotations

import json
from typing import Any


def render_json(report: Any) -> str:
    return json.dumps(report.to_json(), indent=2, default=str) + "\n"
