"""Declares the compiled extensions: genomics.validation._vcfscan (the VCF record scanner) and
genomics.validation._samscan (the SAM record fast path, also used for BAM/CRAM decoded by samtools) and
genomics.validation._fastqscan (the FASTQ record fast path).

Everything else about the package lives in pyproject.toml. Building needs a C compiler and the Python
headers (Debian: gcc, python3-dev).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "genomics.validation._vcfscan",
            sources=["genomics/validation/_vcfscan.c"],
            extra_compile_args=["-O2", "-Wall", "-Wno-unused-parameter"],
        ),
        Extension(
            "genomics.validation._samscan",
            sources=["genomics/validation/_samscan.c"],
            extra_compile_args=["-O2", "-Wall", "-Wno-unused-parameter"],
        ),
        Extension(
            "genomics.validation._fastqscan",
            sources=["genomics/validation/_fastqscan.c"],
            extra_compile_args=["-O2", "-Wall", "-Wno-unused-parameter"],
        ),
    ],
)
