"""web-api: the web app behind API Gateway (HTTP API; Cognito JWT authorizer on every /api route).

Thin: static routes answer the bundled app; /api routes build the ledger, memberships and an S3 client
from the environment and answer with :func:`genomics.webapp.api.respond`. Every request is logged with the
route, status and the caller's ``sub`` (never a token: API Gateway passes only the verified claims). An AWS
failure is logged and answered 500 without internals.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from genomics import clients
from genomics.ledger import Ledger
from genomics.observability import function
from genomics.status_api import server_error
from genomics.webapp.api import WebConfig, respond
from genomics.webapp.members import Members
from genomics.webapp.static import STATIC_ROUTES, asset_response, cognito_endpoint, s3_origins
from genomics.webapp.throttle import Throttle

FUNCTION = "web-api"
logger, metrics, lambda_handler = function(FUNCTION)


def _s3() -> Any:
    """S3 client for presigning: SigV4, the regional virtual-hosted endpoint (the CSP allows exactly it);
    built once per container."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or f"https://s3.{region}.amazonaws.com"
    style = "path" if os.environ.get("AWS_ENDPOINT_URL") else "virtual"
    config = clients.config(signature_version="s3v4", s3={"addressing_style": style})
    return clients.cached("s3-presign", lambda: boto3.client("s3", region_name=region, endpoint_url=endpoint,
                                                             config=config))


def start_task(task: dict[str, Any]) -> None:
    """Invoke web-tasks asynchronously (Lambda queues the event and retries it)."""
    clients.client("lambda").invoke(FunctionName=os.environ["WEB_TASKS_FUNCTION"], InvocationType="Event",
                                    Payload=json.dumps(task).encode())


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = str(event.get("routeKey") or "")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if route in STATIC_ROUTES:
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        connect = s3_origins(os.environ["RAW_BUCKET"], region, endpoint)
        settings = {"region": region, "client_id": os.environ.get("USER_POOL_CLIENT_ID", ""),
                    "cognito": cognito_endpoint(region, endpoint)}
        response = asset_response(route, event.get("pathParameters") or {}, connect, settings)
        logger.info("web asset", extra={"route": route, "status": response["statusCode"]})
        return response
    ledger = Ledger.from_environment()
    config = WebConfig(raw_bucket=os.environ["RAW_BUCKET"], processed_bucket=os.environ["PROCESSED_BUCKET"],
                       delivery_bucket=os.environ["DELIVERY_BUCKET"],
                       presign_ttl_s=int(os.environ.get("PRESIGN_TTL_S", "900")),
                       qc_thresholds=os.environ.get("QC_THRESHOLDS", ""))
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    sub = str(claims.get("sub") or "-")
    try:
        throttle = Throttle(os.environ["METADATA_TABLE"], int(os.environ["WEB_RATE_LIMIT"]),
                            int(os.environ["WEB_RATE_WINDOW_S"]), ledger.client)
        response, _user = respond(event, ledger, Members(os.environ["METADATA_TABLE"], ledger.client), _s3(), config,
                                  start_task, throttle)
    except Exception:
        logger.exception("web api: AWS failed", extra={"route": route, "sub": sub})
        metrics.add_metric(name="WebApiServerErrors", unit="Count", value=1)
        return server_error(getattr(context, "aws_request_id", None))
    metrics.add_metric(name=f"WebApiResponses{response['statusCode'] // 100}xx", unit="Count", value=1)
    logger.info("web api", extra={"route": route, "status": response["statusCode"], "sub": sub})
    return response
