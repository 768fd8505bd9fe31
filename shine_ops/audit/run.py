"""Run the audit: every playbook over every target, concurrently with a small bound.

Targets that share a connection (profile, region, endpoint and role: one account and region as the same caller)
share one ``Aws`` and, when there are several, one account read (``topology.shared.AccountSource``): the account is
listed once with bulk paginated calls and each target's path is resolved from it, instead of a focused collection
per target. A target alone on its connection keeps the focused collection. Connections (accounts, regions) are
audited at once, at most ``concurrency`` of them; the targets of one shared read at most ``workers()`` at once.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.audit.config import AuditConfig, TargetSpec
from shine_ops.topology.parallel import Once
from shine_ops.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, ShineOpsError, UsageError

DEFAULT_CONCURRENCY = 2
INVENTORY_FROM = 10  # named targets of one connection from which the service inventory is read instead


@dataclass
class Connection:
    """Defaults from the command line and the file; a target's own keys win."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    # --sandbox: the running sandbox's state. Every target then talks only to it (its endpoint, dummy credentials)
    # and the live probes go to its load-balancer emulator and DNS server.
    sandbox_state: dict[str, Any] | None = None


@dataclass
class TargetResult:
    spec: TargetSpec
    reports: list[Any] = field(default_factory=list)
    error: str | None = None
    exit_code: int = EXIT_OK
    duration_s: float = 0.0
    aws: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.spec.name, "reports": [r.to_json() for r in self.reports], "error": self.error,
                "exit_code": self.exit_code}


def combine_exit_codes(codes: list[int]) -> int:
    """The contract: when several apply, the first of 2, 3, 1 wins."""
    for code in (EXIT_USAGE, EXIT_INCOMPLETE, EXIT_FINDINGS):
        if code in codes:
            return code
    return EXIT_OK


def make_aws(spec: TargetSpec, conn: Connection) -> Any:
    """An ``Aws`` for the target; with ``role_arn``, clients use the assumed role's temporary credentials."""
    from shine_ops.aws import Aws, ConnectionOptions

    if conn.sandbox_state is not None:
        return Aws(ConnectionOptions(sandbox=True, endpoint_url=conn.sandbox_state["endpoint"],
                                     region=conn.sandbox_state.get("region")))
    opts = ConnectionOptions(profile=spec.profile or conn.profile, region=spec.region or conn.region,
                             endpoint_url=spec.endpoint_url or conn.endpoint_url)
    aws = Aws(opts)
    if spec.role_arn:
        base = Aws(ConnectionOptions(profile=opts.profile, region=opts.region, endpoint_url=opts.endpoint_url))
        creds = base.call("sts", "AssumeRole", RoleArn=spec.role_arn,
                          RoleSessionName="shine-ops-audit")["Credentials"]
        aws.session.set_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    return aws


def settings_for(spec: TargetSpec, cfg: Any) -> Any:
    from shine_ops.config import ProjectConfig, settings_from

    merged = dict(cfg.data if cfg is not None else {})
    merged.update(spec.settings)
    return settings_from(ProjectConfig(merged, cfg.path if cfg is not None else None))


def connection_key(spec: TargetSpec, conn: Connection) -> tuple:
    """Targets with the same key are one account and region read as the same caller: they can share a read."""
    if conn.sandbox_state is not None:
        return ("sandbox",)
    return (spec.profile or conn.profile, spec.region or conn.region, spec.endpoint_url or conn.endpoint_url,
            spec.role_arn)


@dataclass
class SharedRead:
    """One connection's ``Aws`` and account read, shared by its targets (``reports`` of account-wide playbooks are
    made once per connection too)."""

    aws: Any
    source: Any
    targets: int
    account_reports: Once = field(default_factory=Once)


def audit_target(spec: TargetSpec, playbooks: list[Any], cfg: Any, conn: Connection, *, fail_on: str,
                 no_probe: bool, probe_timeout: float, shared: SharedRead | None = None) -> TargetResult:
    from shine_ops.aws import ApiCalls
    from shine_ops.engine.runner import is_account_playbook, run
    from shine_ops.topology.collect import Target

    started = time.monotonic()
    result = TargetResult(spec)
    try:
        aws = shared.aws if shared else make_aws(spec, conn)
        result.aws = aws
        settings = settings_for(spec, cfg)

        def probes(snap: Any, path: Any) -> dict[str, Any]:
            from shine_ops.probes.dns import names_to_resolve, probe_dns
            from shine_ops.probes.service import probe_service

            t0 = time.monotonic()
            dns = probe_dns(path.domain, names_to_resolve(snap, path), timeout_s=probe_timeout / 2,
                            enabled=not no_probe, sandbox_state=conn.sandbox_state)
            left = max(0.1, probe_timeout - (time.monotonic() - t0))
            return {"dns": dns, "service": probe_service(path.domain, settings, timeout_s=left, enabled=not no_probe,
                                                         sandbox_state=conn.sandbox_state)}

        target = Target(domain=spec.domain, cluster=spec.cluster, service=spec.service)
        suppressions = cfg.suppressions if cfg is not None else []
        for pb in playbooks:
            if shared is None:
                aws.calls = ApiCalls()  # a focused run counts its own calls
            elif is_account_playbook(pb):  # the whole account: once per connection, whatever the target
                result.reports.append(shared.account_reports.get(
                    (pb.name, repr(settings)), lambda pb=pb: run(aws, target, pb, settings, suppressions=suppressions)))
                continue
            result.reports.append(run(aws, target, pb, settings, probes=probes, suppressions=suppressions,
                                      source=shared.source if shared else None))
        failing = any(r.failing_at_or_above(fail_on) for r in result.reports)
        result.exit_code = EXIT_FINDINGS if failing else EXIT_OK
    except ShineOpsError as err:
        result.error = str(err)
        result.exit_code = err.exit_code
    except Exception as err:  # noqa: BLE001 - one target's surprise must not sink the whole audit
        result.error = f"internal error: {type(err).__name__}: {err}"
        result.exit_code = EXIT_INCOMPLETE
    result.duration_s = time.monotonic() - started
    return result


def run_targets(acfg: AuditConfig, playbooks: list[Any], cfg: Any, conn: Connection, *, no_probe: bool,
                probe_timeout: float = 10.0, concurrency: int = DEFAULT_CONCURRENCY,
                progress: Callable[[str], None] | None = None) -> list[TargetResult]:
    from shine_ops.progress import ProgressBar

    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    groups: dict[tuple, list[TargetSpec]] = {}
    for spec in acfg.targets:
        groups.setdefault(connection_key(spec, conn), []).append(spec)
    bar = ProgressBar(len(acfg.targets), "auditing")

    def one(spec: TargetSpec, shared: SharedRead | None) -> TargetResult:
        r = audit_target(spec, playbooks, cfg, conn, fail_on=acfg.fail_on, no_probe=no_probe,
                         probe_timeout=probe_timeout, shared=shared)
        state = r.error or (f"{sum(len(x.failing_at_or_above(acfg.fail_on)) for x in r.reports)} failing "
                            f"at or above {acfg.fail_on}")
        if progress:
            progress(f"audited {spec.name} in {r.duration_s:.1f} s: {state}")
        bar.advance(spec.name)
        return r

    def group(specs: list[TargetSpec]) -> list[TargetResult]:
        shared = _shared_read(specs, conn) if len(specs) > 1 else None
        if isinstance(shared, TargetResult):  # the connection itself failed: every target says so
            return [TargetResult(s, error=shared.error, exit_code=shared.exit_code) for s in specs]
        from shine_ops.topology.shared import for_each, shared_api_calls

        # one connection's targets: their paths come from the shared read, so they are resolved as many at once as
        # reads run (SHINE_OPS_WORKERS); the calls themselves stay bounded per API by the Aws
        results = for_each(lambda spec: one(spec, shared), specs)
        if shared is not None:
            calls = shared_api_calls(shared.aws, len(specs))
            for r in results:
                for report in r.reports:
                    report.api_calls = calls
        return results

    done: dict[int, TargetResult] = {}
    with bar, ThreadPoolExecutor(max_workers=min(concurrency, len(groups)),
                                 thread_name_prefix="shine-ops-audit") as pool:
        for specs, results in zip(groups.values(), pool.map(group, groups.values())):
            done.update((id(spec), r) for spec, r in zip(specs, results))
    return [done[id(spec)] for spec in acfg.targets]  # in configuration order


def _shared_read(specs: list[TargetSpec], conn: Connection) -> "SharedRead | TargetResult":
    """The connection's ``Aws`` (a role assumed once) and account read, or the failure every target gets."""
    from shine_ops.topology.shared import AccountSource

    try:
        aws = make_aws(specs[0], conn)
    except ShineOpsError as err:
        return TargetResult(specs[0], error=str(err), exit_code=err.exit_code)
    aws.use_retry_mode("adaptive")  # hundreds of calls against one account: slow down when it throttles
    # The service inventory (ceil(services / 10) calls) when a target must be found from its domain, or when it is
    # likely cheaper than one DescribeServices per named target.
    inventory = any(not (s.cluster and s.service) for s in specs) or len(specs) >= INVENTORY_FROM
    return SharedRead(aws, AccountSource(aws, inventory=inventory), len(specs))
