"""The status API under Pulumi mocks: exactly the routes of genomics.status_api, IAM on every one, access logs
with retention, throttling, and an invoke permission and reader policy scoped to this API."""

from __future__ import annotations

import json

from genomics.deployment import Names
from genomics.drs.api import ROUTES as PARTNER_ROUTES
from genomics.status_api import ROUTES
from infra.config import StackConfig
from tests.infra.resources import Program, by_input, document, of_type


def _api(program: Program, names: Names) -> dict:
    apis = by_input(program, "aws:apigatewayv2/api:Api", "name", f"{names.prefix}-status-api")
    every = [a["urn"] for a in of_type(program, "aws:apigatewayv2/api:Api")]
    assert len(apis) == 1, f"expected one status API named {names.prefix}-status-api, got {every}"
    return apis[0]


def _of_api(program: Program, names: Names, typ: str) -> list[dict]:
    """The resources of ``typ`` that belong to the status API (the web app's API has its own)."""
    api_id = f"{_api(program, names)['name']}-id"
    return [r for r in of_type(program, typ) if r["inputs"].get("apiId") == api_id]


def test_api_is_http_api_with_lambda_proxy_integration(program: Program, names: Names) -> None:
    api = _api(program, names)
    assert api["inputs"]["protocolType"] == "HTTP", f"{api['urn']}: {api['inputs']['protocolType']}"
    integrations = _of_api(program, names, "aws:apigatewayv2/integration:Integration")
    assert len(integrations) == 1, f"integrations: {[i['urn'] for i in integrations]}"
    inputs = integrations[0]["inputs"]
    assert inputs["integrationType"] == "AWS_PROXY" and inputs["payloadFormatVersion"] == "2.0", (
        f"{integrations[0]['urn']}: {inputs}"
    )
    assert inputs["integrationUri"] == names.function_arn("status-api"), f"{integrations[0]['urn']}: {inputs}"


def test_api_routes_are_exactly_genomics_api_routes(program: Program, names: Names) -> None:
    """The status routes and the partners' DRS/receipt routes (genomics.drs.api), nothing else."""
    routes = _of_api(program, names, "aws:apigatewayv2/route:Route")
    assert sorted(r["inputs"]["routeKey"] for r in routes) == sorted({*ROUTES, *PARTNER_ROUTES}), (
        f"routes: {[(r['urn'], r['inputs']['routeKey']) for r in routes]}"
    )


def test_api_every_route_requires_iam(program: Program, names: Names) -> None:
    for route in _of_api(program, names, "aws:apigatewayv2/route:Route"):
        assert route["inputs"].get("authorizationType") == "AWS_IAM", f"{route['urn']}: not IAM-authorised"


def test_api_stage_logs_access_with_retention(program: Program, names: Names, config: StackConfig) -> None:
    stages = _of_api(program, names, "aws:apigatewayv2/stage:Stage")
    assert len(stages) == 1, f"stages: {[s['urn'] for s in stages]}"
    stage = stages[0]
    settings = stage["inputs"]["accessLogSettings"]
    group = by_input(program, "aws:cloudwatch/logGroup:LogGroup", "name", f"/aws/apigateway/{names.prefix}-status-api")
    assert len(group) == 1, f"{stage['urn']}: no access log group"
    assert settings["destinationArn"] == group[0]["outputs"]["arn"], f"{stage['urn']}: logs to {settings}"
    fields = json.loads(settings["format"])
    assert {"requestId", "userArn", "routeKey", "status"} <= set(fields), f"{stage['urn']}: format {fields}"
    assert group[0]["inputs"]["retentionInDays"] == config.settings.log_retention_days, f"{group[0]['urn']}"


def test_api_stage_throttles(program: Program, names: Names, config: StackConfig) -> None:
    stage = _of_api(program, names, "aws:apigatewayv2/stage:Stage")[0]
    route_settings = stage["inputs"]["defaultRouteSettings"]
    assert route_settings["throttlingRateLimit"] == config.api_rate_limit, f"{stage['urn']}: {route_settings}"
    assert route_settings["throttlingBurstLimit"] == config.api_burst_limit, f"{stage['urn']}: {route_settings}"


def test_api_invoke_permission_scoped_to_this_api(program: Program, names: Names) -> None:
    api = _api(program, names)
    permissions = [p for p in of_type(program, "aws:lambda/permission:Permission")
                   if p["inputs"]["principal"] == "apigateway.amazonaws.com"
                   and p["inputs"]["function"] == names.function("status-api")]
    assert len(permissions) == 1, f"API Gateway permissions: {[p['urn'] for p in permissions]}"
    inputs = permissions[0]["inputs"]
    assert inputs["function"] == names.function("status-api"), f"{permissions[0]['urn']}: {inputs}"
    assert inputs["sourceArn"] == f"{api['outputs']['executionArn']}/*/*", f"{permissions[0]['urn']}: {inputs}"


def test_api_reader_policy_allows_only_the_routes(program: Program, names: Names) -> None:
    api = _api(program, names)
    policies = by_input(program, "aws:iam/policy:Policy", "name", f"{names.prefix}-status-api-read")
    assert len(policies) == 1, f"expected the reader policy {names.prefix}-status-api-read"
    statements = document(policies[0])["Statement"]
    assert [s["Action"] for s in statements] == ["execute-api:Invoke"], f"{policies[0]['urn']}: {statements}"
    resources = statements[0]["Resource"]
    assert len(resources) == len(ROUTES), f"{policies[0]['urn']}: {resources}"
    for arn in resources:
        assert arn.startswith(f"{api['outputs']['executionArn']}/$default/GET/"), f"{policies[0]['urn']}: {arn}"
        assert "/ga4gh/" not in arn and "/partner/" not in arn, f"{policies[0]['urn']}: readers get {arn}"


def test_api_every_route_targets_the_lambda_integration(program: Program, names: Names) -> None:
    integration = _of_api(program, names, "aws:apigatewayv2/integration:Integration")[0]
    target = f"integrations/{integration['name']}-id"
    for route in _of_api(program, names, "aws:apigatewayv2/route:Route"):
        assert route["inputs"].get("target") == target, f"{route['urn']}: target {route['inputs'].get('target')}"
