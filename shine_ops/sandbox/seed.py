"""Seed a scenario into an AWS endpoint through the AWS API (nothing here touches moto's internals).

Anyone can use it against any AWS-compatible endpoint; the daemon adds its moto-specific scaffolding
(see ``shine_ops.sandbox``) around it through hooks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.aws import Aws
from shine_ops.errors import ConfigError


@dataclass
class Seeded:
    """Logical scenario names -> the ids AWS gave them."""

    vpc_id: str = ""
    subnets: dict[str, str] = field(default_factory=dict)
    security_groups: dict[str, str] = field(default_factory=dict)
    certificates: dict[str, str] = field(default_factory=dict)
    target_groups: dict[str, str] = field(default_factory=dict)
    load_balancers: dict[str, dict] = field(default_factory=dict)
    listeners: dict[str, str] = field(default_factory=dict)
    task_definitions: dict[str, str] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, list[str]] = field(default_factory=dict)
    # cluster/service -> [(task ARN, the scenario's stopped_tasks entry)]: tasks run then stopped with a reason
    stopped_tasks: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)


def self_signed_cert(domain: str, sans: list[str], valid_days: int = 365) -> tuple[bytes, bytes]:
    """A self-signed certificate (ISSUED once imported; ACM-requested ones stay PENDING_VALIDATION in moto)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in [domain, *sans]]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def _ip_permission(rule: dict, sgs: dict[str, str]) -> dict:
    proto = str(rule.get("protocol", "tcp"))
    perm: dict[str, Any] = {"IpProtocol": proto}
    if proto != "-1":
        perm["FromPort"] = int(rule.get("from_port", rule.get("port")))
        perm["ToPort"] = int(rule.get("to_port", rule.get("port")))
    if "cidr" in rule:
        perm["IpRanges"] = [{"CidrIp": rule["cidr"], "Description": rule.get("description", "seeded")}]
    if "source_group" in rule:
        perm["UserIdGroupPairs"] = [{"GroupId": sgs[rule["source_group"]]}]
    return perm


def _oidc(spec: Any) -> dict:
    """An authenticate-oidc action (Order 1) from ``authenticate_oidc: true`` or a mapping of its settings."""
    cfg = spec if isinstance(spec, dict) else {}
    issuer = str(cfg.get("issuer", "https://login.example.com"))
    return {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
        "Issuer": issuer, "AuthorizationEndpoint": str(cfg.get("authorization_endpoint", f"{issuer}/authorize")),
        "TokenEndpoint": str(cfg.get("token_endpoint", f"{issuer}/token")),
        "UserInfoEndpoint": str(cfg.get("user_info_endpoint", f"{issuer}/userinfo")),
        "ClientId": str(cfg.get("client_id", "shine-ops-sandbox")),
        "ClientSecret": str(cfg.get("client_secret", "sandbox-secret")),
        "OnUnauthenticatedRequest": str(cfg.get("on_unauthenticated", "authenticate"))}}


def _rule_conditions(rule: dict) -> list[dict]:
    """A scenario rule's conditions: ``paths``, ``hosts``, ``headers`` ({name: value or [values]}), ``query``
    (["key=value", "value"] or {key: value}), ``methods``, ``source_ips``."""
    conds = []
    if rule.get("paths"):
        conds.append({"Field": "path-pattern", "PathPatternConfig": {"Values": list(rule["paths"])}})
    if rule.get("hosts"):
        conds.append({"Field": "host-header", "HostHeaderConfig": {"Values": list(rule["hosts"])}})
    for name, vals in (rule.get("headers") or {}).items():
        conds.append({"Field": "http-header", "HttpHeaderConfig": {
            "HttpHeaderName": str(name), "Values": [str(v) for v in (vals if isinstance(vals, list) else [vals])]}})
    query = rule.get("query")
    if query:
        items = query.items() if isinstance(query, dict) else [
            tuple(q.split("=", 1)) if "=" in str(q) else (None, q) for q in query]
        conds.append({"Field": "query-string", "QueryStringConfig": {"Values": [
            {"Key": str(k), "Value": str(v)} if k else {"Value": str(v)} for k, v in items]}})
    if rule.get("methods"):
        conds.append({"Field": "http-request-method",
                      "HttpRequestMethodConfig": {"Values": [str(m) for m in rule["methods"]]}})
    if rule.get("source_ips"):
        conds.append({"Field": "source-ip", "SourceIpConfig": {"Values": [str(c) for c in rule["source_ips"]]}})
    return conds


def _action(spec: dict, s: Seeded) -> list[dict]:
    """The actions of a listener default or rule; ``authenticate_oidc`` puts an authenticate-oidc action first
    (AWS accepts authenticate actions on HTTPS listeners only)."""
    if spec.get("authenticate_oidc"):
        terminal = _action({k: v for k, v in spec.items() if k != "authenticate_oidc"}, s)
        return [_oidc(spec["authenticate_oidc"])] + [{**a, "Order": 2 + i} for i, a in enumerate(terminal)]
    if "forward" in spec:
        fwd = spec["forward"]
        if isinstance(fwd, dict):  # weighted: {tg-name: weight}
            return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": s.target_groups[n], "Weight": int(w)} for n, w in fwd.items()]}}]
        return [{"Type": "forward", "TargetGroupArn": s.target_groups[fwd]}]
    if spec.get("redirect_https"):
        return [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                        "StatusCode": "HTTP_301"}}]
    if "fixed_response" in spec:
        return [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": str(spec["fixed_response"]),
                                                                   "ContentType": "text/plain"}}]
    raise ConfigError(f"action needs forward, redirect_https or fixed_response: {spec}")


def seed(aws: Aws, sc: dict, *, before_service: Callable[[dict], None] | None = None,
         after_tasks: Callable[[Seeded], None] | None = None, run_tasks: bool = True) -> Seeded:
    """Create the scenario's resources. ``before_service(spec)`` runs before each create_service."""
    s = Seeded()
    call = aws.call
    vpc = sc.get("vpc", {})
    if vpc:
        s.vpc_id = call("ec2", "CreateVpc", CidrBlock=vpc["cidr"])["Vpc"]["VpcId"]
        call("ec2", "ModifyVpcAttribute", VpcId=s.vpc_id, EnableDnsHostnames={"Value": True})
        call("ec2", "ModifyVpcAttribute", VpcId=s.vpc_id, EnableDnsSupport={"Value": True})
        igw = call("ec2", "CreateInternetGateway")["InternetGateway"]["InternetGatewayId"]
        call("ec2", "AttachInternetGateway", InternetGatewayId=igw, VpcId=s.vpc_id)
        for name, sub in vpc.get("subnets", {}).items():
            s.subnets[name] = call("ec2", "CreateSubnet", VpcId=s.vpc_id, CidrBlock=sub["cidr"],
                                   AvailabilityZone=sub.get("az", "us-east-1a"))["Subnet"]["SubnetId"]
        for name, acl in (vpc.get("network_acls") or {}).items():
            acl_id = call("ec2", "CreateNetworkAcl", VpcId=s.vpc_id)["NetworkAcl"]["NetworkAclId"]
            for e in acl.get("entries", []):
                call("ec2", "CreateNetworkAclEntry", NetworkAclId=acl_id, RuleNumber=int(e["rule"]),
                     Protocol=str(e.get("protocol", "6")), RuleAction=e.get("action", "allow"),
                     Egress=bool(e.get("egress", False)), CidrBlock=e.get("cidr", "0.0.0.0/0"),
                     PortRange={"From": int(e.get("from_port", e.get("port", 0))),
                                "To": int(e.get("to_port", e.get("port", 65535)))})
            assocs = call("ec2", "DescribeNetworkAcls", Filters=[{"Name": "vpc-id", "Values": [s.vpc_id]}])
            for sub_name in acl.get("subnets", []):
                for n in assocs["NetworkAcls"]:
                    for a in n.get("Associations", []):
                        if a.get("SubnetId") == s.subnets[sub_name]:
                            call("ec2", "ReplaceNetworkAclAssociation", AssociationId=a["NetworkAclAssociationId"],
                                 NetworkAclId=acl_id)

    for name, g in (sc.get("security_groups") or {}).items():
        s.security_groups[name] = call("ec2", "CreateSecurityGroup", GroupName=g.get("name", name),
                                       Description=g.get("description", name), VpcId=s.vpc_id)["GroupId"]
    for name, g in (sc.get("security_groups") or {}).items():
        if g.get("ingress"):
            call("ec2", "AuthorizeSecurityGroupIngress", GroupId=s.security_groups[name],
                 IpPermissions=[_ip_permission(r, s.security_groups) for r in g["ingress"]])
        if "egress" in g:  # an explicit egress list replaces the default allow-all
            call("ec2", "RevokeSecurityGroupEgress", GroupId=s.security_groups[name],
                 IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            if g["egress"]:
                call("ec2", "AuthorizeSecurityGroupEgress", GroupId=s.security_groups[name],
                     IpPermissions=[_ip_permission(r, s.security_groups) for r in g["egress"]])

    for name, c in (sc.get("certificates") or {}).items():
        if c.get("requested"):  # requested from ACM: PENDING_VALIDATION until its DNS validation record exists
            params = {"DomainName": c["domain"], "ValidationMethod": "DNS"}
            if c.get("sans"):
                params["SubjectAlternativeNames"] = [c["domain"], *c["sans"]]
            s.certificates[name] = call("acm", "RequestCertificate", **params)["CertificateArn"]
            continue
        # imported (ISSUED at once); valid_days sets its expiry (expired certificates cannot be imported)
        cert, key = self_signed_cert(c["domain"], list(c.get("sans", [])), int(c.get("valid_days", 365)))
        s.certificates[name] = call("acm", "ImportCertificate", Certificate=cert, PrivateKey=key)["CertificateArn"]

    for name, tg in (sc.get("target_groups") or {}).items():
        hc = tg.get("health_check") or {}
        params: dict[str, Any] = {"Name": name, "Protocol": tg.get("protocol", "HTTP"), "Port": int(tg["port"]),
                                  "VpcId": s.vpc_id, "TargetType": tg.get("target_type", "ip"),
                                  "HealthCheckProtocol": hc.get("protocol", "HTTP"),
                                  "HealthCheckPort": str(hc.get("port", "traffic-port")),
                                  "HealthCheckPath": hc.get("path", "/health"),
                                  "Matcher": {"HttpCode": str(hc.get("matcher", "200"))}}
        s.target_groups[name] = call("elbv2", "CreateTargetGroup", **params)["TargetGroups"][0]["TargetGroupArn"]
        if tg.get("targets"):  # statically registered targets (e.g. a stale IP nobody answers on)
            call("elbv2", "RegisterTargets", TargetGroupArn=s.target_groups[name],
                 Targets=[{"Id": t.split(":")[0], "Port": int(t.split(":")[1]) if ":" in t else int(tg["port"])}
                          for t in tg["targets"]])

    for name, lb in (sc.get("load_balancers") or {}).items():
        resp = call("elbv2", "CreateLoadBalancer", Name=name, Type=lb.get("type", "application"),
                    Scheme=lb.get("scheme", "internet-facing"),
                    Subnets=[s.subnets[x] for x in lb.get("subnets", [])],
                    SecurityGroups=[s.security_groups[x] for x in lb.get("security_groups", [])])["LoadBalancers"][0]
        s.load_balancers[name] = {"arn": resp["LoadBalancerArn"], "dns": resp["DNSName"],
                                  "zone": resp["CanonicalHostedZoneId"]}
        if lb.get("state"):  # no AWS API sets a load balancer's state: kept here for an in-process emulator
            s.load_balancers[name]["state"] = str(lb["state"])
        if "idle_timeout" in lb:
            call("elbv2", "ModifyLoadBalancerAttributes", LoadBalancerArn=resp["LoadBalancerArn"],
                 Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": str(lb["idle_timeout"])}])
        for lname, lst in (lb.get("listeners") or {}).items():
            params = {"LoadBalancerArn": resp["LoadBalancerArn"], "Protocol": lst.get("protocol", "HTTP"),
                      "Port": int(lst["port"]), "DefaultActions": _action(lst["default"], s)}
            if lst.get("certificate"):
                params["Certificates"] = [{"CertificateArn": s.certificates[lst["certificate"]]}]
                params["SslPolicy"] = "ELBSecurityPolicy-TLS13-1-2-2021-06"
            larn = call("elbv2", "CreateListener", **params)["Listeners"][0]["ListenerArn"]
            s.listeners[f"{name}/{lname}"] = larn
            for prio, rule in sorted((lst.get("rules") or {}).items(), key=lambda kv: int(kv[0])):
                conds = _rule_conditions(rule)
                call("elbv2", "CreateRule", ListenerArn=larn, Priority=int(prio), Conditions=conds,
                     Actions=_action(rule, s))

    for family, td in (sc.get("task_definitions") or {}).items():
        containers = []
        for cname, c in td["containers"].items():
            cd: dict[str, Any] = {"name": cname, "image": c["image"], "essential": True,
                                  "memory": int(c.get("memory", int(td.get("memory", 2048)) // max(1, len(td["containers"])))),
                                  "portMappings": [{"containerPort": int(c["port"]), "protocol": "tcp"}],
                                  "environment": [{"name": k, "value": str(v)} for k, v in (c.get("environment") or {}).items()],
                                  "logConfiguration": {"logDriver": "awslogs", "options": {
                                      "awslogs-group": f"/ecs/{family}", "awslogs-region": sc["region"],
                                      "awslogs-stream-prefix": "ecs"}}}
            if c.get("run"):  # the sandbox runs this container for real (see shine_ops.sandbox.tasks)
                cd["dockerLabels"] = {"shine-ops.sandbox.run": str(c["run"])}
            if c.get("health_check"):
                cd["healthCheck"] = {"command": list(c["health_check"]), "interval": 30, "timeout": 15,
                                     "retries": 3, "startPeriod": 45}
            containers.append(cd)
        # extra_revisions: N registers the family N more times (older ACTIVE revisions; services run the last)
        for _ in range(1 + int(td.get("extra_revisions", 0))):
            s.task_definitions[family] = call("ecs", "RegisterTaskDefinition", family=family, networkMode="awsvpc",
                                              requiresCompatibilities=["FARGATE"], cpu=str(td.get("cpu", "1024")),
                                              memory=str(td.get("memory", "2048")),
                                              containerDefinitions=containers)["taskDefinition"]["taskDefinitionArn"]

    for cluster, cl in (sc.get("clusters") or {}).items():
        call("ecs", "CreateCluster", clusterName=cluster)
        for sname, svc in (cl.get("services") or {}).items():
            net = {"awsvpcConfiguration": {"subnets": [s.subnets[x] for x in svc.get("subnets", [])],
                                           "securityGroups": [s.security_groups[x] for x in svc.get("security_groups", [])],
                                           "assignPublicIp": svc.get("assign_public_ip", "DISABLED")}}
            lbs = [{"targetGroupArn": s.target_groups[m["target_group"]], "containerName": m["container"],
                    "containerPort": int(m["port"])} for m in svc.get("load_balancers", [])]
            if before_service:
                before_service(svc)
            resp = call("ecs", "CreateService", cluster=cluster, serviceName=sname,
                        taskDefinition=s.task_definitions[svc["task_definition"]], desiredCount=int(svc.get("desired", 1)),
                        launchType="FARGATE", loadBalancers=lbs, networkConfiguration=net)
            s.services[f"{cluster}/{sname}"] = resp["service"]["serviceArn"]
            if svc.get("grace_period") is not None:
                # not through Aws.call: its own first parameter is named ``service`` (TypeError on service=...)
                aws.client("ecs").update_service(cluster=cluster, service=sname,
                                                 healthCheckGracePeriodSeconds=int(svc["grace_period"]))
            if run_tasks and int(svc.get("running", svc.get("desired", 1))) > 0:
                tasks = call("ecs", "RunTask", cluster=cluster, taskDefinition=s.task_definitions[svc["task_definition"]],
                             count=int(svc.get("running", svc.get("desired", 1))), launchType="FARGATE",
                             group=f"service:{sname}", startedBy=f"ecs-svc/{sname}",
                             networkConfiguration=net)["tasks"]
                s.tasks[f"{cluster}/{sname}"] = [t["taskArn"] for t in tasks]
                ips = [d["value"] for t in tasks for a in t.get("attachments", []) for d in a.get("details", [])
                       if d["name"] == "privateIPv4Address"]
                for m, spec in zip(lbs, svc.get("load_balancers", [])):  # what ECS does behind a target group
                    if ips:  # ECS registers ip:containerPort; ``registered_port`` plays a script that used another
                        call("elbv2", "RegisterTargets", TargetGroupArn=m["targetGroupArn"],
                             Targets=[{"Id": ip, "Port": int(spec.get("registered_port", m["containerPort"]))}
                                      for ip in ips])
            for spec in svc.get("stopped_tasks") or []:  # recently stopped tasks (not registered: ECS drained them)
                if not run_tasks:
                    break
                t = call("ecs", "RunTask", cluster=cluster, taskDefinition=s.task_definitions[svc["task_definition"]],
                         count=1, launchType="FARGATE", group=f"service:{sname}", startedBy=f"ecs-svc/{sname}",
                         networkConfiguration=net)["tasks"][0]
                call("ecs", "StopTask", cluster=cluster, task=t["taskArn"],
                     reason=str(spec.get("reason", "Essential container in task exited")))
                s.stopped_tasks.setdefault(f"{cluster}/{sname}", []).append((t["taskArn"], dict(spec)))
    if after_tasks:
        after_tasks(s)

    _seed_observability(aws, sc, s)

    for zone, z in (sc.get("hosted_zones") or {}).items():
        zid = call("route53", "CreateHostedZone", Name=zone, CallerReference=f"shine-ops-{zone}",
                   HostedZoneConfig={"Comment": "seeded by shine-ops", "PrivateZone": bool(z.get("private"))}
                   )["HostedZone"]["Id"].split("/")[-1]
        s.zones[zone] = zid
        changes = []
        for rname, r in (z.get("records") or {}).items():
            fqdn = zone if rname in ("@", "") else f"{r.get('name', rname)}.{zone}"
            rrset: dict[str, Any] = {"Name": fqdn, "Type": r.get("type", "A")}
            if "set_identifier" in r:
                rrset["SetIdentifier"] = r["set_identifier"]
                if "weight" in r:
                    rrset["Weight"] = int(r["weight"])
                if "latency_region" in r:
                    rrset["Region"] = r["latency_region"]
            if "alias" in r:
                lb = s.load_balancers[r["alias"]]
                rrset["AliasTarget"] = {"HostedZoneId": lb["zone"], "DNSName": f"dualstack.{lb['dns']}.",
                                        "EvaluateTargetHealth": True}
            elif "alias_dns" in r:  # an alias to something outside the scenario (CloudFront, S3, a VPC endpoint)
                rrset["AliasTarget"] = {"HostedZoneId": r["alias_zone"], "DNSName": r["alias_dns"],
                                        "EvaluateTargetHealth": False}
            else:
                rrset["TTL"] = int(r.get("ttl", 300))
                rrset["ResourceRecords"] = [{"Value": v} for v in r["values"]]
            changes.append({"Action": "CREATE", "ResourceRecordSet": rrset})
        if changes:
            call("route53", "ChangeResourceRecordSets", HostedZoneId=zid, ChangeBatch={"Changes": changes})
    return s


def _seed_observability(aws: Aws, sc: dict, s: Seeded) -> None:
    """Log lines and load-balancer metrics a scenario records (``logs:``, ``metrics:``): what triage reads."""
    import time

    now_ms = int(time.time() * 1000)
    for group, lines in (sc.get("logs") or {}).items():
        aws.call("logs", "CreateLogGroup", logGroupName=group)
        aws.call("logs", "CreateLogStream", logGroupName=group, logStreamName="ecs/seeded")
        aws.call("logs", "PutLogEvents", logGroupName=group, logStreamName="ecs/seeded",
                 logEvents=[{"timestamp": now_ms - (len(lines) - i) * 1000, "message": str(line)}
                            for i, line in enumerate(lines)])
    for lb_name, metrics in (sc.get("metrics") or {}).items():
        lb = s.load_balancers.get(lb_name)
        if not lb:
            continue
        dim = [{"Name": "LoadBalancer", "Value": lb["arn"].split("loadbalancer/", 1)[-1]}]
        aws.call("cloudwatch", "PutMetricData", Namespace="AWS/ApplicationELB", MetricData=[
            {"MetricName": name, "Dimensions": dim, "Value": float(value),
             "Unit": "Seconds" if name.endswith("Time") else "Count"} for name, value in metrics.items()])
