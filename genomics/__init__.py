"""Genomics data platform: validation, VCF processing, QC and the sample ledger.

This package is what the Lambda image ships; it never imports pulumi (see ``infra/`` for that).
"""

__version__ = "0.1.0"
