"""A plain boto3 script that seeds the Shine incident into any moto server, without shine-ops' seeder.

It uses only moto's documented workarounds (docs.getmoto.org, ECS): MOTO_ECS_SERVICE_RUNNING before
create_service, container-level memory + securityGroups + EnableDnsHostnames for run_task, and an
imported (so ISSUED) certificate. ``repaired=True`` seeds the same system with the four faults fixed.
"""

from __future__ import annotations

import os

import boto3

from shine_ops.sandbox.seed import self_signed_cert

DOMAIN = "api.shineskincollective.com"
# What the Shine team declares about its app in shine-ops.yaml (the account alone does not say that /api/*
# belongs to the service: without it, a request for /api/* going astray is not evidence of a fault).
TEAM_DECLARATIONS = "service_paths: [/health, /api/*]\nhealth_path: /health\n"


def team_project(folder) -> str:
    """A project folder whose shine-ops.yaml holds the team's declarations; run the CLI there."""
    from pathlib import Path

    (Path(folder) / "shine-ops.yaml").write_text(TEAM_DECLARATIONS)
    return str(folder)


def seed_incident(endpoint: str, *, repaired: bool = False, decoys: int = 2) -> dict:
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    ec2, elb, ecs = boto3.client("ec2", **kw), boto3.client("elbv2", **kw), boto3.client("ecs", **kw)
    r53, acm = boto3.client("route53", **kw), boto3.client("acm", **kw)

    vpc = ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    sub_a = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.0.0/20", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    sub_b = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.16.0/20", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    alb_sg = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    ecs_sg = ec2.create_security_group(GroupName="ecs", Description="ecs", VpcId=vpc)["GroupId"]
    eb_sg = ec2.create_security_group(GroupName="eb", Description="eb", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]} for p in (80, 443)])
    ingress_port = 8000 if repaired else 5000
    ec2.authorize_security_group_ingress(GroupId=ecs_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": ingress_port, "ToPort": ingress_port, "UserIdGroupPairs": [{"GroupId": alb_sg}]}])

    cert, key = self_signed_cert(DOMAIN, [])
    cert_arn = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]

    def tg(name: str, port: int) -> str:
        return elb.create_target_group(Name=name, Protocol="HTTP", Port=port, VpcId=vpc, TargetType="ip",
                                       HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]

    svc_tg = tg("shine-api-tg-8000-fixed" if repaired else "shine-api-tg-fixed", 8000 if repaired else 5000)
    legacy_tg = tg("production-shine-api-gateway-tg", 8080)
    ml_tg = tg("production-shine-ml-service-tg", 5000)
    eb_tg = tg("shine-api-tg-eb-8000", 8000)

    prod = elb.create_load_balancer(Name="production-shine-skincare-alb", Subnets=[sub_a, sub_b],
                                    SecurityGroups=[alb_sg])["LoadBalancers"][0]
    eb = elb.create_load_balancer(Name="awseb--AWSEB-ydAUJ3jj2fwA", Subnets=[sub_a, sub_b],
                                  SecurityGroups=[eb_sg])["LoadBalancers"][0]
    https = elb.create_listener(LoadBalancerArn=prod["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                                Certificates=[{"CertificateArn": cert_arn}],
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": svc_tg if repaired else legacy_tg}]
                                )["Listeners"][0]["ListenerArn"]
    elb.create_listener(LoadBalancerArn=prod["LoadBalancerArn"], Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                                               "StatusCode": "HTTP_301"}}])
    elb.create_rule(ListenerArn=https, Priority=100, Actions=[{"Type": "forward", "TargetGroupArn": ml_tg}],
                    Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/ml/*"]}}])
    elb.create_rule(ListenerArn=https, Priority=200, Actions=[{"Type": "forward", "TargetGroupArn": svc_tg}],
                    Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/health"]}}])
    elb.create_listener(LoadBalancerArn=eb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": eb_tg}])
    decoy_lbs = []
    for i in range(decoys):  # other teams' load balancers with no ECS service behind them
        d = elb.create_load_balancer(Name=f"decoy-{i}", Subnets=[sub_a, sub_b], SecurityGroups=[eb_sg])["LoadBalancers"][0]
        elb.create_listener(LoadBalancerArn=d["LoadBalancerArn"], Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg(f"decoy-tg-{i}", 80)}])
        decoy_lbs.append(d)

    ecs.create_cluster(clusterName="production-shine-cluster")
    td = ecs.register_task_definition(
        family="shine-api-gateway", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="1024",
        memory="2048", containerDefinitions=[{
            "name": "shine-api-gateway", "image": "shine-api-gateway:hare-run-v6", "memory": 2048, "essential": True,
            "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
            "environment": [{"name": "PORT", "value": "8000"}]}])["taskDefinition"]["taskDefinitionArn"]
    net = {"awsvpcConfiguration": {"subnets": [sub_a, sub_b], "securityGroups": [ecs_sg], "assignPublicIp": "DISABLED"}}
    old = os.environ.get("MOTO_ECS_SERVICE_RUNNING")
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = "1"  # the server runs in this process (ThreadedMotoServer)
    try:
        ecs.create_service(cluster="production-shine-cluster", serviceName="shine-api-gateway", taskDefinition=td,
                           desiredCount=1, launchType="FARGATE", networkConfiguration=net,
                           loadBalancers=[{"targetGroupArn": svc_tg, "containerName": "shine-api-gateway",
                                           "containerPort": 8000}])
    finally:
        if old is None:
            os.environ.pop("MOTO_ECS_SERVICE_RUNNING", None)
        else:
            os.environ["MOTO_ECS_SERVICE_RUNNING"] = old
    # the grace period is not one of the four faults (moto keeps it from update_service, not create_service)
    ecs.update_service(cluster="production-shine-cluster", service="shine-api-gateway", healthCheckGracePeriodSeconds=120)
    task = ecs.run_task(cluster="production-shine-cluster", taskDefinition=td, count=1, launchType="FARGATE",
                        group="service:shine-api-gateway", networkConfiguration=net)["tasks"][0]
    ip = next(d["value"] for a in task["attachments"] for d in a["details"] if d["name"] == "privateIPv4Address")
    elb.register_targets(TargetGroupArn=svc_tg, Targets=[{"Id": ip, "Port": 8000}])

    zone = r53.create_hosted_zone(Name="shineskincollective.com", CallerReference="plain-seed")["HostedZone"]["Id"]
    target = prod if repaired else eb
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": DOMAIN, "Type": "A", "AliasTarget": {"HostedZoneId": target["CanonicalHostedZoneId"],
                                                     "DNSName": "dualstack." + target["DNSName"] + ".",
                                                     "EvaluateTargetHealth": True}}}]})
    return {"vpc": vpc, "alb_sg": alb_sg, "ecs_sg": ecs_sg, "svc_tg": svc_tg, "legacy_tg": legacy_tg,
            "prod": prod["LoadBalancerArn"], "eb": eb["LoadBalancerArn"], "https": https, "zone": zone}
