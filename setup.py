"""Declares the compiled extensions: genomics.validation._vcfscan (the VCF record scanner) and
genomics.validation._samscan (the SAM record fast path, also used for BAM/CRAM decoded by samtools) and
genomics.validation._fastqscan (the FASTQ record fast path); their shared module boilerplate is the header
genomics/validation/_scanmodule.h.

Everything else about the package lives in pyproject.toml. Building needs a C compiler and the Python
headers (Debian: gcc, python3-dev).
"""

from setuptools import Extension, setup

# The CPython boilerplate and table hash the three scanners share (included by each .c file).
SHARED = ["genomics/validation/_scanmodule.h"]

setup(
    ext_modules=[
        Extension(
            "genomics.validation._vcfscan",
            sources=["genomics/validation/_vcfscan.c"],
            # one translation unit: the .c includes its field grammar and its column checks
            depends=[*SHARED, "genomics/validation/_vcfscan_fields.h", "genomics/validation/_vcfscan_columns.h"],
            extra_compile_args=["-O2", "-Wall", "-Wno-unused-parameter"],
        ),
        Extension(
            "genomics.validation._samscan",
            sources=["genomics/validation/_samscan.c"],
            depends=SHARED,
            extra_compile_args=["-O2", "-Wall", "-Wno-unused-parameter"],
        ),
        Extension(
            "genomics.validation._fastqscan",
            sources=["genomics/validation/_fastqscan.c"],
            depends=SHARED,
            extra_compile_args=["-O2", "-Wall", "-Wno-unused-parameter"],
        ),
    ],
)
