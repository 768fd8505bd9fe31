"""Blue-green deploys: the names the CLI and the tests have imported from here since before the split.

The strategy lives in ``shine_ops.bluegreen`` (one module per concern, each under 400 lines); its changes go
through the change runner (``shine_ops.changes``).
"""

from __future__ import annotations

from shine_ops.bluegreen.direct import PIN_HEADER, Gates, direct_smoke, failing
from shine_ops.bluegreen.finalize import find_pair, finalize
from shine_ops.bluegreen.forwards import Forward, find_forwards, forward_weights, only, refuse_split_forwards, weighted
from shine_ops.bluegreen.green import (TG_COPY, describe_status, green_status, is_steady, service_params,
                                       stopped_evidence, tg_params, wait_green)
from shine_ops.bluegreen.names import green_service_name, green_tg_name
from shine_ops.bluegreen.shift import DEFAULT_STEPS, blue_green

__all__ = ["DEFAULT_STEPS", "PIN_HEADER", "TG_COPY", "Forward", "Gates", "blue_green", "describe_status",
           "direct_smoke", "failing", "finalize", "find_forwards", "find_pair", "forward_weights", "green_service_name",
           "green_status", "green_tg_name", "is_steady", "only", "refuse_split_forwards", "service_params",
           "stopped_evidence", "tg_params", "wait_green", "weighted"]
