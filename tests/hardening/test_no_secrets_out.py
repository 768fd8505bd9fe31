"""No secret leaves: reports, maps, plans, the journal and logs never carry credentials or secret env values."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.e2e.plain_seed import DOMAIN, seed_incident

pytestmark = pytest.mark.slow
SECRET_ENV = "hunter2-db-password-0xC0FFEE"
SECRET_KEY = "AKIASECRETKEYDONOTLEAK"
SECRET_ACCESS = "wJalrXUtnFEMI-secret-access-DO-NOT-LEAK"


@pytest.fixture()
def cli(tmp_path):
    from tests.conftest import Cli

    return Cli(tmp_path)


def test_secrets_never_appear_in_any_output(cli, fresh_moto, tmp_path):
    seed_incident(fresh_moto)
    ecs = boto3.client("ecs", endpoint_url=fresh_moto, region_name="us-east-1")
    td = ecs.register_task_definition(
        family="shine-api-gateway", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="1024",
        memory="2048", containerDefinitions=[{
            "name": "shine-api-gateway", "image": "shine-api-gateway:hare-run-v6", "memory": 2048, "essential": True,
            "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
            "environment": [{"name": "PORT", "value": "8000"}, {"name": "DB_PASSWORD", "value": SECRET_ENV}],
            "secrets": [{"name": "API_TOKEN", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t"}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster="production-shine-cluster", service="shine-api-gateway", taskDefinition=td)
    env = {"AWS_ACCESS_KEY_ID": SECRET_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS}
    base = ["--endpoint-url", fresh_moto, "--region", "us-east-1", "--domain", DOMAIN]
    outputs = []
    for fmt in ("table", "json", "markdown", "junit"):
        p = cli("diagnose", "--no-probe", *base, "--format", fmt, env=env)
        outputs += [p.stdout, p.stderr]
    for args in (["map", *base, "--format", "json"], ["fix", "alb-ecs", *base, "--plan-out", str(tmp_path / "p.json")],
                 ["fix", "alb-ecs", *base, "--apply", "--yes"], ["history", "--json"],
                 ["diagnose", "--no-probe", "--all", "--endpoint-url", fresh_moto, "--region", "us-east-1",
                  "--format", "json"]):
        p = cli(*args, env=env)
        outputs += [p.stdout, p.stderr]
    files = [tmp_path / "p.json", *tmp_path.rglob("*.db"), *tmp_path.rglob("*.log")]
    blob = "\n".join(outputs) + "\n".join(f.read_bytes().decode("utf-8", "replace") for f in files if f.exists())
    assert "shine-api-gateway" in blob  # the outputs are real
    for secret in (SECRET_ENV, SECRET_KEY, SECRET_ACCESS):
        assert secret not in blob
    json.loads(outputs[2])  # the JSON report stayed valid
