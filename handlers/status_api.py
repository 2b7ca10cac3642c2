"""status-api: the read-only status API (API Gateway HTTP API, IAM-authorised) over the ledger.

Thin: build the ledger from the environment, answer with :func:`genomics.status_api.respond` (or, for the
partner routes, :func:`genomics.drs.api.respond`: DRS objects, access URLs, receipts); a ledger failure
is logged with the request and answered 500 without internals.
"""

from __future__ import annotations

from typing import Any

from genomics import clients
from genomics.drs import api as drs
from genomics.drs.state import DeliveryState
from genomics.ledger import Ledger
from genomics.observability import function
from genomics.status_api import respond, server_error

FUNCTION = "status-api"
logger, metrics, lambda_handler = function(FUNCTION)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event.get("routeKey")
    ledger = Ledger.from_environment()
    try:
        if route in drs.ROUTES:
            response = drs.respond(event, DeliveryState(ledger), clients.client("s3"), drs.DrsConfig.from_env())
        else:
            response = respond(event, ledger)
    except Exception:
        logger.exception("status api: the ledger failed", extra={"route": route})
        metrics.add_metric(name="ApiServerErrors", unit="Count", value=1)
        return server_error(getattr(context, "aws_request_id", None))
    metrics.add_metric(name=f"ApiResponses{response['statusCode'] // 100}xx", unit="Count", value=1)
    logger.info("status api", extra={"route": route, "status": response["statusCode"]})
    return response
