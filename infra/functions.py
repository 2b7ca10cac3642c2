"""PipelineFunction: one Lambda of ``genomics.deployment.FUNCTIONS`` with its own role, inline policy
(exactly its Grants) and log group.

Environment only from ``deployment.environment``; sizing from ``deployment.memory_mb/timeout_s/
ephemeral_mb``; container image by digest, command = the spec's handler; x86_64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics import deployment
from genomics.deployment import FunctionSpec, Names
from infra import policies
from infra.common import inline_policy, log_group, service_role
from infra.config import StackConfig


@dataclass(frozen=True)
class VpcPlacement:
    """Where functions run when the VPC is on (subnet/SG ids for Lambda, ARNs for the role policy)."""

    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    subnet_arns: Sequence[pulumi.Input[str]]
    security_group_arns: Sequence[pulumi.Input[str]]


@dataclass(frozen=True)
class PipelineFunctionArgs:
    spec: FunctionSpec
    names: Names
    config: StackConfig
    image_uri: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None = None
    vpc: VpcPlacement | None = None
    # Values of the spec's runtime_env (e.g. the Cognito pool's ids for web-api).
    runtime_env: Mapping[str, pulumi.Input[str]] | None = None


class PipelineFunction(pulumi.ComponentResource):
    """Role + inline policy from Grants + log group + the Lambda function."""

    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    function: aws.lambda_.Function

    def __init__(self, name: str, args: PipelineFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:functions:PipelineFunction", name, None, opts)
        spec, names, config = args.spec, args.names, args.config
        settings = config.settings
        self.role = service_role(
            f"{name}-role", self,
            name=f"{names.function(spec.logical)}-role",
            service="lambda.amazonaws.com",
            account_id=names.account_id,
            source_arn=names.function_arn(spec.logical),
            if_exists=True,
            description=f"Execution role of {names.function(spec.logical)}",
        )
        document = policies.function_policy(
            spec,
            names,
            kms_key_arn=args.kms_key_arn,
            vpc_subnet_arns=args.vpc.subnet_arns if args.vpc else (),
            vpc_security_group_arns=args.vpc.security_group_arns if args.vpc else (),
            tracing=config.tracing,
        )
        policy = inline_policy(f"{name}-policy", self, role=self.role, name="grants", document=document)
        self.log_group = log_group(f"{name}-logs", self, name=names.log_group(spec.logical),
                                   retention_days=settings.log_retention_days, kms_key_arn=args.kms_key_arn)
        self.function = self._function(name, args, depends_on=[policy, self.log_group])
        self.register_outputs({"arn": self.function.arn, "name": self.function.name, "role": self.role.arn})

    def _function(self, name: str, args: PipelineFunctionArgs,
                  depends_on: list[pulumi.Resource]) -> aws.lambda_.Function:
        """The Lambda function: the spec's image command, sizing and environment, the role and log group above."""
        spec, names, config = args.spec, args.names, args.config
        settings = config.settings
        return aws.lambda_.Function(
            f"{name}-function",
            name=names.function(spec.logical),
            description=spec.description,
            role=self.role.arn,
            package_type="Image",
            image_uri=args.image_uri,
            image_config=aws.lambda_.FunctionImageConfigArgs(commands=[spec.handler]),
            architectures=["x86_64"],
            memory_size=deployment.memory_mb(spec.logical, settings),
            timeout=deployment.timeout_s(spec.logical, settings),
            ephemeral_storage=aws.lambda_.FunctionEphemeralStorageArgs(
                size=deployment.ephemeral_mb(spec.logical, settings)
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables=deployment.environment(spec.logical, names, settings, args.runtime_env)
            ),
            # Names of buckets and tables: encrypted with the stack's CMK where there is one (prod).
            kms_key_arn=args.kms_key_arn,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active" if config.tracing else "PassThrough"),
            # None = unreserved (-1); provisioned concurrency is never used (idle cost).
            reserved_concurrent_executions=(
                config.reserved_concurrency if config.reserved_concurrency is not None else -1
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            vpc_config=(
                aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=list(args.vpc.subnet_ids), security_group_ids=list(args.vpc.security_group_ids)
                )
                if args.vpc
                else None
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
