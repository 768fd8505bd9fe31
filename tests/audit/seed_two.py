"""A small boto3 seeder for audit tests: one healthy-or-broken service per region, behind its own ALB.

Same moto workarounds as tests/e2e/plain_seed.py (MOTO_ECS_SERVICE_RUNNING, container memory, an imported
certificate). ``broken=True`` opens the task security group on tcp/5000 instead of the container's 8000, so
exactly one check fails: ``sg.alb-to-task-ingress`` (critical). ``repair`` fixes it in place.
"""

from __future__ import annotations

import os

import boto3

from shine_ops.sandbox.seed import self_signed_cert

ZONE = "audit.example.test"


def _kw(endpoint: str, region: str) -> dict:
    return dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
                aws_secret_access_key="testing")


def seed_service(endpoint: str, *, region: str, name: str, broken: bool) -> dict:
    """Seed ``name`` (cluster ``name``-cluster, domain ``name``.audit.example.test) in ``region``."""
    kw = _kw(endpoint, region)
    ec2, elb, ecs = boto3.client("ec2", **kw), boto3.client("elbv2", **kw), boto3.client("ecs", **kw)
    r53, acm = boto3.client("route53", **kw), boto3.client("acm", **kw)
    domain = f"{name}.{ZONE}"
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subs = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i * 16}.0/20", AvailabilityZone=f"{region}{az}")
            ["Subnet"]["SubnetId"] for i, az in enumerate("ab")]
    alb_sg = ec2.create_security_group(GroupName=f"{name}-alb", Description="alb", VpcId=vpc)["GroupId"]
    task_sg = ec2.create_security_group(GroupName=f"{name}-task", Description="task", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]} for p in (80, 443)])
    port = 5000 if broken else 8000
    ec2.authorize_security_group_ingress(GroupId=task_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": alb_sg}]}])
    cert, key = self_signed_cert(domain, [])
    cert_arn = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    tg = elb.create_target_group(Name=f"{name}-tg", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip",
                                 HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    lb = elb.create_load_balancer(Name=f"{name}-alb", Subnets=subs, SecurityGroups=[alb_sg])["LoadBalancers"][0]
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                        Certificates=[{"CertificateArn": cert_arn}],
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                                               "StatusCode": "HTTP_301"}}])
    cluster = f"{name}-cluster"
    ecs.create_cluster(clusterName=cluster)
    td = ecs.register_task_definition(
        family=name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
        containerDefinitions=[{"name": name, "image": f"{name}:1", "memory": 1024, "essential": True,
                               "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
                               "environment": [{"name": "PORT", "value": "8000"}]}])["taskDefinition"]["taskDefinitionArn"]
    net = {"awsvpcConfiguration": {"subnets": subs, "securityGroups": [task_sg], "assignPublicIp": "DISABLED"}}
    old = os.environ.get("MOTO_ECS_SERVICE_RUNNING")
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = "1"
    try:
        ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=1, launchType="FARGATE",
                           networkConfiguration=net,
                           loadBalancers=[{"targetGroupArn": tg, "containerName": name, "containerPort": 8000}])
    finally:
        if old is None:
            os.environ.pop("MOTO_ECS_SERVICE_RUNNING", None)
        else:
            os.environ["MOTO_ECS_SERVICE_RUNNING"] = old
    ecs.update_service(cluster=cluster, service=name, healthCheckGracePeriodSeconds=120)
    task = ecs.run_task(cluster=cluster, taskDefinition=td, count=1, launchType="FARGATE", group=f"service:{name}",
                        networkConfiguration=net)["tasks"][0]
    ip = next(d["value"] for a in task["attachments"] for d in a["details"] if d["name"] == "privateIPv4Address")
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": ip, "Port": 8000}])
    zones = [z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"] == ZONE + "."]
    zone = zones[0]["Id"] if zones else r53.create_hosted_zone(Name=ZONE, CallerReference=f"audit-{name}")["HostedZone"]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": domain, "Type": "A", "AliasTarget": {"HostedZoneId": lb["CanonicalHostedZoneId"],
                                                     "DNSName": "dualstack." + lb["DNSName"] + ".",
                                                     "EvaluateTargetHealth": True}}}]})
    return {"domain": domain, "cluster": cluster, "service": name, "region": region, "alb_sg": alb_sg,
            "task_sg": task_sg, "vpc": vpc}


def repair(endpoint: str, seeded: dict) -> None:
    """Open the task security group on the container port (what `fix alb-ecs` would do)."""
    ec2 = boto3.client("ec2", **_kw(endpoint, seeded["region"]))
    ec2.authorize_security_group_ingress(GroupId=seeded["task_sg"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": seeded["alb_sg"]}]}])
    ec2.revoke_security_group_ingress(GroupId=seeded["task_sg"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 5000, "UserIdGroupPairs": [{"GroupId": seeded["alb_sg"]}]}])
