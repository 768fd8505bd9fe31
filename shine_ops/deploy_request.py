"""A deploy request, checked, and the one call that carries it out: preflight against the would-be revision,
then the chosen strategy (rolling or blue-green), or ``--finalize`` of a landed blue-green deploy.

``shine-ops deploy`` parses its options into a ``DeployRequest`` (every option error is raised here, before
any AWS call), calls ``run_deploy`` and renders what comes back. What the command shows and asks while the
deploy runs goes through ``DeployHooks``, so this module neither prints nor reads a terminal. Both strategies
are called with one shape: the same ``Gates`` (smoke tests through the domain, and straight against a target
group) and the same ``watch`` callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.errors import UsageError

STRATEGIES = ("rolling", "blue-green")
DEFAULT_STEPS = "10,50,100"


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy where, and how: the requested changes to the service's task definition revision."""

    cluster: str
    service: str
    image: str | None = None
    changes: dict[str, str] = field(default_factory=dict)  # environment: --env K=V, --model-uri as MODEL_URI
    cpu: str | None = None
    memory: str | None = None
    strategy: str = "rolling"
    steps: tuple[int, ...] = (10, 50, 100)  # blue-green: green's share of the traffic at each step
    finalize: bool = False
    deadline_s: float = 300.0
    probe_timeout_s: float = 10.0

    @classmethod
    def from_options(cls, *, cluster: str, service: str, image: str | None = None, model_uri: str | None = None,
                     env: list[str] | None = None, cpu: str | None = None, memory: str | None = None,
                     strategy: str = "rolling", steps: str = DEFAULT_STEPS, finalize: bool = False,
                     deadline: float = 300.0, probe_timeout: float = 10.0) -> "DeployRequest":
        """The request the command line describes; a ``UsageError`` (exit 2) names the first bad option."""
        if strategy not in STRATEGIES:
            raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        step_list = parse_steps(steps)
        changes = parse_env(env or [])
        if model_uri:
            changes["MODEL_URI"] = model_uri
        if finalize and (image or changes or cpu or memory):
            raise UsageError("--finalize takes no changes", hint="finalize first, then deploy the next revision")
        if not finalize and not (image or changes or cpu or memory):
            raise UsageError("nothing to deploy", hint="give --image, --model-uri, --env, --cpu or --memory")
        return cls(cluster=cluster, service=service, image=image, changes=changes, cpu=cpu, memory=memory,
                   strategy=strategy, steps=step_list, finalize=finalize, deadline_s=deadline,
                   probe_timeout_s=probe_timeout)

    def describe_changes(self) -> str:
        """``image repo/api:v7, MODEL_URI=s3://..., cpu 512``: what the new revision changes."""
        return ", ".join([f"image {self.image}"] * bool(self.image) + [f"{k}={v}" for k, v in self.changes.items()]
                         + [f"cpu {self.cpu}"] * bool(self.cpu) + [f"memory {self.memory}"] * bool(self.memory))


def parse_steps(text: str) -> tuple[int, ...]:
    """``10,50,100`` -> (10, 50, 100): increasing percentages in 1..100 ending at 100."""
    try:
        steps = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--steps takes percentages like 10,50,100, not {text!r}") from None
    if not steps or steps[-1] != 100 or any(not 0 < x <= 100 for x in steps) or list(steps) != sorted(set(steps)):
        raise UsageError(f"--steps must increase within 1..100 and end at 100, not {text!r}")
    return steps


def parse_env(items: list[str]) -> dict[str, str]:
    """``["K=V", "X="]`` -> ``{"K": "V", "X": ""}``; an item without ``=`` or a key is an error."""
    changes: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env takes K=V, not {item!r}")
        changes[key] = value
    return changes


@dataclass
class Preflight:
    """The deploy-sensitive checks judged on the would-be revision, before anything changes."""

    report: Any  # the snail-trail diagnosis of the service
    new_td: dict  # RegisterTaskDefinition input of the would-be revision
    findings: list[Any]

    @property
    def service(self) -> Any:
        return self.report.request_path.service

    @property
    def current_revision(self) -> str:
        """``family:rev`` of the revision the service runs now."""
        return self.service.task_definition.split("/")[-1]

    @property
    def failing(self) -> list[Any]:
        return [f for f in self.findings if f.status == "fail"]


@dataclass
class DeployHooks:
    """How the deploy talks to the person running it (the command supplies these)."""

    say: Callable[[str], None]  # progress and notes
    confirm: Callable[[str], bool]  # a yes/no question; True to go on (``--yes`` answers it)
    preflight: Callable[[Preflight], None] = lambda _p: None  # shown before the question
    watch: Callable[[dict], None] | None = None  # each status of the rollout (either strategy's shape)
    # MODEL_URI ("" for the packaged model) -> (its model card, where it was looked for): the reader of a local
    # model's card, which knows the reference service (this layer does not)
    local_card: Callable[[str], tuple[dict | None, str]] | None = None


@dataclass
class DeployOutcome:
    """What happened: ``refused`` by preflight, ``declined`` at the question, ``finalized``, or ``deployed``
    (``result.status`` says landed or rolled back)."""

    status: str
    result: Any = None  # deploy.DeployResult for finalized and deployed
    preflight: Preflight | None = None

    @property
    def exit_code(self) -> int:
        if self.status in ("refused", "declined"):
            return 1
        return 0 if self.status == "finalized" else self.result.exit_code


def run_deploy(req: DeployRequest, *, aws: Any, config: Any, settings: Any, sandbox_state: dict | None,
               hooks: DeployHooks) -> DeployOutcome:
    """Carry out ``req``: finalize, or preflight -> question -> the strategy, journaled where ``config`` keeps
    the state (the journal's lock is held for the rollout only)."""
    if req.finalize:
        return _finalize(req, aws=aws, config=config, hooks=hooks)
    pre = preflight_request(req, aws=aws, settings=settings, local_card=hooks.local_card)
    hooks.preflight(pre)
    if pre.failing:
        return DeployOutcome("refused", preflight=pre)
    if not hooks.confirm(f"deploy to {pre.service.key}?"):
        return DeployOutcome("declined", preflight=pre)
    domain = pre.report.request_path.domain
    if not domain:
        hooks.say(f"no DNS record leads to {pre.service.key}: the smoke gates through the domain will be skipped")
    gates = smoke_gates(domain, settings, sandbox_state, req.probe_timeout_s)
    result = _journaled(aws, config, lambda journal, who: STRATEGY_RUNNERS[req.strategy](
        aws, journal, who, req, pre, gates, hooks))
    return DeployOutcome("deployed", result=result, preflight=pre)


def preflight_request(req: DeployRequest, *, aws: Any, settings: Any,
                      local_card: Callable[[str], tuple[dict | None, str]] | None = None) -> Preflight:
    """Diagnose the service (snail-trail, every area) and judge the would-be revision; no change is made."""
    from shine_ops.deploy import preflight, would_be
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.topology.collect import AREAS, Target

    catalogue = load_catalogue()
    report = run(aws, Target(cluster=req.cluster, service=req.service), catalogue.load_playbook("snail-trail"),
                 settings, areas=set(AREAS))
    svc = report.request_path.service
    if svc is None:
        raise UsageError(f"service {req.cluster}/{req.service} not found")
    current = report.snapshot.task_definitions[svc.task_definition].raw
    new_td = would_be(current, svc, image=req.image, env=dict(req.changes), cpu=req.cpu, memory=req.memory)
    card = {"local_card": local_card} if local_card is not None else {}
    return Preflight(report=report, new_td=new_td,
                     findings=preflight(catalogue, report, settings, new_td, aws=aws, **card))


def smoke_gates(domain: str | None, settings: Any, sandbox_state: dict | None, probe_timeout_s: float) -> Any:
    """The gates of both strategies: the smoke tests through the domain, and straight against a target group's
    targets (blue-green's green before it takes traffic)."""
    from shine_ops.deploy_bluegreen import Gates, direct_smoke

    def through_domain() -> list:
        from shine_ops.engine.finding import Finding
        from shine_ops.probes.service import probe_service

        outs = probe_service(domain, settings, timeout_s=probe_timeout_s, sandbox_state=sandbox_state)
        return [Finding.from_outcome(c, c, "high", o) for c, o in outs.items()]

    def direct(tg_arn: str, targets: list) -> list:
        return direct_smoke(domain, settings, sandbox_state, tg_arn, targets, probe_timeout_s)

    return Gates(domain=through_domain, direct=direct)


def _rolling(aws: Any, journal: Any, who: str | None, req: DeployRequest, pre: Preflight, gates: Any,
             hooks: DeployHooks) -> Any:
    from shine_ops.deploy import roll_out

    return roll_out(aws, journal, who=who, report=pre.report, new_td=pre.new_td, gates=gates.domain, say=hooks.say,
                    deadline_s=req.deadline_s, watch=hooks.watch)


def _blue_green(aws: Any, journal: Any, who: str | None, req: DeployRequest, pre: Preflight, gates: Any,
                hooks: DeployHooks) -> Any:
    from shine_ops.deploy_bluegreen import blue_green

    return blue_green(aws, journal, who=who, report=pre.report, new_td=pre.new_td, gates=gates, say=hooks.say,
                      steps=req.steps, deadline_s=req.deadline_s, watch=hooks.watch)


# one shape for every strategy: (aws, journal, who, request, preflight, gates, hooks) -> DeployResult
STRATEGY_RUNNERS: dict[str, Callable[..., Any]] = {"rolling": _rolling, "blue-green": _blue_green}


def _finalize(req: DeployRequest, *, aws: Any, config: Any, hooks: DeployHooks) -> DeployOutcome:
    """``--finalize``: green alone behind the listeners, blue deleted; journaled."""
    from shine_ops.deploy_bluegreen import finalize

    if not hooks.confirm(f"finalize the blue-green deploy of {req.cluster}/{req.service}?"):
        return DeployOutcome("declined")
    result = _journaled(aws, config, lambda journal, who: finalize(
        aws, journal, who=who, cluster=req.cluster, service=req.service, say=hooks.say))
    return DeployOutcome("finalized", result=result)


def _journaled(aws: Any, config: Any, work: Callable[[Any, str | None], Any]) -> Any:
    """Run ``work(journal, who)`` with the journal open and locked, closed whatever happens."""
    from shine_ops.fixes.journal import store_for

    who = aws.identity().get("Arn")
    store = store_for(config, aws, who)
    journal = store.open(lock=True)
    try:
        return work(journal, who)
    finally:
        store.close()
