"""The deploy request (``shine_ops.deploy_request``) and blue-green's naming and weighted actions, as the pure
functions they are: table-driven, no sandbox, no process. The rollouts themselves are the e2e tests'."""

from __future__ import annotations

import random

import pytest

from shine_ops.deploy_bluegreen import green_service_name, green_tg_name, only, weighted
from shine_ops.deploy_request import STRATEGY_RUNNERS, STRATEGIES, DeployOutcome, DeployRequest, parse_env, parse_steps
from shine_ops.errors import UsageError


# -- the request -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,steps", [("10,50,100", (10, 50, 100)), ("100", (100,)), ("1, 100", (1, 100)),
                                        ("25,50,75,100", (25, 50, 75, 100))])
def test_steps_parse(text, steps):
    assert parse_steps(text) == steps


@pytest.mark.parametrize("bad", ["50,10,100", "10,50", "0,100", "x", "", "10,10,100", "50,150"])
def test_steps_must_increase_within_1_to_100_and_end_at_100(bad):
    with pytest.raises(UsageError, match="--steps"):
        parse_steps(bad)


@pytest.mark.parametrize("items,env", [([], {}), (["A=1", "B="], {"A": "1", "B": ""}), (["URL=a=b"], {"URL": "a=b"})])
def test_env_items_parse(items, env):
    assert parse_env(items) == env


@pytest.mark.parametrize("bad", ["A", "=1"])
def test_env_item_without_a_key_or_equals_is_an_error(bad):
    with pytest.raises(UsageError, match=f"--env takes K=V, not '{bad}'"):
        parse_env([bad])


BASE = {"cluster": "prod", "service": "api"}


@pytest.mark.parametrize("options,message", [
    ({"image": "api:7", "strategy": "canary"}, "--strategy must be one of rolling, blue-green, not 'canary'"),
    ({"image": "api:7", "steps": "10,50"}, "--steps must increase"),
    ({"env": ["NOPE"]}, "--env takes K=V"),
    ({}, "nothing to deploy"),
    ({"finalize": True, "image": "api:7"}, "--finalize takes no changes"),
    ({"finalize": True, "model_uri": "s3://m/x.keras"}, "--finalize takes no changes"),
])
def test_option_errors_are_usage_errors_naming_the_option(options, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        DeployRequest.from_options(**BASE, **options)


def test_the_request_holds_every_change_and_reads_them_back_in_one_line():
    req = DeployRequest.from_options(**BASE, image="repo/api:v7", env=["LOG=debug"], model_uri="s3://m/face.keras",
                                     cpu="512", memory="1024", strategy="blue-green", steps="20,100", deadline=60,
                                     probe_timeout=5)
    assert req.changes == {"LOG": "debug", "MODEL_URI": "s3://m/face.keras"}
    assert (req.strategy, req.steps, req.deadline_s, req.probe_timeout_s) == ("blue-green", (20, 100), 60, 5)
    assert req.describe_changes() == "image repo/api:v7, LOG=debug, MODEL_URI=s3://m/face.keras, cpu 512, memory 1024"
    assert DeployRequest.from_options(**BASE, finalize=True).finalize


def test_every_strategy_the_option_accepts_has_a_runner():
    assert set(STRATEGIES) == set(STRATEGY_RUNNERS)


@pytest.mark.parametrize("status,result_code,code", [("refused", None, 1), ("declined", None, 1),
                                                     ("finalized", 0, 0), ("deployed", 0, 0), ("deployed", 1, 1)])
def test_outcome_exit_codes_follow_the_contract(status, result_code, code):
    """0 landed and passed its gates (or finalized), 1 refused by preflight, declined, or rolled back."""
    result = type("R", (), {"exit_code": result_code})() if result_code is not None else None
    assert DeployOutcome(status, result=result).exit_code == code


# -- blue-green naming and weights -----------------------------------------------------------------------------
@pytest.mark.parametrize("blue,green", [("api", "api-green"), ("api-green", "api-blue"), ("api-blue", "api-green")])
def test_green_service_name_alternates(blue, green):
    assert green_service_name(blue) == green


@pytest.mark.parametrize("blue_tg,revision,green_tg", [
    ("shine-api-tg-8000-fixed-g3", 4, "shine-api-tg-8000-fixed-g4"),
    ("svc", 12, "svc-g12"),
])
def test_green_target_group_name_carries_the_revision(blue_tg, revision, green_tg):
    assert green_tg_name(blue_tg, revision) == green_tg


def test_a_long_green_target_group_name_is_cut_to_32_characters_without_a_double_hyphen():
    name = green_tg_name("a-very-long-target-group-name-x-y", 12)
    assert len(name) <= 32 and name.endswith("-g12") and "--" not in name


def test_weighted_actions_split_the_forward_and_keep_the_others():
    auth = {"Type": "authenticate-oidc", "Order": 1}
    actions = [auth, {"Type": "forward", "TargetGroupArn": "blue", "Order": 2}]
    split = weighted(actions, "blue", "green", 10)
    assert split[0] == auth and split[1] == {"Type": "forward", "Order": 2, "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": "blue", "Weight": 90}, {"TargetGroupArn": "green", "Weight": 10}]}}
    assert only(split, "blue", "green")[1] == {"Type": "forward", "TargetGroupArn": "green", "Order": 2}


def test_the_emulators_weighted_pick_follows_the_weights():
    from shine_ops.sandbox.alb import pick_weighted

    rng = random.Random(1)
    picks = [pick_weighted({"blue": 90, "green": 10}, rng) for _ in range(2000)]
    assert 100 < picks.count("green") < 300
    assert {pick_weighted({"blue": 0, "green": 100}, rng) for _ in range(50)} == {"green"}
    assert pick_weighted({"blue": 0}) is None
