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

ProfileOpt = typer.Option(None, "--profile", metavar="PROFILE",
                          help="AWS profile (else AWS_PROFILE / the default chain).")
RegionOpt = typer.Option(None, "--region", metavar="REGION",
                         help="AWS region (else AWS_REGION / AWS_DEFAULT_REGION / the profile).")
EndpointOpt = typer.Option(None, "--endpoint-url", metavar="URL",
                           help="AWS-compatible endpoint (else AWS_ENDPOINT_URL*).")
SandboxOpt = typer.Option(False, "--sandbox", help="Talk only to the embedded sandbox (started if needed); "
                                                   "ignores AWS_PROFILE and AWS_ENDPOINT_URL*.")
ConfigOpt = typer.Option(None, "--config", metavar="FILE", help="Project file (default: ./shine-ops.yaml if present).")
DomainOpt = typer.Option(None, "--domain", metavar="DOMAIN", help="The service's domain, e.g. api.example.com.")
ClusterOpt = typer.Option(None, "--cluster", metavar="CLUSTER", help="ECS cluster name or ARN.")
ServiceOpt = typer.Option(None, "--service", metavar="SERVICE", help="ECS service name.")

# What an option's value is, in ``--help``: typer's own default shows the Python type (``<str>``, ``<list[str]>``).
METAVARS = {
    "--playbook": "NAME|FILE", "--scenario": "NAME|FILE", "--output": "FILE", "--plan": "FILE", "--plan-out": "FILE",
    "--format": "FORMAT", "--fail-on": "SEVERITY", "--checks-dir": "DIR", "--out-dir": "DIR", "--out": "DIR",
    "--only": "FIX_ID", "--check": "CHECK_ID", "--expect-account": "ACCOUNT_ID", "--notify-webhook": "URL",
    "--origin": "ORIGIN", "--host": "HOST", "--image": "IMAGE_URI", "--model-uri": "URI", "--env": "KEY=VALUE",
    "--steps": "PERCENTS", "--symptom": "SYMPTOM", "--strategy": "STRATEGY", "--mode": "MODE", "--kind": "KIND",
    "--memory": "MIB", "--cpu": "UNITS", "--limit": "N", "--concurrency": "N",
}


def readable_metavars(app: Any) -> None:
    """Give every option and argument of ``app`` (and its sub-apps) that names no metavar a readable one: from
    ``METAVARS``, else SECONDS for a time, N for a count, else the option's name in capitals (DOMAIN, CHANGE_ID).
    Flags keep none. Runs once, when the CLI registers its commands (it only sets attributes)."""
    import inspect

    from typer.models import ArgumentInfo, OptionInfo

    def fill(callback: Any) -> None:
        if callback is None:
            return
        for name, param in inspect.signature(callback).parameters.items():
            info = param.default
            if not isinstance(info, (OptionInfo, ArgumentInfo)) or info.metavar is not None:
                continue
            if isinstance(info.default, bool):
                continue  # a flag takes no value
            if isinstance(info, ArgumentInfo):
                continue  # arguments: their name in capitals (_arguments_without_python_types)
            long = next((d for d in info.param_decls or () if d.startswith("--")), "--" + name.replace("_", "-"))
            if long in METAVARS:
                info.metavar = METAVARS[long]
            elif isinstance(info.default, float) or "timeout" in long or "deadline" in long:
                info.metavar = "SECONDS"
            elif isinstance(info.default, int):
                info.metavar = "N"
            else:
                info.metavar = long[2:].upper().replace("-", "_")

    _arguments_without_python_types()

    def walk(typer_app: Any) -> None:
        fill(getattr(typer_app.registered_callback, "callback", None))
        for cmd in typer_app.registered_commands:
            fill(cmd.callback)
        for group in typer_app.registered_groups:
            if group.typer_instance is not None:
                walk(group.typer_instance)

    walk(app)


def say(message: str) -> None:
    """Progress and notes go to stderr, so stdout can hold a JSON document and nothing else."""
    typer.echo(message, err=True)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ShineOpsError into one line on stderr and its documented exit code; never a traceback."""

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


from shine_ops.config import settings_from  # noqa: E402,F401  (the CLI's name for it)


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


def _arguments_without_python_types() -> None:
    """typer lists an argument as ``name <str>`` (``{name}`` in the usage line): the name in capitals says what
    to give (CHANGE_ID, FILES), as for options, without the Python type."""
    from typer.core import TyperArgument

    if getattr(TyperArgument, "_shine_ops_readable", False) or not hasattr(TyperArgument, "display_type_rich"):
        return
    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign,assignment]
    TyperArgument.display_name_raw = property(  # type: ignore[assignment]
        lambda self: self.metavar if self.metavar is not None else (self.name or "").upper())
    TyperArgument._shine_ops_readable = True  # type: ignore[attr-defined]
