"""StatusApi: the read-only status API, an API Gateway HTTP API in front of the status-api function.

Every route of ``genomics.status_api.ROUTES`` and of ``genomics.drs.api.ROUTES`` (the partners' DRS and receipt
routes, callable only by partner roles: infra.partners) and nothing else; each requires IAM authorisation (SigV4), so
only principals given ``execute-api:Invoke`` reach it: the component creates a managed policy
(``<prefix>-status-api-read``) to attach to the roles of researchers, operators or a LIMS. The
``$default`` stage deploys automatically, throttles (stack config ``api_rate_limit`` /
``api_burst_limit``) and writes JSON access logs to a log group with the stack's retention. Lambda
allows API Gateway to invoke the function only from this API. Pay per request: nothing runs idle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics.deployment import Names
from genomics.drs.api import ROUTES as PARTNER_ROUTES
from genomics.status_api import ROUTES
from infra.common import log_group
from infra.config import StackConfig

# What one access-log line holds (API Gateway context variables).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "sourceIp": "$context.identity.sourceIp",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
}


@dataclass(frozen=True)
class StatusApiArgs:
    names: Names
    config: StackConfig
    function: aws.lambda_.Function
    kms_key_arn: pulumi.Input[str] | None = None


class StatusApi(pulumi.ComponentResource):
    """HTTP API + IAM-authorised routes + Lambda integration + stage with access logs + invoke policy."""

    api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage
    invoke_policy: aws.iam.Policy

    def __init__(self, name: str, args: StatusApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:api:StatusApi", name, None, opts)
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)
        api_name = f"{names.prefix}-status-api"

        self.api, integration = lambda_http_api(
            name, self, api_name=api_name, function=args.function,
            description="Read-only status of samples, jobs and projects (IAM-authorised)",
        )
        # The partner routes (GA4GH DRS, receipts) are on the same API; only partner roles may call them
        # (infra.partners), and the readers' policy below does not include them.
        for route_key in sorted({*ROUTES, *PARTNER_ROUTES}):
            aws.apigatewayv2.Route(
                f"{name}-route-{_slug(route_key)}",
                api_id=self.api.id,
                route_key=route_key,
                authorization_type="AWS_IAM",
                target=pulumi.Output.concat("integrations/", integration.id),
                opts=child,
            )
        self.stage = logged_stage(name, self, api=self.api, api_name=api_name, config=config,
                                  kms_key_arn=args.kms_key_arn, log_format=ACCESS_LOG_FORMAT)
        invoke_permission(name, self, api=self.api, function=args.function)
        self.invoke_policy = aws.iam.Policy(
            f"{name}-read-policy",
            name=f"{api_name}-read",
            description=f"Call the read-only routes of {api_name} (attach to readers' roles)",
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CallStatusApi",
                            "Effect": "Allow",
                            "Action": "execute-api:Invoke",
                            "Resource": [
                                pulumi.Output.concat(self.api.execution_arn, "/$default/", _arn_route(route_key))
                                for route_key in sorted(ROUTES)
                            ],
                        }
                    ],
                }
            ),
            opts=child,
        )
        self.register_outputs(
            {"endpoint": self.api.api_endpoint, "invoke_policy_arn": self.invoke_policy.arn}
        )


def lambda_http_api(name: str, parent: pulumi.Resource, *, api_name: str, description: str,
                    function: aws.lambda_.Function) -> tuple[aws.apigatewayv2.Api, aws.apigatewayv2.Integration]:
    """An HTTP API and its Lambda proxy integration (payload 2.0, 10 s) — the status API's and the web app's."""
    child = pulumi.ResourceOptions(parent=parent)
    api = aws.apigatewayv2.Api(f"{name}-api", name=api_name, protocol_type="HTTP", description=description,
                               opts=child)
    integration = aws.apigatewayv2.Integration(
        f"{name}-integration",
        api_id=api.id,
        integration_type="AWS_PROXY",
        integration_method="POST",
        integration_uri=function.arn,
        payload_format_version="2.0",
        timeout_milliseconds=10_000,
        opts=child,
    )
    return api, integration


def logged_stage(name: str, parent: pulumi.Resource, *, api: aws.apigatewayv2.Api, api_name: str,
                 config: StackConfig, kms_key_arn: pulumi.Input[str] | None, log_format: dict[str, str],
                 route_settings: list[aws.apigatewayv2.StageRouteSettingArgs] | None = None
                 ) -> aws.apigatewayv2.Stage:
    """The ``$default`` stage: auto-deployed, throttled (stack config), JSON access logs to a log group
    with the stack's retention."""
    access_logs = log_group(f"{name}-access-logs", parent, name=f"/aws/apigateway/{api_name}",
                            retention_days=config.settings.log_retention_days, kms_key_arn=kms_key_arn)
    return aws.apigatewayv2.Stage(
        f"{name}-stage",
        api_id=api.id,
        name="$default",
        auto_deploy=True,
        access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
            destination_arn=access_logs.arn, format=json.dumps(log_format, sort_keys=True)
        ),
        default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
            throttling_rate_limit=config.api_rate_limit,
            throttling_burst_limit=config.api_burst_limit,
        ),
        route_settings=route_settings,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def invoke_permission(name: str, parent: pulumi.Resource, *, api: aws.apigatewayv2.Api,
                      function: aws.lambda_.Function) -> aws.lambda_.Permission:
    """API Gateway may invoke ``function`` from this API only."""
    return aws.lambda_.Permission(
        f"{name}-invoke",
        action="lambda:InvokeFunction",
        function=function.name,
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _slug(route_key: str) -> str:
    """``GET /projects/{project}/cost`` -> ``get-projects-project-cost`` (a resource name)."""
    return "-".join(p for p in "".join(c if c.isalnum() else " " for c in route_key.lower()).split())


def _arn_route(route_key: str) -> str:
    """``GET /jobs/{job_id}`` -> ``GET/jobs/*`` (the execute-api resource of a route)."""
    method, path = route_key.split(" ", 1)
    parts = ["*" if p.startswith("{") else p for p in path.strip("/").split("/")]
    return f"{method}/{'/'.join(parts)}"
