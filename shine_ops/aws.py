"""AWS access: one place that makes clients, counts calls and retries, and turns failures into typed errors.

Why botocore and not boto3 resources: we only need clients, and botocore alone keeps start-up lean.
Everything is imported lazily so importing this module costs nothing until a client is made.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from shine_ops.errors import (AwsCallError, EndpointUnreachable, NoCredentials, UsageError,
                              is_access_denied)

DEFAULT_MAX_ATTEMPTS = 10  # 3 attempts lost ~1 call per diagnosis at 30% throttling (docs/aws-behaviour.md section 9)
RETRY_MODES = ("standard", "adaptive")
SANDBOX_ACCESS_KEY = "shine-ops-sandbox"
SANDBOX_SECRET_KEY = "shine-ops-sandbox-secret"

# IAM action prefixes that differ from botocore's signing name.
_IAM_PREFIX = {"monitoring": "cloudwatch", "execute-api": "execute-api"}


@dataclass
class ConnectionOptions:
    """Where and as whom to talk to AWS. ``None`` means "use the standard AWS resolution"."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    sandbox: bool = False  # explicit endpoint + dummy credentials; ignores AWS_PROFILE and AWS_ENDPOINT_URL*
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # botocore's retry mode: ``standard``, or ``adaptive`` (standard plus a client-side rate limiter that slows
    # down after throttling: for account-wide runs of hundreds of calls). SHINE_OPS_RETRY_MODE overrides it.
    retry_mode: str = "standard"

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise UsageError("max attempts must be at least 1")
        mode = os.environ.get("SHINE_OPS_RETRY_MODE", "").strip()
        if mode:
            if mode not in RETRY_MODES:
                raise UsageError(f"SHINE_OPS_RETRY_MODE={mode!r} is not one of {', '.join(RETRY_MODES)}")
            self.retry_mode = mode
        env_attempts = os.environ.get("SHINE_OPS_MAX_ATTEMPTS")
        if env_attempts:
            try:
                self.max_attempts = max(1, int(env_attempts))
            except ValueError:
                raise UsageError(f"SHINE_OPS_MAX_ATTEMPTS={env_attempts!r} is not a whole number") from None


@dataclass
class ApiCalls:
    """Counts logical API calls (not retries) per operation, and the retries they needed."""

    by_operation: Counter = field(default_factory=Counter)
    retries: int = 0
    mutating: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def record(self, key: str, retries: int) -> None:
        log = os.environ.get("SHINE_OPS_CALL_LOG")  # tests: every operation called, for the IAM policy check
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(key + "\n")
        with self._lock:
            self.by_operation[key] += 1
            self.retries += retries
            op = key.split(".", 1)[1]
            if not op.startswith(("Describe", "List", "Get", "Head", "Lookup", "Test", "Filter")):
                self.mutating[key] += 1

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "by_operation": dict(sorted(self.by_operation.items())),
                "retries": self.retries}


def iam_action(service_model: Any, operation: str) -> str:
    prefix = getattr(service_model, "signing_name", None) or service_model.endpoint_prefix
    return f"{_IAM_PREFIX.get(prefix, prefix)}:{operation}"


class Aws:
    """A lazily built set of clients sharing one session, one retry policy and one call counter.

    Thread-safe: botocore clients are (sessions are not, so clients are made under a lock), the counter is, and
    at most ``workers()`` calls per API are in flight at once (``SHINE_OPS_WORKERS``), whatever the callers."""

    def __init__(self, options: ConnectionOptions | None = None) -> None:
        self.options = options or ConnectionOptions()
        self.calls = ApiCalls()
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._client_lock = threading.RLock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self.unreachable = False  # set when the endpoint refused the first call: nothing else retries then

    # -- sessions and clients ------------------------------------------------------------------
    def _make_session(self) -> Any:
        import botocore.session
        from botocore.exceptions import ProfileNotFound

        opts = self.options
        if opts.sandbox:
            # No profile, no config files, no configured endpoints: nothing can route to a real account.
            session = botocore.session.Session(session_vars={
                "profile": (None, None, None, None),
                "config_file": (None, None, os.devnull, None),
                "credentials_file": (None, None, os.devnull, None),
            })
            session.set_config_variable("ignore_configured_endpoint_urls", True)
        else:
            session = botocore.session.Session()
            if opts.profile:
                session.set_config_variable("profile", opts.profile)
            try:
                session.get_scoped_config()
            except ProfileNotFound as exc:
                raise UsageError(f"AWS profile not found: {exc.kwargs.get('profile')}",
                                 hint="check --profile / AWS_PROFILE against ~/.aws/config") from None
        from shine_ops import faults

        self.faults = faults.install(session)  # tests and drills only (SHINE_OPS_FAULTS)
        session.register("before-call", self._before_call)
        session.register("after-call", self._after_call)
        session.register("after-call-error", self._after_call_error)
        return session

    @property
    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = self._make_session()
            return self._session

    @property
    def region(self) -> str:
        opts = self.options
        region = opts.region
        if not region and opts.sandbox:
            region = "us-east-1"
        if not region:
            region = self.session.get_config_variable("region")
        if not region:
            raise UsageError("no AWS region given", hint="pass --region or set AWS_REGION")
        return region

    def client(self, service: str, *, max_attempts: int | None = None,
               connect_timeout: float | None = None) -> Any:
        key = f"{service}:{max_attempts}:{connect_timeout}"
        if key in self._clients:
            return self._clients[key]
        with self._client_lock:  # a botocore session is not thread-safe: one client made at a time
            if key not in self._clients:
                self._clients[key] = self._make_client(service, max_attempts, connect_timeout)
            return self._clients[key]

    def use_retry_mode(self, mode: str) -> None:
        """Switch the retry mode of the clients made from now on (an account-wide run asks for ``adaptive`` before
        its first call); the environment's SHINE_OPS_RETRY_MODE still wins."""
        if mode not in RETRY_MODES:
            raise UsageError(f"retry mode must be one of {', '.join(RETRY_MODES)}")
        if not os.environ.get("SHINE_OPS_RETRY_MODE", "").strip():
            with self._client_lock:
                self.options.retry_mode = mode
                self._clients.clear()

    def _make_client(self, service: str, max_attempts: int | None, connect_timeout: float | None) -> Any:
        from botocore.config import Config

        from shine_ops import __version__

        opts = self.options
        from shine_ops.topology.parallel import workers

        config = Config(
            retries={"mode": opts.retry_mode, "max_attempts": max_attempts or opts.max_attempts},
            connect_timeout=connect_timeout or opts.connect_timeout,
            read_timeout=opts.read_timeout,
            user_agent_extra=f"shine-ops/{__version__}",
            max_pool_connections=max(10, workers()),  # each call in flight holds one connection
        )
        kwargs: dict[str, Any] = {"region_name": self.region, "config": config}
        if opts.endpoint_url:
            kwargs["endpoint_url"] = opts.endpoint_url
        if opts.sandbox:
            if not opts.endpoint_url:
                raise UsageError("sandbox mode needs the sandbox endpoint")
            kwargs["aws_access_key_id"] = SANDBOX_ACCESS_KEY
            kwargs["aws_secret_access_key"] = SANDBOX_SECRET_KEY
        client = self.session.create_client(service, **kwargs)
        # beside botocore's own retry handler (the same event node, first): once the endpoint refused the run's first
        # call, no call made at the same time waits out its retries
        client.meta.events.register_first(f"needs-retry.{client.meta.service_model.service_id.hyphenize()}",
                                          self._stop_when_unreachable, unique_id="shine-ops-stop-when-unreachable")
        return client

    def _slot(self, service: str) -> threading.BoundedSemaphore:
        """The bound on this API's calls in flight (shared by every thread of the run)."""
        slot = self._slots.get(service)
        if slot is None:
            from shine_ops.topology.parallel import workers

            with self._lock:
                slot = self._slots.setdefault(service, threading.BoundedSemaphore(workers()))
        return slot

    def _stop_when_unreachable(self, **_: Any) -> bool | None:
        """needs-retry handler: once the endpoint refused the run's first call, no call waits out retries."""
        return False if self.unreachable else None

    # -- counting ------------------------------------------------------------------------------
    def _after_call(self, http_response: Any = None, parsed: Any = None, model: Any = None,
                    **_: Any) -> None:
        retries = 0
        if isinstance(parsed, dict):
            retries = int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)
        self.calls.record(f"{model.service_model.service_name}.{model.name}", retries)

    @staticmethod
    def _before_call(model: Any = None, context: Any = None, **_: Any) -> None:
        from shine_ops import stopping

        stopping.check()  # after Ctrl-C a worker thread makes no further call
        if isinstance(context, dict) and model is not None:
            context["shine_ops_operation"] = f"{model.service_model.service_name}.{model.name}"
            # the protocol the client speaks (CloudWatch's model lists cbor, json and query; botocore speaks json)
            sm = model.service_model
            context["shine_ops_protocol"] = getattr(sm, "resolved_protocol", None) or sm.protocol

    def _after_call_error(self, context: Any = None, **_: Any) -> None:
        # Connection failures end here (no parsed response); the key was stashed by _before_call.
        if isinstance(context, dict) and context.get("shine_ops_operation"):
            retries = max(0, int(context.get("retries", {}).get("attempt", 1)) - 1)
            self.calls.record(context["shine_ops_operation"], retries)

    # -- calls ---------------------------------------------------------------------------------
    def call(self, service: str, operation: str, /, **params: Any) -> dict:
        """Call ``operation`` (CamelCase, as in the API reference) and translate failures.

        Positional-only names, because AWS parameters may be called ``service`` (ecs:UpdateService).
        """
        client = self.client(service)
        method = getattr(client, _snake(operation))
        with self._slot(service), self._translate(client, operation):
            return method(**params)

    def call_quick(self, service: str, operation: str, /, **params: Any) -> dict:
        """``call`` with two attempts: for optional context (triage) that must not hold the run up."""
        client = self.client(service, max_attempts=2)
        with self._slot(service), self._translate(client, operation):
            return getattr(client, _snake(operation))(**params)

    def paginate(self, service: str, operation: str, result_key: str, /, **params: Any) -> list[Any]:
        """All items of a paginated operation's ``result_key``, page by page (each page is one counted call)."""
        with self._slot(service):
            return list(self.iter_pages(service, operation, result_key, **params))

    def iter_pages(self, service: str, operation: str, result_key: str, /, **params: Any) -> Iterator[Any]:
        client = self.client(service)
        with self._translate(client, operation):
            if client.can_paginate(_snake(operation)):
                for page in client.get_paginator(_snake(operation)).paginate(**params):
                    yield from page.get(result_key, [])
            else:
                yield from getattr(client, _snake(operation))(**params).get(result_key, [])

    def identity(self) -> dict:
        """sts:GetCallerIdentity, the first call of a run.

        A busy endpoint (throttling, 5xx) is retried like every call: giving up on the first call would end a run
        that every later call would have completed. Only an endpoint that refuses the connection or cannot be
        reached at all fails at once (a short connect timeout, no retry), because then nothing else can work."""
        client = self.client("sts", connect_timeout=3.0)
        client.meta.events.register_first("needs-retry.sts.GetCallerIdentity", _no_retry_when_unreachable,
                                          unique_id="shine-ops-identity-fail-fast")
        try:
            with self._translate(client, "GetCallerIdentity"):
                return client.get_caller_identity()
        except EndpointUnreachable:
            self.unreachable = True  # the reads started beside it stop retrying too
            raise

    def _translate(self, client: Any, operation: str) -> "_Translate":
        return _Translate(self, client, operation)


class _Translate:
    """Context manager mapping botocore exceptions to shine-ops errors that name the call."""

    def __init__(self, aws: Aws, client: Any, operation: str) -> None:
        self.aws, self.client, self.operation = aws, client, operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is None:
            return False
        from botocore import exceptions as bex

        model = self.client.meta.service_model
        qualified = f"{model.service_name}.{self.operation}"
        if isinstance(exc, bex.ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", "Unknown"))
            message = str(err.get("Message", "")) or str(exc)
            raise AwsCallError(qualified, code, message, iam_action=iam_action(model, self.operation)) from None
        if isinstance(exc, bex.NoCredentialsError):
            raise NoCredentials(f"no AWS credentials found (needed for {qualified})",
                                hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                                     "or use --sandbox") from None
        if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectTimeoutError, bex.ReadTimeoutError,
                            bex.ConnectionClosedError)):
            endpoint = self.client.meta.endpoint_url
            raise EndpointUnreachable(f"cannot reach {endpoint} for {qualified}",
                                      hint="check --endpoint-url / AWS_ENDPOINT_URL and the network") from None
        if isinstance(exc, bex.NoRegionError):
            raise UsageError("no AWS region given", hint="pass --region or set AWS_REGION") from None
        if isinstance(exc, bex.ParamValidationError):
            raise UsageError(f"{qualified}: {exc}") from None
        return False


def _no_retry_when_unreachable(caught_exception: Any = None, **_: Any) -> bool | None:
    """needs-retry handler: ``False`` (do not retry, and stop botocore's own handler) when the connection was
    refused or timed out; ``None`` (botocore decides, as for every call) for anything else."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    if isinstance(caught_exception, (EndpointConnectionError, ConnectTimeoutError)):
        return False
    return None


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i and (not operation[i - 1].isupper() or
                                   (i + 1 < len(operation) and operation[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


__all__ = ["Aws", "ApiCalls", "ConnectionOptions", "iam_action", "is_access_denied"]
