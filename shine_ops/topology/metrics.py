"""Load-balancer metrics from CloudWatch: one ``GetMetricData`` call per load balancer, shared by the collector
(the idle-timeout evidence of ``alb.idle-timeout-covers-latency``) and by triage (the last hour of 5xx counts).

Why ``HTTPCode_ELB_504_Count`` beside ``TargetResponseTime``: an application load balancer answers 504 itself
when a target does not accept a connection or does not answer within the idle timeout, and a request it cuts
at the idle timeout is *not* recorded in ``TargetResponseTime`` above it. So 504s together with a slowest
recorded response that reaches close to the timeout say the timeout cuts slow requests; 504s with every
response far below it come from elsewhere (connections the targets never accepted).

Reading metrics is optional context: a denied or failing call is recorded on the result (``error``), never
raised, so the checks say what they could not read instead of ending the run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from shine_ops.errors import AwsCallError, ShineOpsError

NAMESPACE = "AWS/ApplicationELB"
IAM_ACTION = "cloudwatch:GetMetricData"
WINDOW = dt.timedelta(hours=3)  # recent enough to be about today's configuration, long enough to see traffic
PERIOD_S = 300


@dataclass(frozen=True)
class MetricQuery:
    """One metric of the load balancer and the statistic to read (``Sum``, ``Maximum``, ``SampleCount``...)."""

    metric: str
    stat: str


def lb_dimension(lb_arn: str) -> str:
    """CloudWatch's ``LoadBalancer`` dimension: the part of the ARN after ``loadbalancer/`` (``app/name/id``)."""
    return lb_arn.split("loadbalancer/", 1)[-1]


def read_lb_metrics(aws: Any, lb_arn: str, queries: list[MetricQuery], *, start: dt.datetime, end: dt.datetime,
                    period_s: int = PERIOD_S, quick: bool = False) -> dict[MetricQuery, list[tuple[dt.datetime, float]]]:
    """Every query's datapoints (oldest first) in one ``GetMetricData`` call (more only when CloudWatch pages).

    ``quick``: two attempts only, for context that must not hold a run up (triage). Raises ``AwsCallError``."""
    call = aws.call_quick if quick else aws.call
    dim = [{"Name": "LoadBalancer", "Value": lb_dimension(lb_arn)}]
    ids = {f"m{i}": q for i, q in enumerate(queries)}
    params: dict[str, Any] = {
        "MetricDataQueries": [{"Id": i, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": q.metric, "Dimensions": dim},
            "Period": period_s, "Stat": q.stat}} for i, q in ids.items()],
        "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"}
    out: dict[MetricQuery, list[tuple[dt.datetime, float]]] = {q: [] for q in queries}
    while True:
        resp = call("cloudwatch", "GetMetricData", **params)
        for res in resp.get("MetricDataResults", []):
            q = ids.get(res.get("Id", ""))
            if q is not None:
                out[q] += [(t, float(v)) for t, v in zip(res.get("Timestamps", []), res.get("Values", []))
                           if v is not None]
        if not resp.get("NextToken"):
            break
        params["NextToken"] = resp["NextToken"]
    return {q: sorted(points, key=lambda p: p[0]) for q, points in out.items()}


ELB_504 = MetricQuery("HTTPCode_ELB_504_Count", "Sum")
RESPONSE_MAX = MetricQuery("TargetResponseTime", "Maximum")
RESPONSES = MetricQuery("TargetResponseTime", "SampleCount")  # requests a target answered


@dataclass
class LbMetrics:
    """What CloudWatch recorded for one load balancer over the recent window: the idle-timeout evidence.

    ``None`` values mean no datapoint (CloudWatch writes none for a count that stayed 0, nor without traffic;
    moto records nothing on its own). ``error`` says why they could not be read."""

    window_h: float
    period_s: int
    elb_504: float | None = None  # requests the load balancer answered with its own 504
    response_max_s: float | None = None  # the slowest response a target gave (cut requests are not in it)
    responses: float | None = None  # how many requests targets answered
    error: str | None = None
    denied_action: str | None = None  # the IAM action to grant, when the read was denied

    @property
    def saw_nothing(self) -> bool:
        return self.error is None and self.elb_504 is None and self.responses is None and self.response_max_s is None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def idle_timeout_evidence(aws: Any, lb_arn: str, now: dt.datetime | None = None) -> LbMetrics:
    """ELB 504s and target response times of the last ``WINDOW`` for one load balancer (never raises)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    m = LbMetrics(window_h=WINDOW.total_seconds() / 3600, period_s=PERIOD_S)
    try:
        # a minute past now: the newest datapoint may carry this very second
        got = read_lb_metrics(aws, lb_arn, [ELB_504, RESPONSE_MAX, RESPONSES], start=now - WINDOW,
                              end=now + dt.timedelta(minutes=1))
    except AwsCallError as err:
        m.error = f"{err.operation} failed: {err.code}"
        m.denied_action = err.iam_action if err.access_denied else None
        return m
    except ShineOpsError as err:  # endpoint unreachable mid-run: optional evidence, say why it is missing
        m.error = str(err).splitlines()[0][:160]
        return m
    _fill(m, got)
    return m


MAX_QUERIES = 500  # GetMetricData's limit per call


def idle_timeout_evidence_many(aws: Any, lb_arns: list[str], now: dt.datetime | None = None) -> dict[str, LbMetrics]:
    """``idle_timeout_evidence`` of many load balancers, in one ``GetMetricData`` call per 500 queries (a shared
    account collection: the same evidence per load balancer, without one call each). Never raises: a failed call
    is recorded on every load balancer it was for."""
    now = now or dt.datetime.now(dt.timezone.utc)
    queries = [ELB_504, RESPONSE_MAX, RESPONSES]
    per_call = max(1, MAX_QUERIES // len(queries))
    out: dict[str, LbMetrics] = {}
    for i in range(0, len(lb_arns), per_call):
        chunk = lb_arns[i:i + per_call]
        got: dict[str, dict[MetricQuery, list[tuple[dt.datetime, float]]]] = {a: {q: [] for q in queries}
                                                                              for a in chunk}
        ids = {f"m{j}x{k}": (arn, q) for j, arn in enumerate(chunk) for k, q in enumerate(queries)}
        params: dict[str, Any] = {
            "MetricDataQueries": [{"Id": i_, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": q.metric,
                           "Dimensions": [{"Name": "LoadBalancer", "Value": lb_dimension(arn)}]},
                "Period": PERIOD_S, "Stat": q.stat}} for i_, (arn, q) in ids.items()],
            "StartTime": now - WINDOW, "EndTime": now + dt.timedelta(minutes=1), "ScanBy": "TimestampAscending"}
        error: tuple[str, str | None] | None = None
        try:
            while True:
                resp = aws.call("cloudwatch", "GetMetricData", **params)
                for res in resp.get("MetricDataResults", []):
                    hit = ids.get(res.get("Id", ""))
                    if hit is not None:
                        got[hit[0]][hit[1]] += [(t, float(v)) for t, v in zip(res.get("Timestamps", []),
                                                                               res.get("Values", [])) if v is not None]
                if not resp.get("NextToken"):
                    break
                params["NextToken"] = resp["NextToken"]
        except AwsCallError as err:
            error = (f"{err.operation} failed: {err.code}", err.iam_action if err.access_denied else None)
        except ShineOpsError as err:
            error = (str(err).splitlines()[0][:160], None)
        for arn in chunk:
            m = LbMetrics(window_h=WINDOW.total_seconds() / 3600, period_s=PERIOD_S)
            if error:
                m.error, m.denied_action = error
            else:
                _fill(m, got[arn])
            out[arn] = m
    return out


def _fill(m: LbMetrics, got: dict[MetricQuery, list[tuple[dt.datetime, float]]]) -> None:
    if got[ELB_504]:
        m.elb_504 = sum(v for _, v in got[ELB_504])
    if got[RESPONSE_MAX]:
        m.response_max_s = max(v for _, v in got[RESPONSE_MAX])
    if got[RESPONSES]:
        m.responses = sum(v for _, v in got[RESPONSES])
