"""Each function is built from genomics.deployment: environment, sizing, image, command, architecture."""

from __future__ import annotations

import re

from genomics import deployment
from genomics.deployment import FUNCTIONS, Names
from infra.config import StackConfig
from tests.infra.resources import Program, by_input, of_type


def _function(program: Program, names: Names, logical: str) -> dict:
    found = by_input(program, "aws:lambda/function:Function", "name", names.function(logical))
    assert len(found) == 1, f"function {names.function(logical)} declared {len(found)} times"
    return found[0]


def test_function_environment_equals_deployment_environment(
    program: Program, names: Names, config: StackConfig
) -> None:
    (pool,) = by_input(program, "aws:cognito/userPool:UserPool", "name", names.user_pool)
    (client,) = by_input(program, "aws:cognito/userPoolClient:UserPoolClient", "name", f"{names.prefix}-web")
    runtime = {"USER_POOL_ID": f"{pool['name']}-id", "USER_POOL_CLIENT_ID": f"{client['name']}-id"}
    for logical in FUNCTIONS:
        fn = _function(program, names, logical)
        expected = deployment.environment(logical, names, config.settings, runtime)
        assert fn["inputs"]["environment"]["variables"] == expected, f"{fn['urn']}: environment differs"


def test_function_sizing_from_deployment(program: Program, names: Names, config: StackConfig) -> None:
    for logical in FUNCTIONS:
        fn = _function(program, names, logical)
        inputs = fn["inputs"]
        assert inputs["memorySize"] == deployment.memory_mb(logical, config.settings), f"{fn['urn']}: memory"
        assert inputs["timeout"] == deployment.timeout_s(logical, config.settings), f"{fn['urn']}: timeout"
        assert inputs["ephemeralStorage"]["size"] == deployment.ephemeral_mb(logical, config.settings), (
            f"{fn['urn']}: ephemeral storage"
        )


def _image_uris(program: Program, names: Names) -> dict[str, str]:
    """images/Dockerfile target -> the digest URI the program pushes it as."""
    repo = by_input(program, "aws:ecr/repository:Repository", "name", names.image_repository)[0]
    return {image["inputs"]["target"]: f"{repo['outputs']['repositoryUrl']}@{image['outputs']['digest']}"
            for image in of_type(program, "docker-build:index:Image")}


def test_function_image_by_digest_with_handler_command(program: Program, names: Names) -> None:
    uris = _image_uris(program, names)
    for logical, spec in FUNCTIONS.items():
        fn = _function(program, names, logical)
        inputs = fn["inputs"]
        expected_uri = uris[spec.image]
        assert inputs["packageType"] == "Image", f"{fn['urn']}: package type {inputs['packageType']}"
        assert inputs["imageUri"] == expected_uri, f"{fn['urn']}: image {inputs['imageUri']} != {expected_uri}"
        assert re.search(r"@sha256:[0-9a-f]{64}$", inputs["imageUri"]), f"{fn['urn']}: image not by digest"
        assert inputs["imageConfig"]["commands"] == [spec.handler], f"{fn['urn']}: command {inputs['imageConfig']}"
        assert inputs["architectures"] == ["x86_64"], f"{fn['urn']}: architectures {inputs['architectures']}"


def test_function_concurrency_reserved_from_config_never_provisioned(
    program: Program, names: Names, config: StackConfig
) -> None:
    expected = config.reserved_concurrency if config.reserved_concurrency is not None else -1
    for logical in FUNCTIONS:
        fn = _function(program, names, logical)
        assert fn["inputs"].get("reservedConcurrentExecutions") == expected, f"{fn['urn']}: reserved concurrency"
    provisioned = of_type(program, "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert not provisioned, f"provisioned concurrency costs while idle: {[p['urn'] for p in provisioned]}"


def test_function_logs_to_own_log_group(program: Program, names: Names) -> None:
    for logical in FUNCTIONS:
        fn = _function(program, names, logical)
        assert fn["inputs"]["loggingConfig"]["logGroup"] == names.log_group(logical), f"{fn['urn']}: log group"
        groups = by_input(program, "aws:cloudwatch/logGroup:LogGroup", "name", names.log_group(logical))
        assert len(groups) == 1, f"{fn['urn']}: log group {names.log_group(logical)} not declared"
        assert groups[0]["parent"] == fn["parent"], f"{groups[0]['urn']}: not in the function's component"


def test_function_in_private_subnets_only_when_vpc_enabled(
    program: Program, names: Names, config: StackConfig
) -> None:
    subnet_ids = {f"{r['name']}-id" for r in of_type(program, "aws:ec2/subnet:Subnet")}
    for logical in FUNCTIONS:
        fn = _function(program, names, logical)
        vpc = fn["inputs"].get("vpcConfig")
        if config.vpc:
            assert vpc and set(vpc["subnetIds"]) == subnet_ids and vpc["securityGroupIds"], (
                f"{fn['urn']}: not in the private subnets: {vpc}"
            )
        else:
            assert not vpc, f"{fn['urn']}: VPC placement although config vpc is off"
