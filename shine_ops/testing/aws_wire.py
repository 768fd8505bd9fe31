"""What an AWS call looks like on the wire, for the chaos proxy (``shine_ops.testing.wire_proxy``).

Two things the proxy needs and nothing else in the package does: telling which AWS call a request is (service
and operation, from the SigV4 credential scope, ``X-Amz-Target`` or the REST route of the installed botocore's
service model), and writing the throttling or 503 answer that service's endpoint would send, in its own wire
protocol (ec2, query, json, rest-xml, rest-json, smithy-rpc-v2-cbor), so that botocore's retry logic sees what a
real endpoint sends (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

KINDS = ("throttle", "unavailable")  # the errors error_response can write

# SigV4 signing name (the credential scope's service) -> botocore service name, where they differ.
_SIGNING_TO_SERVICE = {"elasticloadbalancing": "elbv2", "monitoring": "cloudwatch",
                       "tagging": "resourcegroupstaggingapi", "email": "ses", "states": "stepfunctions",
                       "execute-api": "apigateway", "cognito-idp": "cognito-idp"}
_ELB_CLASSIC_VERSION = "2012-06-01"

# (HTTP status, error code) a real endpoint sends, per wire protocol.
_THROTTLE = {"ec2": (503, "RequestLimitExceeded"), "query": (400, "Throttling"), "json": (400, "ThrottlingException"),
             "rest-xml": (400, "Throttling"), "rest-json": (429, "ThrottlingException"),
             "smithy-rpc-v2-cbor": (400, "ThrottlingException")}
_UNAVAILABLE = {"ec2": (503, "Unavailable"), "query": (503, "ServiceUnavailable"),
                "json": (503, "ServiceUnavailableException"), "rest-xml": (503, "ServiceUnavailable"),
                "rest-json": (503, "ServiceUnavailableException"),
                "smithy-rpc-v2-cbor": (503, "ServiceUnavailableException")}
_S3 = {"throttle": (503, "SlowDown"), "unavailable": (503, "ServiceUnavailable")}  # S3's own error shape
# What a json service that used to speak query (awsQueryCompatible, e.g. CloudWatch) puts in x-amzn-query-error.
_QUERY_COMPAT = {"throttle": "Throttling;Sender", "unavailable": "ServiceUnavailable;Receiver"}

_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Call:
    """One AWS call as seen on the wire."""

    service: str  # botocore's name: elbv2, cloudwatch, ...
    operation: str  # CamelCase, as in the API reference ("" when it could not be told)
    protocol: str  # the wire protocol the client spoke: ec2, query, json, rest-xml, rest-json, smithy-rpc-v2-cbor
    query_compatible: bool = False

    @property
    def key(self) -> str:
        return f"{self.service}.{self.operation or '?'}"


class ServiceModels:
    """botocore service models, loaded once per name (EC2's is megabytes), shared by the handler threads."""

    def __init__(self) -> None:
        self._session: Any = None
        self._cache: dict[str, Any] = {}
        self._routes: dict[str, list[tuple[str, re.Pattern, list[str], int, str]]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any | None:
        with self._lock:
            if name not in self._cache:
                import botocore.session
                from botocore.exceptions import UnknownServiceError

                if self._session is None:
                    self._session = botocore.session.Session()
                try:
                    self._cache[name] = self._session.get_service_model(name)
                except UnknownServiceError:
                    self._cache[name] = None
            return self._cache[name]

    def rest_operation(self, name: str, model: Any, method: str, path: str, query: dict[str, list[str]]) -> str:
        """The operation of a rest-xml / rest-json request: the model's ``http.requestUri`` that fits best."""
        with self._lock:
            routes = self._routes.get(name)
            if routes is None:
                routes = self._routes[name] = [_route(op, model.operation_model(op).http)
                                               for op in model.operation_names]
        best, score = "", -1
        path = path.rstrip("/") or "/"
        for op_method, pattern, keys, literal, op in routes:
            if op_method == method and pattern.fullmatch(path) and all(k in query for k in keys):
                if literal + 100 * len(keys) > score:
                    best, score = op, literal + 100 * len(keys)
        return best


def _route(op: str, http: dict) -> tuple[str, re.Pattern, list[str], int, str]:
    uri = str(http.get("requestUri", "/"))
    path, _, qs = uri.partition("?")
    keys = [p.split("=", 1)[0] for p in qs.split("&") if p]
    regex, literal = "", 0
    for piece in re.split(r"(\{[^}]+\})", path.rstrip("/") or "/"):
        if piece.startswith("{"):
            regex += ".+" if piece.endswith("+}") else "[^/]+"
        else:
            regex += re.escape(piece)
            literal += len(piece)
    return str(http.get("method", "POST")).upper(), re.compile(regex), keys, literal, op


def identify(models: ServiceModels, method: str, target: str, headers: Any, body: bytes) -> Call | None:
    """Which AWS call a request is, from its SigV4 credential scope (or X-Amz-Target / Host), or None when it is
    no signed AWS call (moto's own ``/moto-api``, a health probe): those are always forwarded."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    scope = _CREDENTIAL.search(headers.get("Authorization", "") or "")
    signing = scope.group(1) if scope else (
        _CREDENTIAL.search("Credential=" + query["X-Amz-Credential"][0]).group(1)  # type: ignore[union-attr]
        if query.get("X-Amz-Credential") and _CREDENTIAL.search("Credential=" + query["X-Amz-Credential"][0])
        else None)
    if not signing:
        return None
    form: dict[str, list[str]] = {}
    ctype = (headers.get("Content-Type", "") or "").lower()
    if "x-www-form-urlencoded" in ctype and body:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    params = {**query, **form}
    service = _SIGNING_TO_SERVICE.get(signing, signing)
    if signing == "elasticloadbalancing" and params.get("Version", [""])[0] == _ELB_CLASSIC_VERSION:
        service = "elb"
    model = models.get(service)
    amz_target = headers.get("X-Amz-Target", "") or ""
    if (headers.get("smithy-protocol", "") or "").lower() == "rpc-v2-cbor":
        protocol = "smithy-rpc-v2-cbor"
    elif amz_target:
        protocol = "json"
    elif model is not None:
        protocol = getattr(model, "resolved_protocol", None) or model.protocol
    else:
        protocol = "query" if "Action" in params else "rest-json"
    if protocol == "json":
        operation = amz_target.rsplit(".", 1)[-1]
    elif protocol == "smithy-rpc-v2-cbor":
        operation = url.path.rsplit("/operation/", 1)[-1] if "/operation/" in url.path else ""
    elif protocol in ("query", "ec2"):
        operation = params.get("Action", [""])[0]
    else:
        operation = models.rest_operation(service, model, method, url.path, query) if model is not None else ""
    compat = bool(model is not None and "awsQueryCompatible" in model.metadata)
    return Call(service, operation, protocol, compat)


def error_response(call: Call, kind: str) -> tuple[int, list[tuple[str, str]], bytes, str]:
    """(status, headers, body, code) of a ``kind`` error ("throttle" or "unavailable") as ``call``'s endpoint
    would send it."""
    rid = str(uuid.uuid4())
    message = "Rate exceeded" if kind == "throttle" else "Service is unavailable; try again later"
    proto = call.protocol
    if call.service == "s3":
        status, code = _S3[kind]
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{rid}</RequestId></Error>").encode()
        return status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body, code
    status, code = (_THROTTLE if kind == "throttle" else _UNAVAILABLE).get(proto, (503, "ServiceUnavailable"))
    if proto == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>").encode()
        return status, [("Content-Type", "text/xml;charset=UTF-8")], body, code
    if proto in ("query", "rest-xml"):
        side = "Sender" if kind == "throttle" else "Receiver"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>{side}</Type><Code>{code}'
                f"</Code><Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>").encode()
        return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body, code
    headers = [("x-amzn-RequestId", rid)]
    seen = code
    if call.query_compatible:  # the code a client of the former query API knows
        headers.append(("x-amzn-query-error", _QUERY_COMPAT[kind]))
        seen = _QUERY_COMPAT[kind].split(";", 1)[0]
    if proto == "smithy-rpc-v2-cbor":
        return status, headers + [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], \
            _cbor({"__type": f"com.amazonaws.{call.service}#{code}", "message": message}), seen
    if proto == "rest-json":
        return status, headers + [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], \
            json.dumps({"message": message}).encode(), seen
    return status, headers + [("Content-Type", "application/x-amz-json-1.1")], \
        json.dumps({"__type": code, "message": message}).encode(), seen


def _cbor(value: Any) -> bytes:
    """The few CBOR items an error body needs (text strings and maps of them): RFC 8949, definite lengths."""
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        if n < 65536:
            return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
        return bytes([major << 5 | 26]) + n.to_bytes(4, "big")

    if isinstance(value, str):
        raw = value.encode()
        return head(3, len(raw)) + raw
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(_cbor(k) + _cbor(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__}")
