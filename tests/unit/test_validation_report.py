"""ValidationReport tiers and profiles, and the conformance report's shape (ledger, status API, dashboard)."""

from __future__ import annotations

import pytest

from genomics.dashboard import _warnings_cell
from genomics.status import job_row
from genomics.validation.report import ProfileError, ValidationReport, check_profile, project_profiles


def _report() -> ValidationReport:
    rep = ValidationReport("x.vcf", "vcf", max_per_code=2)
    rep.error("VCF_GT_ALLELE_RANGE", "GT 0/3 with one ALT", line=12, record=3)
    for n in range(5):
        rep.nonconforming("VCF_UNSORTED", f"POS goes back ({n})", line=20 + n, record=10 + n)
    rep.warn("VCF_CRLF", "CR LF", line=4, record=1)
    return rep


def test_report_default_profile_turns_nonconforming_errors_into_warnings():
    rep = _report()
    rep.apply_profile("default")
    assert [i.code for i in rep.errors] == ["VCF_GT_ALLELE_RANGE"]  # data would come out wrong: stays
    assert [i.code for i in rep.warnings] == ["VCF_UNSORTED", "VCF_UNSORTED", "VCF_CRLF"]
    assert rep.warning_counts() == {"VCF_UNSORTED": 5, "VCF_CRLF": 1}  # dropped occurrences counted
    assert rep.issue_counts() == {"VCF_GT_ALLELE_RANGE": 1, "VCF_UNSORTED": 5, "VCF_CRLF": 1}
    assert rep.stats["profile"] == "default"


@pytest.mark.parametrize("profile", ["strict", "legacy"])
def test_report_strict_profiles_keep_nonconforming_errors(profile):
    rep = _report()
    rep.apply_profile(profile)
    assert [i.code for i in rep.errors] == ["VCF_GT_ALLELE_RANGE", "VCF_UNSORTED", "VCF_UNSORTED"]
    assert rep.warning_counts() == {"VCF_CRLF": 1}


def test_report_legacy_relaxes_reserved_header_keys_only():
    rep = ValidationReport("x.vcf", "vcf")
    rep.nonconforming("VCF_META_RESERVED", "GQ declared Float", line=5)
    rep.nonconforming("VCF_META_DESCRIPTION", "unquoted", line=6)
    rep.apply_profile("legacy")
    assert [i.code for i in rep.errors] == ["VCF_META_DESCRIPTION"]
    assert [i.code for i in rep.warnings] == ["VCF_META_RESERVED"]


def test_report_conformance_lists_warnings_with_line_and_record():
    rep = _report()
    rep.apply_profile("default")
    conf = rep.conformance(limit=2)
    assert conf["profile"] == "default" and conf["valid"] is False
    assert conf["warning_count"] == 6 and conf["codes"] == {"VCF_CRLF": 1, "VCF_UNSORTED": 5}
    assert conf["warnings"][0] == {
        "code": "VCF_UNSORTED", "message": "POS goes back (0)", "line": 20, "record": 10, "nonconforming": True,
    }
    assert len(conf["warnings"]) == 2 and conf["truncated"] is True
    assert rep.to_json()["warning_counts"] == conf["codes"]


def test_report_profile_names_and_project_setting():
    assert check_profile(" Strict ") == "strict"
    with pytest.raises(ProfileError, match="unknown validation profile"):
        check_profile("lenient")
    assert project_profiles("archive=strict, trial = default,") == {"archive": "strict", "trial": "default"}
    assert project_profiles("") == {}
    for bad in ("archive", "=strict", "archive=lenient"):
        with pytest.raises(ProfileError):
            project_profiles(bad)


def test_report_conformance_in_status_row_and_dashboard_cell():
    rep = _report()
    rep.apply_profile("default")
    job = {"job_id": "j1", "status": "COMPLETED", "conformance": rep.conformance()}
    row = job_row(job)
    assert row["warnings"] == 6 and row["profile"] == "default"
    cell = _warnings_cell(job)
    assert "<summary>6 (default)</summary>" in cell and "VCF_UNSORTED&times;5" in cell
    assert "line 20 record 10" in cell
    assert "&mdash;" in _warnings_cell({"status": "COMPLETED"})
    clean = ValidationReport("y.vcf", "vcf")
    clean.apply_profile("strict")
    assert "none (strict)" in _warnings_cell({"conformance": clean.conformance()})


def test_report_stack_setting_rejects_unknown_profile():
    from genomics.deployment import Settings, environment

    with pytest.raises(ProfileError, match="bogus"):
        Settings(stack="t", validation_profiles="archive=bogus")
    from genomics.deployment import Names

    env = environment("validation-handler", Names("t", "123456789012", "us-east-1"),
                      Settings(stack="t", validation_profiles="archive=strict"))
    assert project_profiles(env["VALIDATION_PROFILES"]) == {"archive": "strict"}
