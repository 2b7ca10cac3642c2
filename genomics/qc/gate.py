"""The QC gate: per-assay pass/warn/fail thresholds and the verdict with its reasons.

Thresholds, per assay and metric::

    {"pass": [lo, hi], "warn": [lo, hi], "min": {"of": "snps", "at_least": 1000}}

``null`` for a bound means unbounded. A value inside ``pass`` passes; inside ``warn`` (the wider band)
but outside ``pass`` warns; outside ``warn`` fails. ``min`` is the minimum-count rule: the metric is
evaluated only when the metric named by ``of`` is at least ``at_least`` (e.g. Ts/Tv needs 1000 SNPs; on
a 12-variant panel it is "not evaluated"). A metric that is absent, ``None`` (not applicable, e.g.
proper pairs in single-end data) or below its minimum count is reported as "not evaluated" in the
reasons and never decides the verdict. If nothing at all could be evaluated the verdict is ``warn``
(a human has to look), never a silent pass.

The verdict is the worst of the evaluated metrics; the deciding metric is the first metric (in the
order of the assay's thresholds) with that verdict, or ``None`` when everything passed.

Per-stack overrides: the JSON in env ``QC_THRESHOLDS`` has the same structure as :data:`DEFAULTS` and is
merged over it key by key (an override may change only ``pass`` of one metric of one assay, add an
assay, or switch a metric off with ``null``).
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Mapping
from typing import Any

CODES: dict[str, str] = {
    "QC_THRESHOLDS_INVALID": "QC_THRESHOLDS is not valid JSON of the documented structure",
    "QC_UNKNOWN_ASSAY": "the assay has no thresholds (use wgs, wes, panel or add it in QC_THRESHOLDS)",
}

VERDICTS = ("pass", "warn", "fail")
NOT_EVALUATED = "not_evaluated"

_SNPS_1000 = {"of": "snps", "at_least": 1000}
_SNPS_200 = {"of": "snps", "at_least": 200}
_GENOTYPES_100 = {"of": "het_plus_hom_alt", "at_least": 100}
_RECORDS_1 = {"of": "records", "at_least": 1}
_READS_1000 = {"of": "reads", "at_least": 1000}


def _t(pass_: list[float | None], warn: list[float | None], minimum: dict[str, Any] | None = None
       ) -> dict[str, Any]:
    out: dict[str, Any] = {"pass": pass_, "warn": warn}
    if minimum is not None:
        out["min"] = dict(minimum)
    return out


# The documented defaults (docs/qc.md has the same table). Percentages are 0-100; rates 0-1.
DEFAULTS: dict[str, dict[str, Any]] = {
    "wgs": {
        "ts_tv": _t([1.95, 2.15], [1.8, 2.3], _SNPS_1000),
        "het_hom_ratio": _t([1.2, 2.3], [1.0, 2.8], _GENOTYPES_100),
        "missing_rate": _t([None, 0.02], [None, 0.05], _RECORDS_1),
        "mean_depth": _t([25, None], [15, None], _RECORDS_1),
        "pct_mapped": _t([95, None], [90, None], _READS_1000),
        "pct_properly_paired": _t([90, None], [80, None], _READS_1000),
        "duplication_rate": _t([None, 15], [None, 30], _READS_1000),
        "mean_coverage": _t([25, None], [15, None], _READS_1000),
        "mean_base_quality": _t([30, None], [25, None], _READS_1000),
        "target_mean_depth": _t([25, None], [15, None], _READS_1000),
        "pct_target_10x": _t([95, None], [90, None], _READS_1000),
        "pct_target_20x": _t([90, None], [75, None], _READS_1000),
    },
    "wes": {
        "ts_tv": _t([2.8, 3.3], [2.5, 3.5], _SNPS_1000),
        "het_hom_ratio": _t([1.2, 2.3], [1.0, 2.8], _GENOTYPES_100),
        "missing_rate": _t([None, 0.03], [None, 0.08], _RECORDS_1),
        "mean_depth": _t([50, None], [30, None], _RECORDS_1),
        "pct_mapped": _t([95, None], [90, None], _READS_1000),
        "pct_properly_paired": _t([90, None], [80, None], _READS_1000),
        "duplication_rate": _t([None, 25], [None, 40], _READS_1000),
        "mean_base_quality": _t([30, None], [25, None], _READS_1000),
        "target_mean_depth": _t([50, None], [30, None], _READS_1000),
        "pct_target_20x": _t([90, None], [80, None], _READS_1000),
        "pct_target_30x": _t([80, None], [60, None], _READS_1000),
    },
    "panel": {
        "ts_tv": _t([1.8, 3.6], [1.5, 4.0], _SNPS_200),
        "het_hom_ratio": _t([0.8, 3.0], [0.5, 4.0], _GENOTYPES_100),
        "missing_rate": _t([None, 0.05], [None, 0.10], _RECORDS_1),
        "mean_depth": _t([200, None], [100, None], _RECORDS_1),
        "pct_mapped": _t([90, None], [80, None], _READS_1000),
        "pct_properly_paired": _t([85, None], [75, None], _READS_1000),
        "duplication_rate": _t([None, 50], [None, 70], _READS_1000),
        "mean_base_quality": _t([30, None], [25, None], _READS_1000),
        "target_mean_depth": _t([200, None], [100, None], _READS_1000),
        "pct_target_30x": _t([95, None], [90, None], _READS_1000),
    },
    # Joint-called or population cohort VCFs (many samples, often a region or a site list): per-sample
    # het/hom and depth expectations of a single genome do not apply; Ts/Tv and missingness do.
    "cohort": {
        "ts_tv": _t([1.9, 2.4], [1.7, 2.6], _SNPS_1000),
        "missing_rate": _t([None, 0.05], [None, 0.10], _RECORDS_1),
    },
}


class GateConfigError(ValueError):
    """Thresholds are malformed. ``code`` is one of CODES."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_band(where: str, band: Any) -> None:
    if not (isinstance(band, list) and len(band) == 2
            and all(b is None or (isinstance(b, int | float) and not isinstance(b, bool)) for b in band)):
        raise GateConfigError("QC_THRESHOLDS_INVALID", f"{where} must be [low, high] with numbers or null")
    lo, hi = band
    if lo is not None and hi is not None and lo > hi:
        raise GateConfigError("QC_THRESHOLDS_INVALID", f"{where}: low {lo} > high {hi}")


def validate(thresholds: Mapping[str, Any]) -> None:
    """Raise :class:`GateConfigError` unless every assay/metric entry has the documented structure."""
    if not isinstance(thresholds, Mapping):
        raise GateConfigError("QC_THRESHOLDS_INVALID", "top level must be an object of assays")
    for assay, metrics in thresholds.items():
        if not isinstance(metrics, Mapping):
            raise GateConfigError("QC_THRESHOLDS_INVALID", f"{assay} must be an object of metrics")
        for metric, spec in metrics.items():
            if spec is None:
                continue  # switched off
            where = f"{assay}.{metric}"
            if not isinstance(spec, Mapping) or "pass" not in spec or "warn" not in spec:
                raise GateConfigError("QC_THRESHOLDS_INVALID", f"{where} needs 'pass' and 'warn' bands")
            _check_band(f"{where}.pass", spec["pass"])
            _check_band(f"{where}.warn", spec["warn"])
            p_lo, p_hi = spec["pass"]
            w_lo, w_hi = spec["warn"]
            if (w_lo is not None and (p_lo is None or p_lo < w_lo)) or (
                w_hi is not None and (p_hi is None or p_hi > w_hi)
            ):
                raise GateConfigError("QC_THRESHOLDS_INVALID", f"{where}: the pass band must lie inside warn")
            minimum = spec.get("min")
            if minimum is not None and not (
                isinstance(minimum, Mapping) and isinstance(minimum.get("of"), str)
                and isinstance(minimum.get("at_least"), int | float)
            ):
                raise GateConfigError("QC_THRESHOLDS_INVALID", f"{where}.min must be {{of, at_least}}")


def load_thresholds(override: str | Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Defaults merged with ``override`` (a dict, or JSON text); ``None`` reads env ``QC_THRESHOLDS``."""
    if override is None:
        override = os.environ.get("QC_THRESHOLDS", "")
    if isinstance(override, str):
        if not override.strip():
            override = {}
        else:
            try:
                override = json.loads(override)
            except json.JSONDecodeError as e:
                raise GateConfigError("QC_THRESHOLDS_INVALID", f"not JSON: {e}") from e
    if not isinstance(override, Mapping):
        raise GateConfigError("QC_THRESHOLDS_INVALID", "top level must be an object of assays")
    merged = _merge(DEFAULTS, override)
    validate(merged)
    return merged


def _inside(value: float, band: list[float | None]) -> bool:
    lo, hi = band
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _band_text(band: list[float | None]) -> str:
    lo, hi = band
    if lo is None:
        return f"<= {hi}"
    if hi is None:
        return f">= {lo}"
    return f"{lo}-{hi}"


def _count(metrics: Mapping[str, Any], name: str) -> float | None:
    if name == "het_plus_hom_alt":
        het, hom = metrics.get("het"), metrics.get("hom_alt")
        return None if het is None or hom is None else het + hom
    value = metrics.get(name)
    return value if isinstance(value, int | float) else None


def evaluate(metrics: Mapping[str, Any], assay: str, thresholds: Mapping[str, Any] | None = None
             ) -> dict[str, Any]:
    """The gate for one sample: ``{"verdict", "reasons", "deciding_metric", "checks"}``.

    ``checks`` maps each metric with a threshold to ``{"value", "verdict", "reason"}`` where verdict is
    pass, warn, fail or not_evaluated. Metrics present only in the input (no threshold) are not listed.
    """
    table = load_thresholds() if thresholds is None else thresholds
    if assay not in table:
        raise GateConfigError("QC_UNKNOWN_ASSAY", f"no thresholds for assay {assay!r}; known: {sorted(table)}")
    checks: dict[str, dict[str, Any]] = {}
    for metric, spec in table[assay].items():
        if spec is None:
            continue
        if metric not in metrics:
            continue  # this input type does not produce it (e.g. pct_mapped for a VCF)
        value = metrics[metric]
        minimum = spec.get("min")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            checks[metric] = {"value": None, "verdict": NOT_EVALUATED,
                              "reason": f"{metric} not evaluated: not applicable to this input"}
            continue
        if minimum is not None:
            have = _count(metrics, minimum["of"])
            if have is None or have < minimum["at_least"]:
                checks[metric] = {
                    "value": value, "verdict": NOT_EVALUATED,
                    "reason": (f"{metric} not evaluated: {minimum['of']}={have} is below the minimum "
                               f"{minimum['at_least']} needed for a meaningful value"),
                }
                continue
        if _inside(value, spec["pass"]):
            verdict = "pass"
        elif _inside(value, spec["warn"]):
            verdict = "warn"
        else:
            verdict = "fail"
        checks[metric] = {
            "value": value,
            "verdict": verdict,
            "reason": (f"{metric}={value} {verdict} (pass {_band_text(spec['pass'])}, "
                       f"warn {_band_text(spec['warn'])}, assay {assay})"),
        }
    evaluated = [(m, c) for m, c in checks.items() if c["verdict"] in VERDICTS]
    reasons = [c["reason"] for c in checks.values() if c["verdict"] != "pass"]
    if not evaluated:
        return {"verdict": "warn", "deciding_metric": None, "checks": checks,
                "reasons": ["no metric could be evaluated for this input", *reasons]}
    worst = max(VERDICTS.index(c["verdict"]) for _, c in evaluated)
    verdict = VERDICTS[worst]
    deciding = None if verdict == "pass" else next(m for m, c in evaluated if c["verdict"] == verdict)
    if verdict == "pass":
        reasons = [f"all {len(evaluated)} evaluated metrics pass", *reasons]
    return {"verdict": verdict, "deciding_metric": deciding, "checks": checks, "reasons": reasons}
