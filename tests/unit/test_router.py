"""The router's rule (genomics.router): one Lambda, a Lambda scatter, or Fargate, from format, size, index and
the measured throughputs; Fargate's storage sized from the input; costs at the stack's list prices."""

from __future__ import annotations

import pytest

from genomics import router
from genomics.deployment import Settings

GB = 10**9
ON = Settings(stack="t", fargate=True)


def test_router_small_inputs_run_as_one_lambda() -> None:
    r = router.route(router.Facts("bam", 2 * GB, "bgzf"), ON)
    assert r.mode == "single" and r.predicted_s <= ON.single_budget_s and r.predicted_usd > 0


def test_router_large_sorted_indexed_bam_scatters_when_its_largest_shard_fits() -> None:
    facts = router.Facts("bam", 60 * GB, "bgzf", sorted_indexed=True, largest_shard_bytes=5 * GB, shards=25)
    r = router.route(facts, ON)
    assert r.mode == "scatter", r
    assert "25 shards" in r.reason


def test_router_large_sorted_indexed_cram_scatters_at_the_cram_rate() -> None:
    """A CRAM with its .crai scatters like a BAM; its shards are predicted at the CRAM decode rate (each
    shard decodes twice: record validation, then stats), so a shard too big for that rate goes to Fargate."""
    facts = router.Facts("cram", 15 * GB, "none", sorted_indexed=True, largest_shard_bytes=GB, shards=26)
    r = router.route(facts, ON)
    assert r.mode == "scatter" and "26 shards" in r.reason, r
    big = router.Facts("cram", 15 * GB, "none", sorted_indexed=True, largest_shard_bytes=3 * GB, shards=6)
    as_bam = router.Facts("bam", 15 * GB, "bgzf", sorted_indexed=True, largest_shard_bytes=3 * GB, shards=6)
    assert router.route(big, ON).mode == "fargate" and router.route(as_bam, ON).mode == "scatter"


def test_router_a_contig_too_big_for_a_shard_goes_to_fargate() -> None:
    facts = router.Facts("bam", 60 * GB, "bgzf", sorted_indexed=True, largest_shard_bytes=40 * GB, shards=3)
    assert router.route(facts, ON).mode == "fargate"


@pytest.mark.parametrize("facts", [
    router.Facts("fastq", 35 * GB, "gzip"),  # plain gzip: unsplittable
    router.Facts("bam", 60 * GB, "bgzf"),  # unsorted or no index
    router.Facts("cram", 15 * GB, "none"),
])
def test_router_unsplittable_beyond_the_budget_goes_to_fargate(facts: router.Facts) -> None:
    r = router.route(facts, ON)
    assert r.mode == "fargate" and r.ephemeral_gib == router.fargate_ephemeral_gib(facts.size), r


def test_router_unsplittable_between_budgets_stays_on_one_lambda() -> None:
    """A CRAM predicted over the single budget but under fargate_predicted_s that fits a Lambda's scratch."""
    r = router.route(router.Facts("cram", 8 * GB, "none"), ON)
    assert ON.single_budget_s < r.predicted_s <= ON.fargate_predicted_s and r.mode == "single", r


def test_router_fargate_threshold_from_config_sends_small_inputs_there() -> None:
    cfg = Settings(stack="t", fargate=True, fargate_threshold_bytes=1_000)
    assert router.route(router.Facts("fastq", 2_000, "gzip"), cfg).mode == "fargate"
    assert router.route(router.Facts("fastq", 900, "gzip"), cfg).mode == "single"


def test_router_without_fargate_never_picks_it() -> None:
    r = router.route(router.Facts("fastq", 35 * GB, "gzip"), Settings(stack="t"))
    assert r.mode == "single" and "Fargate is off" in r.reason


def test_router_fargate_storage_is_sized_from_the_input_within_fargate_limits() -> None:
    assert router.fargate_ephemeral_gib(1) == 21
    assert router.fargate_ephemeral_gib(50 * 1024**3) == 110
    assert router.fargate_ephemeral_gib(500 * 1024**3) == 200


def test_router_fargate_cost_follows_the_list_prices() -> None:
    one_hour = router.fargate_usd(3600, 4, 8192, 21, ON)
    assert one_hour == pytest.approx(4 * ON.price_fargate_vcpu_hour + 8 * ON.price_fargate_gb_hour
                                     + 1 * ON.price_fargate_storage_gb_hour)
    assert router.lambda_usd(10, 1024, ON) == pytest.approx(10 * ON.price_lambda_gb_second)


def test_router_projection_table_in_the_docs_is_the_models() -> None:
    """docs/benchmarks.md's projection is what the model predicts from its constants (no hand edits)."""
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md").read_text()
    assert router.projection_table(router.PROJECTION_SETTINGS) in docs


def test_router_projection_meets_the_30x_bam_goal() -> None:
    bam = router.project(router.CASES[0], router.PROJECTION_SETTINGS)
    assert bam["route"] == "scatter" and bam["wall_s"] <= 600 and bam["usd"] <= 0.50, bam
