"""A probe that gets no answer says why in our words; the library's text and class stay in the evidence."""

from __future__ import annotations

import socket

import requests

from shine_ops.probes import smoke as S


def _health(base: str, budget: float = 3.0):
    outcome, reachable = S.check_health(requests.Session(), base, S._Budget(budget))
    return outcome, reachable


def test_a_name_that_does_not_resolve_is_said_in_our_words():
    outcome, reachable = _health("https://no-such-host.invalid")
    assert outcome.status == "fail" and not reachable
    assert outcome.summary == ("The health endpoint https://no-such-host.invalid/health cannot be reached: the name "
                               "does not resolve (no DNS answer for the host).")
    assert "HTTPSConnectionPool" not in outcome.summary + outcome.actual and "Caused by" not in outcome.summary
    ev = outcome.evidence["health"]
    assert ev["error_class"] == "NameResolutionError"
    assert "HTTPSConnectionPool(host='no-such-host.invalid', port=443)" in ev["error"]  # kept, for whoever digs


def test_a_closed_port_and_a_silent_server_are_said_in_our_words():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    outcome, _ = _health(f"http://127.0.0.1:{closed}")
    assert outcome.summary.endswith("cannot be reached: the connection was refused (nothing listens there).")
    assert outcome.evidence["health"]["error_class"] == "ConnectionRefusedError"

    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        outcome, _ = _health(f"http://127.0.0.1:{silent.getsockname()[1]}", budget=1.0)
    assert "cannot be reached: no answer in time (1.0 s)." in outcome.summary
    assert "Read timed out" in outcome.evidence["health"]["error"] and "Pool" not in outcome.summary


def test_describe_failure_words():
    tls = requests.exceptions.SSLError("HTTPSConnectionPool(...): certificate verify failed")
    assert str(S.describe_failure(tls)) == "the TLS handshake failed (certificate or protocol)"
    assert S.describe_failure(requests.exceptions.TooManyRedirects("Exceeded 30 redirects.")).error_class == \
        "TooManyRedirects"
    assert str(S.describe_failure(requests.exceptions.RequestException("odd"))) == "the request failed"


def test_dns_probe_errors_are_words_with_the_class_beside_them():
    import dns.resolver

    from shine_ops.probes.dns import _resolve

    class Failing:
        def __init__(self, exc):
            self.exc = exc

        def resolve(self, *a, **k):
            raise self.exc

    import time

    import dns.message

    servfail = dns.resolver.NoNameservers(request=dns.message.make_query("api.example.com", "A"), errors=[])
    rec = _resolve(Failing(servfail), "api.example.com", time.monotonic() + 5, 5)
    assert rec["error"] == "no name server gave an answer (SERVFAIL or refused)"
    assert rec["error_class"] == "NoNameservers" and rec["error_kind"] == "servfail"
    rec = _resolve(Failing(OSError("[Errno 101] Network is unreachable")), "api.example.com", time.monotonic() + 5, 5)
    assert rec["error"] == "the lookup failed" and rec["error_class"] == "OSError"
    assert "Network is unreachable" in rec["error_detail"]
