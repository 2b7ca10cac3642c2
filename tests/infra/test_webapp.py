"""The web app under Pulumi mocks, every stack: a Cognito pool with the five groups and a public client,
an HTTP API whose every /api route requires the pool's JWT authorizer, the app's static routes only open,
throttling, access logs with the caller's sub, and CORS on the raw bucket for the app's origin only."""

from __future__ import annotations

import json

from genomics.deployment import USER_GROUPS, Names
from genomics.webapp.api import ROUTES
from genomics.webapp.static import STATIC_ROUTES
from infra.config import StackConfig
from tests.infra.resources import Program, by_input, of_type


def _one(program: Program, typ: str, key: str, value: str) -> dict:
    found = by_input(program, typ, key, value)
    assert len(found) == 1, f"{typ} {key}={value}: {[r['urn'] for r in of_type(program, typ)]}"
    return found[0]


def _api(program: Program, names: Names) -> dict:
    return _one(program, "aws:apigatewayv2/api:Api", "name", names.web_api)


def _of_api(program: Program, names: Names, typ: str) -> list[dict]:
    api_id = f"{_api(program, names)['name']}-id"
    return [r for r in of_type(program, typ) if r["inputs"].get("apiId") == api_id]


def test_webapp_user_pool_admin_only_with_the_groups(program: Program, names: Names) -> None:
    pool = _one(program, "aws:cognito/userPool:UserPool", "name", names.user_pool)
    assert pool["inputs"]["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True, f"{pool['urn']}: self sign-up"
    assert pool["inputs"]["passwordPolicy"]["minimumLength"] >= 12, f"{pool['urn']}: weak passwords"
    groups = [g for g in of_type(program, "aws:cognito/userGroup:UserGroup")
              if g["inputs"]["userPoolId"] == f"{pool['name']}-id"]
    assert sorted(g["inputs"]["name"] for g in groups) == sorted(USER_GROUPS), [g["urn"] for g in groups]


def test_webapp_prod_pool_is_protected(program: Program, names: Names, config: StackConfig) -> None:
    pool = _one(program, "aws:cognito/userPool:UserPool", "name", names.user_pool)
    expected = "ACTIVE" if config.stack == "prod" else "INACTIVE"
    assert pool["inputs"]["deletionProtection"] == expected, f"{pool['urn']}: {pool['inputs']['deletionProtection']}"


def test_webapp_client_is_public_and_revocable(program: Program, names: Names) -> None:
    client = _one(program, "aws:cognito/userPoolClient:UserPoolClient", "name", f"{names.prefix}-web")
    inputs = client["inputs"]
    assert inputs["generateSecret"] is False and inputs["enableTokenRevocation"] is True, f"{client['urn']}"
    assert "ALLOW_USER_PASSWORD_AUTH" in inputs["explicitAuthFlows"], f"{client['urn']}: {inputs}"
    assert inputs["accessTokenValidity"] <= 60 and inputs["tokenValidityUnits"]["accessToken"] == "minutes"


def test_webapp_authorizer_is_jwt_of_the_pool_and_client(program: Program, names: Names) -> None:
    pool = _one(program, "aws:cognito/userPool:UserPool", "name", names.user_pool)
    (auth,) = _of_api(program, names, "aws:apigatewayv2/authorizer:Authorizer")
    jwt = auth["inputs"]["jwtConfiguration"]
    assert auth["inputs"]["authorizerType"] == "JWT", f"{auth['urn']}"
    assert jwt["issuer"] == f"https://{pool['outputs']['endpoint']}", f"{auth['urn']}: issuer {jwt['issuer']}"
    client = _one(program, "aws:cognito/userPoolClient:UserPoolClient", "name", f"{names.prefix}-web")
    assert jwt["audiences"] == [f"{client['name']}-id"], f"{auth['urn']}: audiences {jwt['audiences']}"


def test_webapp_every_api_route_requires_the_jwt_authorizer(program: Program, names: Names) -> None:
    (auth,) = _of_api(program, names, "aws:apigatewayv2/authorizer:Authorizer")
    routes = {r["inputs"]["routeKey"]: r for r in _of_api(program, names, "aws:apigatewayv2/route:Route")}
    assert sorted(routes) == sorted([*ROUTES, *STATIC_ROUTES]), sorted(routes)
    for key, route in routes.items():
        if key in STATIC_ROUTES:
            assert route["inputs"]["authorizationType"] == "NONE", f"{route['urn']}"
            continue
        assert route["inputs"]["authorizationType"] == "JWT", f"{route['urn']}: {route['inputs']}"
        assert route["inputs"]["authorizerId"] == f"{auth['name']}-id", f"{route['urn']}: another authorizer"


def test_webapp_stage_throttles_and_logs_the_sub(program: Program, names: Names, config: StackConfig) -> None:
    (stage,) = _of_api(program, names, "aws:apigatewayv2/stage:Stage")
    defaults = stage["inputs"]["defaultRouteSettings"]
    assert defaults["throttlingRateLimit"] == config.api_rate_limit, f"{stage['urn']}: {defaults}"
    uploads = {s["routeKey"]: s for s in stage["inputs"]["routeSettings"]}
    assert sorted(uploads) == sorted(r for r in ROUTES if "/uploads" in r), f"{stage['urn']}: {sorted(uploads)}"
    assert all(s["throttlingRateLimit"] <= config.api_rate_limit for s in uploads.values()), uploads
    fields = json.loads(stage["inputs"]["accessLogSettings"]["format"])
    assert fields["sub"] == "$context.authorizer.claims.sub", f"{stage['urn']}: {fields}"
    assert not any("authorization" in str(v).lower() or "token" in str(v).lower() for v in fields.values()), fields


def test_webapp_invoke_permission_scoped_to_this_api(program: Program, names: Names) -> None:
    api = _api(program, names)
    perms = [p for p in of_type(program, "aws:lambda/permission:Permission")
             if p["inputs"]["function"] == names.function("web-api")]
    assert len(perms) == 1 and perms[0]["inputs"]["sourceArn"] == f"{api['outputs']['executionArn']}/*/*", perms


def test_webapp_raw_bucket_cors_allows_only_the_app_origin_to_put(program: Program, names: Names) -> None:
    api = _api(program, names)
    (cors,) = of_type(program, "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    (raw,) = by_input(program, "aws:s3/bucket:Bucket", "bucket", names.bucket("raw"))
    assert cors["inputs"]["bucket"] == f"{raw['name']}-id", f"{cors['urn']}: on {cors['inputs']['bucket']}"
    (rule,) = cors["inputs"]["corsRules"]
    assert rule["allowedMethods"] == ["PUT"], f"{cors['urn']}: {rule}"
    assert rule["allowedOrigins"] == [api["outputs"]["apiEndpoint"]], f"{cors['urn']}: {rule}"
