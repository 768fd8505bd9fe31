"""Fault injection for tests and drills: throttling, access denied, timeouts and 5xx at chosen rates, and
interruptions of a change run (a failed call after N changes, a SIGKILL between a call and its journal row).

Set ``SHINE_OPS_FAULTS`` (never in production) to a ``;``-separated spec, each item ``kind[@pattern]=rate``:

    SHINE_OPS_FAULTS="throttle=0.3;deny@ecs.*=1;timeout@elbv2.DescribeTargetHealth=0.2;5xx=0.05;seed=7"

``kind`` is throttle, deny, timeout or 5xx; ``pattern`` is an fnmatch over ``service.Operation``. A botocore
``before-send`` hook answers the matching requests itself with the error a real endpoint would send in that
service's protocol, so botocore's own retry logic (standard mode) handles them exactly as in production.
"""

from __future__ import annotations

import fnmatch
import os
import random
from dataclasses import dataclass
from typing import Any

ENV = "SHINE_OPS_FAULTS"
CODES = {
    "throttle": {"query": "Throttling", "ec2": "RequestLimitExceeded", "json": "ThrottlingException",
                 "rest-xml": "Throttling", "rest-json": "TooManyRequestsException"},
    "deny": {"query": "AccessDenied", "ec2": "UnauthorizedOperation", "json": "AccessDeniedException",
             "rest-xml": "AccessDenied", "rest-json": "AccessDeniedException"},
    "5xx": {"query": "InternalFailure", "ec2": "InternalError", "json": "InternalFailure",
            "rest-xml": "InternalFailure", "rest-json": "InternalFailure"},
}
STATUS = {"throttle": 400, "deny": 403, "5xx": 500}


@dataclass
class Fault:
    kind: str
    pattern: str
    rate: float


def parse(spec: str) -> tuple[list[Fault], int | None]:
    from shine_ops.errors import UsageError

    faults, seed = [], None
    for item in filter(None, (i.strip() for i in spec.split(";"))):
        key, _, value = item.partition("=")
        if key == "seed":
            seed = int(value)
            continue
        kind, _, pattern = key.partition("@")
        if kind not in ("throttle", "deny", "timeout", "5xx"):
            raise UsageError(f"{ENV}: unknown fault {kind!r} (throttle, deny, timeout, 5xx)")
        try:
            rate = float(value)
        except ValueError:
            raise UsageError(f"{ENV}: {item!r}: the rate must be a number from 0 to 1") from None
        faults.append(Fault(kind, pattern or "*", rate))
    return faults, seed


def _body(protocol: str, code: str, message: str) -> tuple[dict[str, str], bytes]:
    if protocol in ("json", "rest-json"):
        return ({"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code},
                f'{{"__type": "{code}", "message": "{message}"}}'.encode())
    if protocol == "ec2":
        return ({"Content-Type": "text/xml"}, (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}"
                                               "</Message></Error></Errors><RequestID>fault</RequestID></Response>").encode())
    return ({"Content-Type": "text/xml"}, (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>"
                                           f"{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>").encode())


class Injector:
    def __init__(self, faults: list[Fault], seed: int | None = None) -> None:
        self.faults = faults
        self.rng = random.Random(seed)
        self.injected: dict[str, int] = {}

    def before_send(self, request: Any = None, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ReadTimeoutError

        model = kwargs.get("model") or getattr(request, "context", {}).get("shine_ops_model")
        op = (request.context or {}).get("shine_ops_operation") if request is not None else None
        if not op:
            return None
        for f in self.faults:
            if not fnmatch.fnmatchcase(op, f.pattern) or self.rng.random() >= f.rate:
                continue
            self.injected[f.kind] = self.injected.get(f.kind, 0) + 1
            if f.kind == "timeout":
                raise ReadTimeoutError(endpoint_url=request.url, error="injected read timeout")
            protocol = (request.context or {}).get("shine_ops_protocol", "query")
            if protocol not in CODES[f.kind]:
                return None
            headers, body = _body(protocol, CODES[f.kind][protocol], f"injected {f.kind} ({ENV})")
            return AWSResponse(request.url, STATUS[f.kind], headers, _Raw(body))
        return None


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any):
        yield self.body

    def read(self, *_: Any) -> bytes:
        return self.body


def install(session: Any) -> Injector | None:
    """Register the injector on a botocore session when ``SHINE_OPS_FAULTS`` is set."""
    spec = os.environ.get(ENV)
    if not spec:
        return None
    faults, seed = parse(spec)
    injector = Injector(faults, seed)
    session.get_component("event_emitter").register_first("before-send", injector.before_send)  # before moto's stub
    return injector


# ---- interrupting a change run (the change runner's test hooks) ------------------------------------------------

CHANGE_FAULT_ENV = "SHINE_OPS_FAULT_AFTER_CHANGES"  # fail the next call once N changes of a run have been made
CHANGE_KILL_ENV = "SHINE_OPS_KILL_AFTER_CALL"  # SIGKILL the process right after call N, before its journal row


class NoChangeFaults:
    """What the change runner holds when no change fault is switched on: every hook does nothing."""

    def before_call(self, made: int) -> None:
        """Called before each mutating call with the number of changes this run has made."""

    def after_call(self, seq: int) -> None:
        """Called right after call ``seq`` answered, before its journal row is completed."""


@dataclass
class ChangeFaults(NoChangeFaults):
    """Interruptions of a change run, switched on from outside with ``SHINE_OPS_FAULT_AFTER_CHANGES`` (a failed
    call) and ``SHINE_OPS_KILL_AFTER_CALL`` (the process dies like ``kill -9`` between a call and its journal row),
    so tests can prove the journal stays honest and rollback restores."""

    fail_after: int = 0
    kill_after_call: int = 0

    def before_call(self, made: int) -> None:
        if self.fail_after and made >= self.fail_after:
            raise RuntimeError(f"fault injected after {self.fail_after} changes ({CHANGE_FAULT_ENV})")

    def after_call(self, seq: int) -> None:
        if self.kill_after_call and seq == self.kill_after_call:
            os.kill(os.getpid(), 9)


def change_faults() -> NoChangeFaults:
    """The change faults the environment switches on (none in production)."""
    fail = int(os.environ.get(CHANGE_FAULT_ENV, "0") or 0)
    kill = int(os.environ.get(CHANGE_KILL_ENV, "0") or 0)
    return ChangeFaults(fail, kill) if fail or kill else NoChangeFaults()
