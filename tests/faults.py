"""The fault hooks the tests use are the package's (genomics.faults), the same ones `genomics local serve
--faults` arms: an AWS call answers with an error instead of reaching moto."""

from genomics.faults import Fault, inject

__all__ = ["Fault", "inject"]
