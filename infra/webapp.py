"""WebApp: Cognito sign-in and the web app's HTTP API (JWT authorizer) in front of the web-api function.

- A Cognito user pool per stack (``<prefix>-users``): admin-created users only (no self sign-up: a steward
  or operator invites), strong password policy, optional TOTP MFA, deletion protection in prod; the groups
  of :data:`genomics.deployment.USER_GROUPS`; one public app client (no secret: a browser and the CLI use
  it) with USER_PASSWORD_AUTH/SRP and refresh tokens, 1-hour access tokens, token revocation on.
- An HTTP API (``<prefix>-web-api``) with a JWT authorizer: issuer = the pool, audience = the app client.
  Every ``/api`` route of :data:`genomics.webapp.api.ROUTES` requires it; ``GET /`` and ``GET
  /assets/{name}`` (the bundled app, served by the same function) do not. Stage throttling for every route
  (``webRateLimit``/``webBurstLimit``) and tighter per-route limits for the upload routes; JSON access logs
  carry the caller's ``sub`` (``$context.authorizer.claims.sub``), never a token.
- The raw bucket's CORS rule lets only the app's origin PUT presigned upload parts (and read ETags).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics.deployment import USER_GROUPS, Names
from genomics.webapp.api import ROUTES
from genomics.webapp.static import STATIC_ROUTES
from infra.api import _slug, invoke_permission, lambda_http_api, logged_stage
from infra.config import StackConfig
from infra.naming import classified

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    "sub": "$context.authorizer.claims.sub",
    "sourceIp": "$context.identity.sourceIp",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "authorizerError": "$context.authorizer.error",
    "integrationError": "$context.integrationErrorMessage",
}
# Upload routes mint presigned URLs: a lower ceiling than the stage's (requests/second, burst).
UPLOAD_ROUTE_LIMITS = (5.0, 10)
ACCESS_TOKEN_MINUTES = 60
REFRESH_TOKEN_DAYS = 1


@dataclass(frozen=True)
class UserDirectoryArgs:
    names: Names
    config: StackConfig


class UserDirectory(pulumi.ComponentResource):
    """The stack's Cognito user pool, its groups and the app client (declared before the functions: the
    web-api function's environment names the pool and client ids, see :attr:`runtime_env`)."""

    user_pool: aws.cognito.UserPool
    client: aws.cognito.UserPoolClient

    def __init__(self, name: str, args: UserDirectoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:webapp:UserDirectory", name, None, opts)
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)
        prod = config.stack == "prod"
        self.user_pool = aws.cognito.UserPool(
            f"{name}-users",
            name=names.user_pool,
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(allow_admin_create_user_only=True),
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=12, require_lowercase=True, require_uppercase=True, require_numbers=True,
                require_symbols=True, temporary_password_validity_days=3,
            ),
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
            auto_verified_attributes=["email"],
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
                recovery_mechanisms=[aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(
                    name="verified_email", priority=1)]
            ),
            deletion_protection="ACTIVE" if prod else "INACTIVE",
            tags=classified("personal-data"),
            opts=pulumi.ResourceOptions(parent=self, protect=prod),
        )
        for group in USER_GROUPS:
            aws.cognito.UserGroup(
                f"{name}-group-{group}",
                name=group,
                user_pool_id=self.user_pool.id,
                description=f"web app role: {group}",
                opts=child,
            )
        self.client = aws.cognito.UserPoolClient(
            f"{name}-client",
            name=f"{names.prefix}-web",
            user_pool_id=self.user_pool.id,
            generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=ACCESS_TOKEN_MINUTES,
            id_token_validity=ACCESS_TOKEN_MINUTES,
            refresh_token_validity=REFRESH_TOKEN_DAYS,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="minutes", id_token="minutes", refresh_token="days"
            ),
            opts=child,
        )

        self.register_outputs({"user_pool_id": self.user_pool.id, "client_id": self.client.id})

    @property
    def runtime_env(self) -> dict[str, pulumi.Output[str]]:
        return {"USER_POOL_ID": self.user_pool.id, "USER_POOL_CLIENT_ID": self.client.id}


@dataclass(frozen=True)
class WebAppArgs:
    names: Names
    config: StackConfig
    users: UserDirectory
    function: aws.lambda_.Function
    raw_bucket: aws.s3.Bucket
    kms_key_arn: pulumi.Input[str] | None = None


class WebApp(pulumi.ComponentResource):
    """HTTP API with the pool's JWT authorizer + routes + stage + invoke permission + CORS on raw."""

    api: aws.apigatewayv2.Api
    authorizer: aws.apigatewayv2.Authorizer
    stage: aws.apigatewayv2.Stage

    def __init__(self, name: str, args: WebAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:webapp:WebApp", name, None, opts)
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)

        api_name = names.web_api
        self.api, integration = lambda_http_api(
            name, self, api_name=api_name, function=args.function,
            description="The web app and its API (Cognito JWT; every /api route checks project membership)",
        )
        issuer = pulumi.Output.concat("https://", args.users.user_pool.endpoint)
        self.authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-authorizer",
            api_id=self.api.id,
            name="cognito",
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                issuer=issuer, audiences=[args.users.client.id]
            ),
            opts=child,
        )
        target = pulumi.Output.concat("integrations/", integration.id)
        for route_key in sorted(ROUTES):
            aws.apigatewayv2.Route(
                f"{name}-route-{_slug(route_key)}",
                api_id=self.api.id,
                route_key=route_key,
                authorization_type="JWT",
                authorizer_id=self.authorizer.id,
                target=target,
                opts=child,
            )
        for route_key in STATIC_ROUTES:
            aws.apigatewayv2.Route(
                f"{name}-route-{_slug(route_key) or 'get-index'}",
                api_id=self.api.id,
                route_key=route_key,
                authorization_type="NONE",
                target=target,
                opts=child,
            )
        rate, burst = UPLOAD_ROUTE_LIMITS
        self.stage = logged_stage(
            name, self, api=self.api, api_name=api_name, config=config, kms_key_arn=args.kms_key_arn,
            log_format=ACCESS_LOG_FORMAT,
            route_settings=[
                aws.apigatewayv2.StageRouteSettingArgs(
                    route_key=route_key,
                    throttling_rate_limit=min(rate, config.api_rate_limit),
                    throttling_burst_limit=min(burst, config.api_burst_limit),
                )
                for route_key in sorted(ROUTES) if "/uploads" in route_key
            ],
        )
        invoke_permission(name, self, api=self.api, function=args.function)
        # Browsers PUT presigned upload parts straight to the raw bucket, from the app's origin only.
        aws.s3.BucketCorsConfiguration(
            f"{name}-raw-cors",
            bucket=args.raw_bucket.id,
            cors_rules=[aws.s3.BucketCorsConfigurationCorsRuleArgs(
                allowed_methods=["PUT"],
                allowed_origins=[self.api.api_endpoint],
                allowed_headers=["content-type", "content-length"],
                expose_headers=["ETag"],
                max_age_seconds=3000,
            )],
            opts=child,
        )
        self.register_outputs({"url": self.api.api_endpoint})
