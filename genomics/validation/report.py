"""The validation report every validator returns, and its JSON form.

Coordinates: ``line`` is the 1-based physical line of the file (what an editor shows) and ``record``
the 1-based data record; both are user-facing positions, so they are kept 1-based here, at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"

# Validation profiles. "strict" is the specification. "legacy" accepts files from widely used older
# pipelines whose header declares a reserved INFO/FORMAT key with the wrong Number/Type (the 1000
# Genomes pilot releases declare FORMAT GQ as Float and GL as Number=3): the mismatch stays visible as
# a warning and bcftools processes the records by their declared types. Chosen per upload with
# object metadata ``x-amz-meta-validation-profile`` or ``genomics validate --profile``.
PROFILES: dict[str, frozenset[str]] = {
    "strict": frozenset(),
    "legacy": frozenset({"VCF_META_RESERVED"}),
}


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a file: a stable code, what to fix, and where."""

    code: str
    message: str
    line: int | None = None
    record: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "line": self.line}
        if self.record is not None:
            out["record"] = self.record
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
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def valid(self) -> bool:
        return not self.errors

    def error(self, code: str, message: str, line: int | None = None, record: int | None = None) -> None:
        self._add(self.errors, Issue(code, message, line, record))

    def warn(self, code: str, message: str, line: int | None = None, record: int | None = None) -> None:
        self._add(self.warnings, Issue(code, message, line, record))

    def _add(self, bucket: list[Issue], issue: Issue) -> None:
        n = self._counts.get(issue.code, 0) + 1
        self._counts[issue.code] = n
        if n <= self.max_per_code:
            bucket.append(issue)

    def relax(self, codes: frozenset[str]) -> None:
        """Turn errors with these codes into warnings (a validation profile's choice, see PROFILES)."""
        moved = [i for i in self.errors if i.code in codes]
        if moved:
            self.errors = [i for i in self.errors if i.code not in codes]
            self.warnings = moved + self.warnings

    def issue_counts(self) -> dict[str, int]:
        """How often each code occurred, including the occurrences not kept in the lists."""
        return dict(self._counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "valid": self.valid,
            "errors": [i.to_json() for i in self.errors],
            "warnings": [i.to_json() for i in self.warnings],
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
