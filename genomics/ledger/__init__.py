"""The sample ledger: who/what/where of every sample, file and job (DynamoDB)."""

from genomics.ledger.model import ObjectRef, parse_key
from genomics.ledger.store import InvalidTransition, JobNotFound, Ledger

__all__ = ["InvalidTransition", "JobNotFound", "Ledger", "ObjectRef", "parse_key"]
