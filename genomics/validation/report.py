"""The validation report every validator returns, and its JSON form.

Coordinates: ``line`` is the 1-based physical line of the file (what an editor shows) and ``record``
the 1-based data record; both are user-facing positions, so they are kept 1-based here, at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
NONCONFORMING = "nonconforming"
WARNING = "warning"

# Validation profiles: which problems reject a file.
#
# Validators file every problem in one of three tiers: ``error`` (the file cannot be read or would come
# out wrong: always rejected), ``nonconforming`` (the file breaks a rule of its specification but htslib
# reads it and processing carries it through: rejected only by ``strict``) and ``warning``.
#
# - "default": rejects only errors; every nonconforming problem is a warning with the same code.
# - "strict": the specification: nonconforming problems reject the file too (archives that must refuse
#   non-conformant files).
# - "legacy": the profile of earlier releases (strict, except that a reserved INFO/FORMAT key declared
#   with another Number/Type, as the 1000 Genomes pilot releases do, is a warning). Kept so that uploads
#   and scripts naming it keep working.
#
# Chosen per upload (object metadata ``x-amz-meta-validation-profile``, ``genomics validate --profile``),
# else per project (stack setting ``validationProfiles``: ``project=profile`` pairs, see
# ``project_profiles``), else "default".
DEFAULT_PROFILE = "default"
PROFILES: dict[str, frozenset[str]] = {
    "default": frozenset(),
    "strict": frozenset(),
    "legacy": frozenset({"VCF_META_RESERVED", "VCF_META_RESERVED_LOOSE"}),
}
# The profiles under which nonconforming problems stay errors.
_REJECT_NONCONFORMING = frozenset({"strict", "legacy"})
# How many warnings the conformance report keeps in the ledger (a DynamoDB item is at most 400 KB); the
# per-code counts stay exact.
MAX_CONFORMANCE_WARNINGS = 100


class ProfileError(ValueError):
    """A validation profile name or a project -> profile setting that is not understood."""


def check_profile(name: str) -> str:
    """The profile called ``name`` (case-insensitive); ProfileError when there is none."""
    key = name.strip().lower()
    if key not in PROFILES:
        raise ProfileError(f"unknown validation profile {name!r}; use one of {', '.join(PROFILES)}")
    return key


def project_profiles(text: str) -> dict[str, str]:
    """``"archive=strict, trial=default"`` (the ``validationProfiles`` stack setting) -> project -> profile."""
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        project, eq, profile = part.partition("=")
        if not eq or not project.strip():
            raise ProfileError(f"validation profile setting {part.strip()!r} is not project=profile")
        out[project.strip()] = check_profile(profile)
    return out


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a file: a stable code, what to fix, and where.

    ``nonconforming``: the problem breaks the specification but the file can be processed correctly;
    an error only under the strict profiles, a warning otherwise."""

    code: str
    message: str
    line: int | None = None
    record: int | None = None
    nonconforming: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "line": self.line}
        if self.record is not None:
            out["record"] = self.record
        if self.nonconforming:
            out["nonconforming"] = True
        return out


@dataclass(slots=True)
class ValidationReport:
    """The verdict on one file. ``valid`` is True exactly when there is no error."""

    path: str
    format: str
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    # Small facts learnt while validating (records, samples, contigs, compression, sha256 ...).
    stats: dict[str, Any] = field(default_factory=dict)
    # Validators stop collecting after this many errors of one code (the count is still kept).
    max_per_code: int = 20
    # (code, tier) -> occurrences, including those not kept in the lists; tier: error/nonconforming/warning.
    _counts: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    @property
    def valid(self) -> bool:
        return not self.errors

    def error(
        self,
        code: str,
        message: str,
        line: int | None = None,
        record: int | None = None,
        *,
        nonconforming: bool = False,
    ) -> None:
        """A problem that rejects the file (``nonconforming``: only under the strict profiles)."""
        tier = NONCONFORMING if nonconforming else ERROR
        self._add(self.errors, tier, Issue(code, message, line, record, nonconforming))

    def nonconforming(self, code: str, message: str, line: int | None = None, record: int | None = None) -> None:
        """A deviation from the specification that htslib tolerates and processing carries through."""
        self.error(code, message, line, record, nonconforming=True)

    def warn(self, code: str, message: str, line: int | None = None, record: int | None = None) -> None:
        self._add(self.warnings, WARNING, Issue(code, message, line, record))

    def count_unlisted(self, code: str, tier: str, n: int) -> None:
        """Count ``n`` more occurrences of ``code`` that a validator found but did not list (its own cap)."""
        if n > 0:
            self._counts[(code, tier)] = self._counts.get((code, tier), 0) + n

    def listed(self, code: str, tier: str) -> int:
        """How many occurrences of ``code`` in ``tier`` were counted so far (listed or not)."""
        return self._counts.get((code, tier), 0)

    def _add(self, bucket: list[Issue], tier: str, issue: Issue) -> None:
        key = (issue.code, tier)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if n <= self.max_per_code:
            bucket.append(issue)

    def apply_profile(self, profile: str) -> None:
        """Settle the verdict under ``profile``: outside the strict profiles, nonconforming errors become
        warnings; the profile's extra codes (PROFILES) become warnings too."""
        name = check_profile(profile)
        codes = PROFILES[name]
        keep_nonconforming = name in _REJECT_NONCONFORMING

        def moves(i: Issue) -> bool:
            return i.code in codes or (i.nonconforming and not keep_nonconforming)

        moved = [i for i in self.errors if moves(i)]
        if moved:
            self.errors = [i for i in self.errors if not moves(i)]
            self.warnings = moved + self.warnings
        for code, tier in list(self._counts):
            if tier == WARNING or not (code in codes or (tier == NONCONFORMING and not keep_nonconforming)):
                continue
            n = self._counts.pop((code, tier))
            self._counts[(code, WARNING)] = self._counts.get((code, WARNING), 0) + n
        self.stats["profile"] = name

    def issue_counts(self) -> dict[str, int]:
        """How often each code occurred, including the occurrences not kept in the lists."""
        out: dict[str, int] = {}
        for (code, _), n in self._counts.items():
            out[code] = out.get(code, 0) + n
        return out

    def warning_counts(self) -> dict[str, int]:
        """How often each warning code occurred (after the profile), including those not kept."""
        return {code: n for (code, tier), n in self._counts.items() if tier == WARNING}

    def conformance(self, limit: int = MAX_CONFORMANCE_WARNINGS) -> dict[str, Any]:
        """The conformance report: every warning (code, message, line, record), as stored on the job in
        the ledger, shown by the status API and the dashboard, and copied into the processing sidecar
        and the QC report. ``codes`` counts every occurrence; ``warnings`` keeps the first ``limit``
        (and at most ``max_per_code`` per code); ``truncated`` says when some were left out."""
        counts = self.warning_counts()
        total = sum(counts.values())
        kept = [i.to_json() for i in self.warnings[:limit]]
        return {
            "profile": self.stats.get("profile", DEFAULT_PROFILE),
            "valid": self.valid,
            "warning_count": total,
            "codes": dict(sorted(counts.items())),
            "warnings": kept,
            "truncated": total > len(kept),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "valid": self.valid,
            "errors": [i.to_json() for i in self.errors],
            "warnings": [i.to_json() for i in self.warnings],
            "profile": self.stats.get("profile", DEFAULT_PROFILE),
            "warning_counts": self.warning_counts(),
        }

    def summary(self, limit: int = 3) -> str:
        """The first errors as one line, for a REJECTED job's reason."""
        parts = []
        for issue in self.errors[:limit]:
            where = f" (line {issue.line})" if issue.line else ""
            parts.append(f"{issue.code}: {issue.message}{where}")
        more = len(self.errors) - limit
        if more > 0:
            parts.append(f"... and {more} more")
        return "; ".join(parts)
