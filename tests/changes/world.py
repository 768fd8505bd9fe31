"""What the change-runner tests share: a stand-in for kill -9, and a small ECS (and ALB) world in moto."""

from __future__ import annotations

from types import SimpleNamespace


class Died(BaseException):
    """Stands in for ``kill -9`` between a call and its journal row (the process would be gone)."""


class DieAfterCall:
    """Change faults that 'kill' the run right after call ``n``, as ``SHINE_OPS_KILL_AFTER_CALL`` does."""

    def __init__(self, n: int) -> None:
        self.n = n

    def before_call(self, made: int) -> None:
        pass

    def after_call(self, seq: int) -> None:
        if seq == self.n:
            raise Died()


def statuses(journal, apply_id: str) -> list[str]:
    return [r["status"] for r in journal.changes(apply_id)]


def ecs_service(aws, *, with_lb: bool = False) -> SimpleNamespace:
    """A cluster, a revision and a service (behind an ALB listener when ``with_lb``); returns what they are."""
    vpc = aws.call("ec2", "DescribeVpcs")["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in aws.call("ec2", "DescribeSubnets")["Subnets"]][:2]
    sg = aws.call("ec2", "DescribeSecurityGroups")["SecurityGroups"][0]["GroupId"]
    aws.call("ecs", "CreateCluster", clusterName="c")
    td = aws.call("ecs", "RegisterTaskDefinition", family="api", networkMode="awsvpc",
                  requiresCompatibilities=["FARGATE"], cpu="256", memory="512", containerDefinitions=[
                      {"name": "app", "image": "api:v1", "portMappings": [{"containerPort": 8000}]}])
    td_arn = td["taskDefinition"]["taskDefinitionArn"]
    out = SimpleNamespace(vpc=vpc, td_arn=td_arn, tg=None, listener=None)
    params = dict(cluster="c", serviceName="api", taskDefinition=td_arn, desiredCount=1, launchType="FARGATE",
                  networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}})
    if with_lb:
        lb = aws.call("elbv2", "CreateLoadBalancer", Name="alb", Subnets=subnets)["LoadBalancers"][0]
        out.tg = aws.call("elbv2", "CreateTargetGroup", Name="api-tg", Protocol="HTTP", Port=8000, VpcId=vpc,
                          TargetType="ip", HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
        out.listener = aws.call("elbv2", "CreateListener", LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP",
                                Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": out.tg}]
                                )["Listeners"][0]["ListenerArn"]
        params["loadBalancers"] = [{"targetGroupArn": out.tg, "containerName": "app", "containerPort": 8000}]
        params["healthCheckGracePeriodSeconds"] = 30
    aws.call("ecs", "CreateService", **params)
    svc = SimpleNamespace(cluster_name="c", name="api", key="c/api", task_definition=td_arn,
                          arn="arn:aws:ecs:us-east-1:123456789012:service/c/api")
    out.report = SimpleNamespace(request_path=SimpleNamespace(service=svc, domain=None),
                                 snapshot=SimpleNamespace(account="123456789012", region="us-east-1"))
    out.new_td = {"family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
                  "memory": "512", "containerDefinitions": [
                      {"name": "app", "image": "api:v2", "portMappings": [{"containerPort": 8000}]}]}
    return out


def service_td(aws) -> str:
    return aws.call("ecs", "DescribeServices", cluster="c", services=["api"])["services"][0]["taskDefinition"]
