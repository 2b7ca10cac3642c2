"""Declares the one compiled extension, genomics.validation._vcfscan (the VCF record scanner).

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
        )
    ],
)
