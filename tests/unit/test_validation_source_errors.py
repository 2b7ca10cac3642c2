"""A stored file that cannot be read to the end (an S3 connection reset) while samtools or bcftools decode it
is an I/O failure, raised to the caller; it is never turned into a verdict about the file's content."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from genomics.corpus import CORPUS
from genomics.sources import LocalFile
from genomics.validation import validate
from genomics.validation.report import ValidationReport
from genomics.validation.sam import SamError
from genomics.validation.vcf import validate_vcf


@dataclass(frozen=True)
class ResetSource(LocalFile):
    """A local file whose stream fails with a connection reset after ``fail_after`` bytes."""

    fail_after: int = 0

    def open(self):
        inner, limit = super().open(), self.fail_after

        class Resetting(io.RawIOBase):
            pos = 0

            def readable(self) -> bool:
                return True

            def readinto(self, b) -> int:
                if self.pos >= limit:
                    raise ConnectionResetError("connection reset by peer")
                data = inner.read(min(len(b), limit - self.pos))
                b[: len(data)] = data
                self.pos += len(data)
                return len(data)

            def close(self) -> None:
                inner.close()
                super().close()

        return io.BufferedReader(Resetting())


def test_validate_bam_source_reset_raises_sam_error():
    bam = CORPUS / "bam" / "passed" / "level-1.bam"
    # past the bytes the format sniffer reads, inside the records samtools decodes
    with pytest.raises(SamError, match=r"reading .*level-1\.bam failed: connection reset"):
        validate(ResetSource(str(bam), 300_000))


def test_validate_bam_source_complete_is_valid():
    bam = CORPUS / "bam" / "passed" / "level-1.bam"
    report = validate(ResetSource(str(bam), 1 << 30))
    assert report.valid, report.summary()
    assert report.stats["bytes"] == bam.stat().st_size


def test_validate_bcf_source_reset_reraises_the_read_error():
    bcf = CORPUS / "htslib" / "tabix" / "vcf_file.bcf"
    report = ValidationReport(str(bcf), "bcf")
    with pytest.raises(ConnectionResetError):
        validate_vcf(ResetSource(str(bcf), 1000), report, compression="bgzf", is_bcf=True)
