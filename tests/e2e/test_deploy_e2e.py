"""Guarded deploys: refused by preflight, landed and gated, or rolled back by themselves."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import assert_no_traceback
from tests.e2e.conftest import sandbox_up
from tests.e2e.plain_seed import seed_incident

pytestmark = pytest.mark.slow
SVC = ["--cluster", "production-shine-cluster", "--service", "shine-api-gateway"]


def _service(endpoint: str) -> dict:
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
                       aws_secret_access_key="t")
    return ecs.describe_services(cluster="production-shine-cluster", services=["shine-api-gateway"])["services"][0]


def test_sandbox_deploys_refuse_land_and_roll_back(cli):
    st = sandbox_up(cli, "healthy")
    try:
        refused = cli("deploy", "--sandbox", *SVC, "--env", "PORT=5000", "--yes")
        assert_no_traceback(refused)
        assert refused.returncode == 1 and "deploy refused by preflight: nothing changed" in refused.stdout
        assert "FAIL  ecs.port-env-matches-container" in refused.stdout
        assert _service(st["endpoint"])["taskDefinition"].endswith(":1")

        good = cli("deploy", "--sandbox", *SVC, "--model-uri", "", "--env", "LOG_LEVEL=info", "--yes", timeout=300)
        assert good.returncode == 0, good.stdout + good.stderr
        assert "landed" in good.stdout and "passed its gates" in good.stdout
        assert _service(st["endpoint"])["taskDefinition"].endswith(":2")

        bad = cli("deploy", "--sandbox", *SVC, "--model-uri", "/nonexistent/model.keras", "--yes", timeout=300)
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert "rolled back to shine-api-gateway:2: steady again" in bad.stdout
        assert "degraded" in bad.stdout  # the reason is shown
        assert _service(st["endpoint"])["taskDefinition"].endswith(":2")
        kinds = [(a["kind"], a["status"]) for a in json.loads(cli("history", "--json").stdout)
                 if a["kind"] == "deploy"]
        assert kinds[-2:] == [("deploy", "applied"), ("deploy", "rolled_back")]
    finally:
        cli("sandbox", "down")


def test_plain_moto_deploy_calls_and_rollback_when_never_steady(cli, fresh_moto, tmp_path):
    """moto never moves tasks to a new revision: the deploy cannot become steady and rolls itself back."""
    seed_incident(fresh_moto, repaired=True)
    log = tmp_path / "calls.log"
    proc = cli("deploy", "--endpoint-url", fresh_moto, "--region", "us-east-1", *SVC, "--image", "shine:v2",
               "--deadline", "3", "--yes", env={"SHINE_OPS_CALL_LOG": str(log)})
    assert_no_traceback(proc)
    assert proc.returncode == 1 and "not steady after 3 s" in proc.stdout
    calls = [line for line in log.read_text().splitlines()
             if not line.split(".", 1)[1].startswith(("Describe", "List", "Get"))]
    assert calls == ["ecs.RegisterTaskDefinition", "ecs.UpdateService", "ecs.UpdateService"]
    svc = _service(fresh_moto)
    assert svc["taskDefinition"].endswith(":1")


def test_preflight_refuses_memory_below_the_model_card(cli, scenario_server, tmp_path):
    """The packaged model's card says runtime.min_memory_mib 1024: a 512 MiB task of the reference service is
    refused, nothing registered; another app without MODEL_URI is not held to our model's card."""
    endpoint = scenario_server("healthy")
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
                       aws_secret_access_key="t")
    revisions = ecs.list_task_definitions()["taskDefinitionArns"]
    other = cli("deploy", "--endpoint-url", endpoint, "--region", "us-east-1", *SVC, "--memory", "512",
                "--deadline", "1", "--yes", cwd=tmp_path)  # no project file: not declared the reference service
    assert "SKIP  deploy.memory-covers-model: No MODEL_URI" in other.stdout, other.stdout + other.stderr
    assert _service(endpoint)["taskDefinition"].endswith(":1")  # (never steady in plain moto: rolled back)
    cfg = tmp_path / "shine-ops.yaml"
    cfg.write_text("serves_reference_api: true\n")
    revisions = ecs.list_task_definitions()["taskDefinitionArns"]
    proc = cli("deploy", "--endpoint-url", endpoint, "--region", "us-east-1", *SVC, "--memory", "512", "--yes",
               "--config", str(cfg))
    assert_no_traceback(proc)
    assert proc.returncode == 1 and "deploy refused by preflight: nothing changed" in proc.stdout
    assert "FAIL  deploy.memory-covers-model" in proc.stdout and "1024 MiB" in proc.stdout
    assert ecs.list_task_definitions()["taskDefinitionArns"] == revisions
    assert _service(endpoint)["taskDefinition"].endswith(":1")
    ok = cli("deploy", "--endpoint-url", endpoint, "--region", "us-east-1", *SVC, "--memory", "1024", "--deadline",
             "1", "--yes", "--config", str(cfg))
    assert "PASS  deploy.memory-covers-model" in ok.stdout, ok.stdout + ok.stderr
    # an s3:// model: its card is the object <key stem>.card.json, read through the same endpoint
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
                      aws_secret_access_key="t")
    s3.create_bucket(Bucket="shine-models")
    s3.put_object(Bucket="shine-models", Key="face/v2.card.json", Body=json.dumps({"runtime": {"min_memory_mib": 4096}}))
    big = cli("deploy", "--endpoint-url", endpoint, "--region", "us-east-1", *SVC, "--model-uri",
              "s3://shine-models/face/v2.keras", "--yes")
    assert big.returncode == 1 and "FAIL  deploy.memory-covers-model" in big.stdout and "4096 MiB" in big.stdout
    none = cli("deploy", "--endpoint-url", endpoint, "--region", "us-east-1", *SVC, "--model-uri",
               "s3://shine-models/face/v3.keras", "--memory", "256", "--deadline", "1", "--yes")
    assert "SKIP  deploy.memory-covers-model: No model card at s3://shine-models/face/v3.card.json" in none.stdout
