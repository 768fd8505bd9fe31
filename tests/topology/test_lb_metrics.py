"""The ``lb_metrics`` area: CloudWatch's ELB 504s and response times of each path load balancer, read with one
GetMetricData call each; optional evidence whose failure is kept on the entry, never ends the run."""

from __future__ import annotations

import datetime as dt

import boto3

from shine_ops.errors import AwsCallError
from shine_ops.topology.collect import PERMISSIONS, Collector, Target
from shine_ops.topology.metrics import LbMetrics, MetricQuery, idle_timeout_evidence, lb_dimension, read_lb_metrics
from tests.topology.test_collect_path import CLUSTER, Account

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/prod/abc123"


def _put(lb_arn: str, **values: float) -> None:
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    dim = [{"Name": "LoadBalancer", "Value": lb_dimension(lb_arn)}]
    cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[
        {"MetricName": name, "Dimensions": dim, "Value": v, "Unit": "Seconds" if name.endswith("Time") else "Count"}
        for name, v in values.items()])


def test_dimension_is_the_arn_after_loadbalancer():
    assert lb_dimension(ARN) == "app/prod/abc123"


def test_evidence_reads_504s_and_the_slowest_response_in_one_call(aws):
    _put(ARN, HTTPCode_ELB_504_Count=37, TargetResponseTime=14.8)
    _put(ARN, TargetResponseTime=3.0)
    m = idle_timeout_evidence(aws, ARN)
    assert (m.elb_504, m.response_max_s, m.responses, m.error) == (37, 14.8, 2, None)
    assert m.window_h == 3 and aws.calls.by_operation == {"cloudwatch.GetMetricData": 1}


def test_no_datapoint_saw_nothing(aws):
    m = idle_timeout_evidence(aws, ARN)
    assert m.saw_nothing and m.to_json() == {"window_h": 3.0, "period_s": 300}


class _Denied:
    def call(self, service, operation, **params):
        raise AwsCallError(f"{service}.{operation}", "AccessDenied", "not allowed",
                           iam_action="cloudwatch:GetMetricData")


def test_a_denied_read_is_kept_on_the_entry():
    m = idle_timeout_evidence(_Denied(), ARN)
    assert not m.saw_nothing and m.denied_action == "cloudwatch:GetMetricData" and "AccessDenied" in m.error


def test_read_lb_metrics_returns_each_query_oldest_first(aws):
    _put(ARN, HTTPCode_ELB_5XX_Count=5)
    now = dt.datetime.now(dt.timezone.utc)
    q5xx, qavg = MetricQuery("HTTPCode_ELB_5XX_Count", "Sum"), MetricQuery("TargetResponseTime", "Average")
    got = read_lb_metrics(aws, ARN, [q5xx, qavg], start=now - dt.timedelta(hours=1),
                          end=now + dt.timedelta(minutes=1), quick=True)
    assert [v for _, v in got[q5xx]] == [5.0] and got[qavg] == []


def test_collector_reads_metrics_of_the_path_load_balancers_and_declares_the_permission(aws, clients):
    acct = Account(clients)
    tg = acct.tg("api-tg")
    lb = acct.alb_to("api-alb", tg)
    acct.service("api", [tg])
    _put(lb["arn"], HTTPCode_ELB_504_Count=2, TargetResponseTime=59.5)
    snap, _ = Collector(aws).collect(Target(cluster=CLUSTER, service="api"))
    m = snap.lb_metrics[lb["arn"]]
    assert isinstance(m, LbMetrics) and (m.elb_504, m.response_max_s) == (2, 59.5)
    assert aws.calls.by_operation["cloudwatch.GetMetricData"] == 1
    assert "lb_metrics" not in snap.errors
    assert PERMISSIONS["lb_metrics"] == ["cloudwatch:GetMetricData"]
    snap, _ = Collector(aws, areas={"elbv2", "ecs"}).collect(Target(cluster=CLUSTER, service="api"))
    assert snap.lb_metrics == {}  # not asked for: not read
