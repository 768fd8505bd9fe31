"""Listener rules as an Application Load Balancer evaluates them: the one evaluator that checks, fixes, the map,
discovery and the sandbox's load-balancer emulator all use (docs/aws-behaviour.md section 3).

A listener's rules are tried in ascending priority and the first rule whose every condition matches decides; the
default action applies when none does. Conditions: ``host-header`` (case-insensitive), ``path-pattern``
(case-sensitive), ``http-header`` (name and values case-insensitive), ``query-string`` (key optional, case-
insensitive), each with ``*`` (any run of characters) and ``?`` (one character); ``http-request-method`` (exact);
``source-ip`` (CIDRs, IPv4 and IPv6). Actions: ``authenticate-oidc`` / ``authenticate-cognito`` run first (by
``Order``), then one terminal action: ``forward`` (weights 0-999, weight 0 gets no traffic), ``redirect`` or
``fixed-response``.

The API keeps growing (the installed botocore model also has ``RegexValues``, rule ``Transforms`` and a
``jwt-validation`` action). Whatever this module does not model makes a verdict *cannot judge*, with a note that
names it, never a guess: the checks turn it into a ``warn`` naming the rule.

Pure: no AWS calls. A *plain* request for a domain (``Request.plain``) carries that host, a path and the method
GET, and no particular header, query string or source address: rules that need those do not catch it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence
from urllib.parse import parse_qsl

from shine_ops.topology.model import Action, Condition, Listener, Rule

if TYPE_CHECKING:  # the snapshot imports the model only; keep this module importable on its own
    from shine_ops.topology.snapshot import Snapshot

CONDITION_FIELDS = ("host-header", "path-pattern", "http-header", "query-string", "http-request-method", "source-ip")
AUTH_ACTIONS = ("authenticate-oidc", "authenticate-cognito")
TERMINAL_ACTIONS = ("forward", "redirect", "fixed-response")
PROBE_SEGMENT = "shine-ops-probe"  # what a ``*`` of a path pattern stands for in a sample request


# --------------------------------------------------------------------------- the request
@dataclass
class Request:
    """One HTTP request as the load balancer sees it. ``query`` maps keys to values, or lists (key, value)
    pairs (a key may repeat); ``host`` None means the host is unknown (no domain was given)."""

    host: str | None
    path: str = "/"
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] | Sequence[tuple[str, str]] = field(default_factory=dict)
    source_ip: str | None = None

    @classmethod
    def plain(cls, host: str | None, path: str = "/") -> "Request":
        """What a browser's plain request for a domain carries: its host, a path and GET, nothing else."""
        return cls(host=host, path=path)

    @classmethod
    def from_target(cls, host: str | None, target: str, method: str = "GET", headers: Mapping[str, str] | None = None,
                    source_ip: str | None = None) -> "Request":
        """From an HTTP request line's target (``/path?query``), as a server receives it."""
        path, _, qs = target.partition("?")
        return cls(host=host, path=path or "/", method=method, headers=dict(headers or {}),
                   query=parse_qsl(qs.split("#", 1)[0], keep_blank_values=True), source_ip=source_ip)

    @property
    def is_plain(self) -> bool:
        return self.method == "GET" and not self.headers and not self.query and self.source_ip is None

    def query_pairs(self) -> list[tuple[str, str]]:
        return list(self.query.items()) if isinstance(self.query, Mapping) else [tuple(p) for p in self.query]

    def header(self, name: str) -> str | None:
        """A header's value; header names are case-insensitive."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def describe(self) -> str:
        """``GET api.example.com/api/x`` (plus any header, query string or source address it carries)."""
        text = f"{self.method} {self.host or '<any host>'}{self.path}"
        pairs = self.query_pairs()
        if pairs:
            text += "?" + "&".join(f"{k}={v}" if v != "" else k for k, v in pairs)
        for k, v in self.headers.items():
            text += f" [{k}: {v}]"
        if self.source_ip:
            text += f" from {self.source_ip}"
        return text


# --------------------------------------------------------------------------- wildcard matching
@lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str, ignore_case: bool, escapes: bool) -> re.Pattern[str]:
    """``*`` any run of characters, ``?`` exactly one, everything else literal; with ``escapes``, ``\\*`` and
    ``\\?`` are a literal star and question mark (query-string conditions)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if escapes and ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, text: str, *, ignore_case: bool, escapes: bool = False) -> bool:
    return bool(_wildcard_regex(pattern, ignore_case, escapes).match(text))


def match_path_pattern(pattern: str, path: str) -> bool:
    """ALB path patterns: case-sensitive, ``*`` any run of characters (slashes too), ``?`` exactly one; the
    pattern applies to the path only, never to the query string."""
    return wildcard_match(pattern, path, ignore_case=False)


def match_host(pattern: str, host: str) -> bool:
    """ALB host conditions: case-insensitive, wildcards; a port in the Host header is not part of the name."""
    return wildcard_match(pattern, _host_name(host), ignore_case=True)


def _host_name(host: str) -> str:
    host = host.strip().rstrip(".")
    if host.startswith("["):  # [v6]:port
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def sample_path(pattern: str) -> str:
    """A concrete request path that a path pattern stands for (``/api/*`` -> ``/api/shine-ops-probe``)."""
    return pattern.replace("*", PROBE_SEGMENT).replace("?", "x")


# --------------------------------------------------------------------------- verdicts
@dataclass
class Verdict:
    """Does a condition (or a rule's conditions) match a request: True, False, or None = cannot judge."""

    result: bool | None
    note: str | None = None  # why (an assumption made, what a plain request lacks, or what is not modelled)


def _plain_miss(cond: Condition, what: str, req: Request) -> Verdict:
    """A condition that needs something the request does not carry."""
    if req.is_plain:
        return Verdict(False, f"{cond.field} condition does not match a plain request")
    return Verdict(False, f"the request carries no {what}")


def condition_verdict(cond: Condition, req: Request) -> Verdict:
    """One condition against one request (values of one condition are alternatives: any may match)."""
    if cond.regex_values:
        return Verdict(None, f"{cond.field} condition with RegexValues {', '.join(cond.regex_values)} "
                             "(regex matching is not modelled)")
    if cond.field not in CONDITION_FIELDS:
        return Verdict(None, f"condition field {cond.field!r} is not modelled")
    if cond.field == "host-header":
        if req.host is None:
            return Verdict(True, "host-header condition assumed to match (no domain given)")
        return Verdict(any(match_host(v, req.host) for v in cond.values))
    if cond.field == "path-pattern":
        return Verdict(any(match_path_pattern(v, req.path) for v in cond.values))
    if cond.field == "http-request-method":
        # AWS compares case-sensitively, and only accepts upper-case names: comparing in upper case is the same
        return Verdict(req.method.upper() in {v.upper() for v in cond.values})
    if cond.field == "http-header":
        if not cond.header_name:
            return Verdict(None, "http-header condition without HttpHeaderName (not modelled)")
        value = req.header(cond.header_name)
        if value is None:
            return _plain_miss(cond, f"{cond.header_name} header", req)
        return Verdict(any(wildcard_match(v, value, ignore_case=True) for v in cond.values))
    if cond.field == "query-string":
        pairs = req.query_pairs()
        if not pairs:
            return _plain_miss(cond, "query string", req)
        return Verdict(any(_query_pair_matches(key, value, pairs) for key, value in cond.pairs))
    return _source_ip_verdict(cond, req)


def _query_pair_matches(key: str | None, value: str, pairs: list[tuple[str, str]]) -> bool:
    for k, v in pairs:
        if key is None:  # a value alone matches any key's value (or a bare ``?token``)
            if wildcard_match(value, v, ignore_case=True, escapes=True) or (
                    v == "" and wildcard_match(value, k, ignore_case=True, escapes=True)):
                return True
        elif wildcard_match(key, k, ignore_case=True, escapes=True) and wildcard_match(
                value, v, ignore_case=True, escapes=True):
            return True
    return False


def _source_ip_verdict(cond: Condition, req: Request) -> Verdict:
    try:
        nets = [ipaddress.ip_network(v, strict=False) for v in cond.values]
    except ValueError as err:
        return Verdict(None, f"source-ip condition with a value that is no CIDR ({err})")
    if req.source_ip is None:
        if any(n.prefixlen == 0 for n in nets):  # 0.0.0.0/0 or ::/0: every client of that address family
            return Verdict(True, f"source-ip {', '.join(str(n) for n in nets if n.prefixlen == 0)} "
                                 "matches any client of that address family")
        return _plain_miss(cond, "source address", req)
    try:
        ip = ipaddress.ip_address(req.source_ip)
    except ValueError:
        return Verdict(None, f"source address {req.source_ip!r} is no IP address")
    return Verdict(any(ip.version == n.version and ip in n for n in nets))


def rule_verdict(rule: Rule, req: Request) -> Verdict:
    """A rule matches when every condition matches. One condition that surely does not match decides (even
    beside one this module cannot judge); otherwise any condition it cannot judge makes the rule unjudgeable."""
    if rule.is_default:
        return Verdict(True)
    verdicts = [condition_verdict(c, req) for c in rule.conditions]
    misses = [v for v in verdicts if v.result is False]
    if misses:
        # Say why only when what the request lacks is all that kept the rule from catching it.
        decisive = all(v.note for v in misses) and all(v.result is not None for v in verdicts)
        return Verdict(False, "; ".join(v.note for v in misses if v.note) if decisive else None)
    unknown = [v.note for v in verdicts if v.result is None]
    if unknown:
        return Verdict(None, "; ".join(n for n in unknown if n))
    notes = [v.note for v in verdicts if v.note]
    return Verdict(True, "; ".join(notes) if notes else None)


# --------------------------------------------------------------------------- actions
@dataclass
class ActionChain:
    """A rule's actions in ``Order``: the authenticate-* steps, then the terminal action."""

    auth: list[Action]
    terminal: Action
    unknown: list[str]  # what is not modelled (a jwt-validation action, an unknown type, no terminal action)

    @property
    def label(self) -> str:
        return ", then ".join([a.type for a in self.auth] + [self.terminal.type])


NO_ACTION = Action("none", {}, None, None, {})


def action_chain(actions: Iterable[Action]) -> ActionChain:
    auth: list[Action] = []
    terminal: Action | None = None
    unknown: list[str] = []
    ordered = sorted(actions, key=lambda a: (a.order is None, a.order or 0))
    for a in ordered:
        if a.type in AUTH_ACTIONS:
            auth.append(a)
        elif a.type in TERMINAL_ACTIONS:
            if terminal is None:
                terminal = a
        else:
            unknown.append(f"{a.type} action (not modelled)")
    if terminal is None and not unknown:
        unknown.append("no forward, redirect or fixed-response action")
    return ActionChain(auth=auth, terminal=terminal or NO_ACTION, unknown=unknown)


def rule_chain(rule: Rule) -> ActionChain:
    return action_chain(rule.actions or [rule.action])


def listener_chain(listener: Listener, default_rule: Rule | None = None) -> ActionChain:
    """The default action: the default rule's actions when DescribeRules returned one, else the listener's."""
    if default_rule is not None and default_rule.actions:
        return rule_chain(default_rule)
    raws = listener.raw.get("DefaultActions") if listener.raw else None
    if raws:
        return action_chain(Action.from_raw(r) for r in raws)
    return action_chain([listener.default_action])


def _transforms_note(rule: Rule) -> str | None:
    if not rule.transforms:
        return None
    kinds = ", ".join(str(t.get("Type", "?")) for t in rule.transforms)
    return f"rule Transforms ({kinds}) (request rewriting is not modelled)"


# --------------------------------------------------------------------------- one listener
@dataclass
class Evaluation:
    """Where one request lands on one listener.

    ``rule`` is the rule that decides (None: the default action) assuming the rules it could not judge do not
    match; ``cannot_judge`` names each of those (and anything unmodelled in the deciding rule's actions or
    transforms). When ``cannot_judge`` is not empty, the outcome is not certain: checks ``warn``."""

    listener: Listener | None
    request: Request
    rule: Rule | None
    chain: ActionChain
    matching: list[Rule]  # every rule that surely matches, in evaluation order (the first one decides)
    unjudged: list[Rule] = field(default_factory=list)  # rules before the decision that could not be judged
    notes: list[str] = field(default_factory=list)
    cannot_judge: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def action(self) -> Action:
        return self.chain.terminal

    @property
    def auth(self) -> list[Action]:
        return self.chain.auth

    @property
    def judged(self) -> bool:
        return not self.cannot_judge

    @property
    def rule_label(self) -> str:
        return self.rule.label if self.rule else "default action"

    @property
    def forwarded_tgs(self) -> list[str]:
        """Target groups that receive this request's traffic (weight > 0)."""
        return self.action.forwarded_tgs

    def possible_tgs(self) -> list[str]:
        """Every target group the request may reach: the decided one's and those of rules not judged."""
        out = list(self.forwarded_tgs)
        for r in self.unjudged:
            out += [t for t in rule_chain(r).terminal.forwarded_tgs if t not in out]
        return out

    def describe_action(self, tg_names: Mapping[str, str]) -> str:
        auth = "".join(f"{a.type}, then " for a in self.auth)
        return auth + self.action.describe(dict(tg_names))


def evaluate_rules(listener: Listener | None, rules: Sequence[Rule], req: Request) -> Evaluation:
    """Evaluate ``rules`` (any order; the default rule may be among them) for ``req``."""
    ordered = sorted(rules, key=lambda r: (r.priority is None, r.priority if r.priority is not None else 0))
    default_rule = next((r for r in ordered if r.is_default), None)
    matching: list[Rule] = []
    unjudged: list[Rule] = []
    notes: list[str] = []
    cannot: list[str] = []
    decided: Rule | None = None
    for rule in ordered:
        if rule.is_default:
            continue
        v = rule_verdict(rule, req)
        if decided is None and v.note:
            notes.append(f"{rule.label}: {v.note}")
        if v.result is None:
            if decided is None:
                unjudged.append(rule)
                cannot.append(f"{rule.label}: {v.note}")
            continue
        if v.result:
            matching.append(rule)
            decided = decided or rule
    if decided is not None:
        chain = rule_chain(decided)
        label = decided.label
        transforms = _transforms_note(decided)
        if transforms:
            cannot.append(f"{label}: {transforms}")
    elif listener is not None:
        chain, label = listener_chain(listener, default_rule), "default action"
    elif default_rule is not None:
        chain, label = rule_chain(default_rule), "default action"
    else:
        chain, label = action_chain([]), "default action"
    cannot += [f"{label}: {u}" for u in chain.unknown]
    return Evaluation(listener=listener, request=req, rule=decided, chain=chain, matching=matching,
                      unjudged=unjudged, notes=notes, cannot_judge=cannot)


def evaluate(snapshot: "Snapshot", listener: Listener, req: Request) -> Evaluation:
    """Where ``req`` lands on ``listener`` of the snapshot."""
    return evaluate_rules(listener, snapshot.rules_of(listener.arn), req)


# The requests of a domain (``domain_paths``...) live in rules_domain; importable from here as before.
from shine_ops.topology.rules_domain import (JudgedPath, domain_paths,  # noqa: E402,F401
                                             forwarding_rules_out_of_reach)
