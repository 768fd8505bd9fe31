"""What every AWS-facing command shares: connection options, the target, the sandbox, error handling.

Nothing heavy is imported at module level (boto3/botocore load inside ``Aws`` on first use).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from shine_ops.errors import ShineOpsError, UsageError

ProfileOpt = typer.Option(None, "--profile", help="AWS profile (else AWS_PROFILE / the default chain).")
RegionOpt = typer.Option(None, "--region", help="AWS region (else AWS_REGION / AWS_DEFAULT_REGION / the profile).")
EndpointOpt = typer.Option(None, "--endpoint-url", help="AWS-compatible endpoint (else AWS_ENDPOINT_URL*).")
SandboxOpt = typer.Option(False, "--sandbox", help="Talk only to the embedded sandbox (started if needed); "
                                                   "ignores AWS_PROFILE and AWS_ENDPOINT_URL*.")
ConfigOpt = typer.Option(None, "--config", help="Project file (default: ./shine-ops.yaml if present).")
DomainOpt = typer.Option(None, "--domain", help="The service's domain, e.g. api.example.com.")
ClusterOpt = typer.Option(None, "--cluster", help="ECS cluster name or ARN.")
ServiceOpt = typer.Option(None, "--service", help="ECS service name.")


def say(message: str) -> None:
    """Progress and notes go to stderr, so stdout can hold a JSON document and nothing else."""
    typer.echo(message, err=True)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ShineOpsError into one line on stderr and the contract's exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ShineOpsError as err:
            typer.echo(f"shine-ops: {err}", err=True)
            raise typer.Exit(err.exit_code) from None

    return wrapper


def connect(*, profile: Optional[str], region: Optional[str], endpoint_url: Optional[str], sandbox: bool,
            config: Any = None) -> tuple[Any, Optional[dict]]:
    """An ``Aws`` for the chosen account or the sandbox, and the sandbox's state when in sandbox mode."""
    from shine_ops.aws import Aws, ConnectionOptions

    if sandbox:
        if profile or endpoint_url:
            raise UsageError("--sandbox cannot be combined with --profile or --endpoint-url")
        from shine_ops.sandbox import control

        st = control.ensure_running(say)
        return Aws(ConnectionOptions(sandbox=True, endpoint_url=st["endpoint"], region=st.get("region"))), st
    cfg = config.data if config is not None else {}
    return Aws(ConnectionOptions(profile=profile or cfg.get("profile"), region=region or cfg.get("region"),
                                 endpoint_url=endpoint_url or cfg.get("endpoint_url"))), None


def target_from(domain: Optional[str], cluster: Optional[str], service: Optional[str], config: Any,
                sandbox_state: Optional[dict]) -> Any:
    from shine_ops.topology.collect import Target

    cfg = config.data if config is not None else {}
    given = any((domain, cluster, service))
    d = domain if given else (cfg.get("domain") or (cfg.get("declared") or {}).get("domain"))
    c = cluster if given else cfg.get("cluster")
    s = service if given else cfg.get("service")
    if not any((d, c, s)) and sandbox_state:
        t = sandbox_state.get("target") or {}
        d, c, s = t.get("domain"), t.get("cluster"), t.get("service")
    return Target(domain=d, cluster=c, service=s)


def settings_from(config: Any, sandbox_state: Optional[dict] = None) -> Any:
    from shine_ops.evaluators import Settings

    cfg = dict((sandbox_state or {}).get("target") or {})  # the scenario's expectations, then the file's
    cfg.update(config.data if config is not None else {})
    defaults = Settings()
    return Settings(health_path=cfg.get("health_path", defaults.health_path),
                    service_paths=list(cfg.get("service_paths", defaults.service_paths)),
                    startup_budget_s=cfg.get("startup_budget_s", defaults.startup_budget_s),
                    latency_budget_s=cfg.get("latency_budget_s", defaults.latency_budget_s),
                    frontend_origins=list(cfg.get("frontend_origins", defaults.frontend_origins)),
                    serves_reference_api=bool(cfg.get("serves_reference_api", defaults.serves_reference_api)),
                    declared=dict(cfg.get("declared") or {}))


def checks_dirs(cli_dirs: Optional[list[str]], config: Any) -> list[str]:
    dirs = list(cli_dirs or [])
    cfg_dirs = (config.data if config is not None else {}).get("checks_dir") or []
    if isinstance(cfg_dirs, str):
        cfg_dirs = [cfg_dirs]
    base = Path(config.path).parent if config is not None and config.path else Path(".")
    dirs += [str(base / d) for d in cfg_dirs]
    return dirs


def choice(value: str, allowed: tuple[str, ...] | list[str], option: str) -> str:
    if value not in allowed:
        raise UsageError(f"{option} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def write_output(text: str, output: Optional[str]) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
        say(f"wrote {output}")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
