"""metadata-updater: the workflow's job transitions, failures and final record in the ledger."""

from __future__ import annotations

import os
from typing import Any

from genomics.ledger import Ledger
from genomics.ledger.updater import Prices, handle
from genomics.observability import function

FUNCTION = "metadata-updater"
logger, metrics, lambda_handler = function(FUNCTION)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ledger = Ledger.from_environment()
    prices = Prices(
        lambda_gb_second=float(os.environ.get("PRICE_LAMBDA_GB_SECOND", Prices.lambda_gb_second)),
        sfn_transition=float(os.environ.get("PRICE_SFN_TRANSITION", Prices.sfn_transition)),
    )
    result = handle(event, ledger, prices)
    metrics.add_metric(name="LedgerWrites", unit="Count", value=1)
    if result["status"] in ("COMPLETED", "QC_FAILED", "FAILED"):
        metrics.add_metric(name=f"Jobs{result['status'].title().replace('_', '')}", unit="Count", value=1)
    logger.info("ledger updated", extra=result)
    return result
