"""Run the audit: every playbook over every target, concurrently with a small bound, each with its own Aws."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.audit.config import AuditConfig, TargetSpec
from shine_ops.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, ShineOpsError, UsageError

DEFAULT_CONCURRENCY = 2


@dataclass
class Connection:
    """Defaults from the command line and the file; a target's own keys win."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


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
    from shine_ops.cli.common import settings_from
    from shine_ops.config import ProjectConfig

    merged = dict(cfg.data if cfg is not None else {})
    merged.update(spec.settings)
    return settings_from(ProjectConfig(merged, cfg.path if cfg is not None else None))


def audit_target(spec: TargetSpec, playbooks: list[Any], cfg: Any, conn: Connection, *, fail_on: str,
                 no_probe: bool, probe_timeout: float) -> TargetResult:
    from shine_ops.aws import ApiCalls
    from shine_ops.engine.runner import run
    from shine_ops.topology.collect import Target

    started = time.monotonic()
    result = TargetResult(spec)
    try:
        aws = make_aws(spec, conn)
        result.aws = aws
        settings = settings_for(spec, cfg)

        def probes(snap: Any, path: Any) -> dict[str, Any]:
            from shine_ops.probes.dns import names_to_resolve, probe_dns
            from shine_ops.probes.service import probe_service

            t0 = time.monotonic()
            dns = probe_dns(path.domain, names_to_resolve(snap, path), timeout_s=probe_timeout / 2,
                            enabled=not no_probe)
            left = max(0.1, probe_timeout - (time.monotonic() - t0))
            return {"dns": dns, "service": probe_service(path.domain, settings, timeout_s=left, enabled=not no_probe)}

        target = Target(domain=spec.domain, cluster=spec.cluster, service=spec.service)
        for pb in playbooks:
            aws.calls = ApiCalls()
            result.reports.append(run(aws, target, pb, settings, probes=probes,
                                      suppressions=cfg.suppressions if cfg is not None else []))
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
    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")

    def one(spec: TargetSpec) -> TargetResult:
        r = audit_target(spec, playbooks, cfg, conn, fail_on=acfg.fail_on, no_probe=no_probe,
                         probe_timeout=probe_timeout)
        if progress:
            state = r.error or (f"{sum(len(x.failing_at_or_above(acfg.fail_on)) for x in r.reports)} failing "
                                f"at or above {acfg.fail_on}")
            progress(f"audited {spec.name} in {r.duration_s:.1f} s: {state}")
        return r

    with ThreadPoolExecutor(max_workers=min(concurrency, len(acfg.targets)),
                            thread_name_prefix="shine-ops-audit") as pool:
        return list(pool.map(one, acfg.targets))  # in configuration order
