"""VCF/BCF processing: normalise, sort, deduplicate, bgzip, index; plan, shard and gather at scale."""

from genomics.processing.vcf import CODES, ProcessingError, process_local

__all__ = ["CODES", "ProcessingError", "process_local"]
