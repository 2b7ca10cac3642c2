"""LedgerTables: the metadata, jobs and QC tables, exactly as ``genomics.deployment.TABLES`` describes.

On-demand billing (no idle cost), encryption at rest (the stack's CMK where there is one, prod; the AWS
managed key otherwise), point-in-time recovery and deletion protection from the stack configuration
(``infra.config`` refuses staging/prod without them), and in staging/prod ``protect`` and
``retain_on_delete``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics.deployment import TABLES, Names, TableRole, TableSpec
from infra.config import StackConfig
from infra.naming import classified, stateful


@dataclass(frozen=True)
class LedgerTablesArgs:
    names: Names
    config: StackConfig
    kms_key_arn: pulumi.Input[str] | None = None


def index_args(spec: TableSpec) -> list[aws.dynamodb.TableGlobalSecondaryIndexArgs]:
    """The GSIs of one table spec (key schemas, not the deprecated hash_key/range_key)."""
    indexes = []
    for idx in spec.indexes:
        keys = [aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=idx.hash_key, key_type="HASH")]
        if idx.range_key:
            keys.append(
                aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=idx.range_key, key_type="RANGE")
            )
        indexes.append(
            aws.dynamodb.TableGlobalSecondaryIndexArgs(name=idx.name, key_schemas=keys, projection_type=idx.projection)
        )
    return indexes


class LedgerTables(pulumi.ComponentResource):
    """The three DynamoDB tables of the ledger."""

    tables: dict[TableRole, aws.dynamodb.Table]

    def __init__(self, name: str, args: LedgerTablesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:ledger:LedgerTables", name, None, opts)
        config = args.config
        self.tables = {}
        for role, spec in TABLES.items():
            self.tables[role] = aws.dynamodb.Table(
                f"{name}-{role}",
                name=args.names.table(role),
                billing_mode="PAY_PER_REQUEST",
                hash_key=spec.hash_key,
                range_key=spec.range_key,
                attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S") for a in spec.attributes()],
                global_secondary_indexes=index_args(spec),
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=config.pitr),
                # No key: the AWS managed key aws/dynamodb; with the stack's CMK, DynamoDB uses it through grants.
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                    enabled=True, kms_key_arn=args.kms_key_arn
                ),
                deletion_protection_enabled=config.deletion_protection,
                tags=classified("pseudonymous-metadata"),
                opts=stateful(config, self),
            )
        self.register_outputs({"tables": {role: t.name for role, t in self.tables.items()}})
