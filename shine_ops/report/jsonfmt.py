"""The JSON report (schema ``shine-ops.report/v1``: ``shine-ops report schema`` prints it)."""

from __future__ import annotations

import json
from typing import Any


def render_json(report: Any) -> str:
    return json.dumps(report.to_json(), indent=2, default=str) + "\n"
