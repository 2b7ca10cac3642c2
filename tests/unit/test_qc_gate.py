"""The QC gate: bands, minimum-count rule, not-evaluated reasons, deciding metric, overrides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from genomics.qc.gate import DEFAULTS, GateConfigError, evaluate, load_thresholds

WGS_OK = {"snps": 4_000_000, "ts_tv": 2.05, "het": 2_000_000, "hom_alt": 1_300_000,
          "het_hom_ratio": 1.54, "records": 4_500_000, "missing_rate": 0.01, "mean_depth": 32.0}


def test_gate_wgs_all_pass():
    g = evaluate(WGS_OK, "wgs", load_thresholds({}))
    assert g["verdict"] == "pass" and g["deciding_metric"] is None
    assert {c["verdict"] for c in g["checks"].values()} == {"pass"}
    assert g["reasons"][0].startswith("all 4 evaluated metrics pass")


@pytest.mark.parametrize(("ts_tv", "verdict"), [(2.0, "pass"), (2.2, "warn"), (1.85, "warn"), (2.5, "fail"),
                                                 (1.5, "fail")])
def test_gate_wgs_ts_tv_bands(ts_tv, verdict):
    g = evaluate({**WGS_OK, "ts_tv": ts_tv}, "wgs", load_thresholds({}))
    assert g["checks"]["ts_tv"]["verdict"] == verdict
    assert g["verdict"] == verdict
    if verdict != "pass":
        assert g["deciding_metric"] == "ts_tv"


def test_gate_exome_ts_tv_is_different_from_wgs():
    m = {**WGS_OK, "ts_tv": 3.0}
    assert evaluate(m, "wes", load_thresholds({}))["checks"]["ts_tv"]["verdict"] == "pass"
    assert evaluate(m, "wgs", load_thresholds({}))["checks"]["ts_tv"]["verdict"] == "fail"


def test_gate_small_panel_ts_tv_not_evaluated_not_failed():
    # 12 variants, Ts/Tv 0.5: meaningless at this count, so it must neither fail nor pass silently.
    m = {"records": 12, "snps": 9, "ts_tv": 0.5, "het": 5, "hom_alt": 4, "het_hom_ratio": 1.25,
         "missing_rate": 0.0, "mean_depth": 250.0}
    g = evaluate(m, "panel", load_thresholds({}))
    assert g["checks"]["ts_tv"]["verdict"] == "not_evaluated"
    assert g["checks"]["het_hom_ratio"]["verdict"] == "not_evaluated"
    assert g["verdict"] == "pass"
    assert any(r.startswith("ts_tv not evaluated: snps=9 is below the minimum 200") for r in g["reasons"])


def test_gate_not_applicable_metric_is_reported():
    m = {"reads": 50_000, "pct_mapped": 99.0, "pct_properly_paired": None, "duplication_rate": 3.0}
    g = evaluate(m, "wgs", load_thresholds({}))
    assert g["checks"]["pct_properly_paired"]["verdict"] == "not_evaluated"
    assert "pct_properly_paired not evaluated: not applicable to this input" in g["reasons"]
    assert g["verdict"] == "pass"


def test_gate_nothing_evaluated_warns():
    g = evaluate({"records": 0, "snps": 0, "ts_tv": None}, "wgs", load_thresholds({}))
    assert g["verdict"] == "warn" and g["deciding_metric"] is None
    assert g["reasons"][0] == "no metric could be evaluated for this input"


def test_gate_worst_verdict_and_first_deciding_metric():
    m = {**WGS_OK, "ts_tv": 2.25, "missing_rate": 0.2, "mean_depth": 5.0}
    g = evaluate(m, "wgs", load_thresholds({}))
    assert g["verdict"] == "fail"
    assert g["deciding_metric"] == "missing_rate"  # first failing metric in threshold order
    assert g["checks"]["ts_tv"]["verdict"] == "warn"


def test_gate_env_override_merges_over_defaults(monkeypatch):
    monkeypatch.setenv("QC_THRESHOLDS", json.dumps({"wgs": {"mean_depth": {"pass": [40, None],
                                                                          "warn": [30, None]}}}))
    t = load_thresholds()
    assert t["wgs"]["mean_depth"]["pass"] == [40, None]
    assert t["wgs"]["ts_tv"] == DEFAULTS["wgs"]["ts_tv"]  # untouched
    assert t["wgs"]["mean_depth"]["min"] == DEFAULTS["wgs"]["mean_depth"]["min"]
    assert evaluate(WGS_OK, "wgs", t)["checks"]["mean_depth"]["verdict"] == "warn"


def test_gate_override_can_switch_metric_off_and_add_assay():
    t = load_thresholds({"wgs": {"ts_tv": None}, "rna": {"pct_mapped": {"pass": [80, None], "warn": [60, None]}}})
    assert "ts_tv" not in evaluate({**WGS_OK, "ts_tv": 9.0}, "wgs", t)["checks"]
    assert evaluate({"reads": 5000, "pct_mapped": 70.0}, "rna", t)["verdict"] == "warn"


@pytest.mark.parametrize("bad", [
    "{not json",
    '{"wgs": {"ts_tv": {"pass": [2.0]}}}',
    '{"wgs": {"ts_tv": {"pass": [2.2, 2.0], "warn": [1.0, 3.0]}}}',
    '{"wgs": {"ts_tv": {"pass": [1.0, 3.0], "warn": [1.5, 2.5]}}}',
    '{"wgs": {"ts_tv": {"pass": ["a", 2], "warn": [1, 3]}}}',
    '{"wgs": {"ts_tv": {"min": {"of": 3}}}}',
    '[1, 2]',
])
def test_gate_invalid_thresholds_rejected(bad):
    with pytest.raises(GateConfigError) as e:
        load_thresholds(bad)
    assert e.value.code == "QC_THRESHOLDS_INVALID"


def test_gate_unknown_assay():
    with pytest.raises(GateConfigError) as e:
        evaluate(WGS_OK, "rnaseq", load_thresholds({}))
    assert e.value.code == "QC_UNKNOWN_ASSAY"


def test_gate_defaults_every_assay_has_the_documented_metrics():
    for assay in ("wgs", "wes", "panel"):
        assert {"ts_tv", "het_hom_ratio", "missing_rate", "mean_depth", "pct_mapped",
                "duplication_rate"} <= set(DEFAULTS[assay])


def _band(text: str) -> list[float | None]:
    text = text.strip()
    if text.startswith("≤"):
        return [None, float(text[1:])]
    if text.startswith("≥"):
        return [float(text[1:]), None]
    lo, hi = text.split("\u2013")  # en dash
    return [float(lo), float(hi)]


def test_gate_docs_table_matches_defaults():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "qc.md").read_text()
    rows = [ln for ln in doc.splitlines() if re.match(r"^\| (wgs|wes|panel|cohort) \|", ln)]
    seen = set()
    for row in rows:
        assay, metric, pass_, warn, when = (c.strip() for c in row.strip("|").split("|"))
        metric = metric.strip("`")
        spec = DEFAULTS[assay][metric]
        assert _band(pass_) == spec["pass"], row
        assert _band(warn) == spec["warn"], row
        assert when == f"{spec['min']['of']} ≥ {spec['min']['at_least']}", row
        seen.add((assay, metric))
    assert seen == {(a, m) for a, ms in DEFAULTS.items() for m in ms}
