"""Ingest: raw-bucket uploads invoke the validation handler; failed asynchronous invocations land in
an SQS dead-letter queue (the function's on-failure destination)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics.deployment import Names
from infra.naming import classified

# Retention of failed upload events: long enough to replay after a weekend.
DLQ_RETENTION_S = 14 * 24 * 3600
MAX_EVENT_AGE_S = 6 * 3600
MAX_RETRIES = 2


@dataclass(frozen=True)
class IngestArgs:
    names: Names
    raw_bucket: aws.s3.Bucket
    function: aws.lambda_.Function
    # The stack's CMK (prod): the queue holds S3 events, i.e. object keys naming samples.
    kms_key_arn: pulumi.Input[str] | None = None


class Ingest(pulumi.ComponentResource):
    """S3 notification + invoke permission + dead-letter queue via the event invoke config."""

    queue: aws.sqs.Queue

    def __init__(self, name: str, args: IngestArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:ingest:Ingest", name, None, opts)
        names = args.names
        child = pulumi.ResourceOptions(parent=self)
        self.queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=names.dead_letter_queue,
            message_retention_seconds=DLQ_RETENTION_S,
            sqs_managed_sse_enabled=None if args.kms_key_arn is not None else True,
            kms_master_key_id=args.kms_key_arn,
            tags=classified("pseudonymous-metadata"),
            opts=child,
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            function_name=args.function.name,
            maximum_retry_attempts=MAX_RETRIES,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_S,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.queue.arn
                )
            ),
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-permission",
            action="lambda:InvokeFunction",
            function=args.function.name,
            principal="s3.amazonaws.com",
            source_arn=args.raw_bucket.arn,
            source_account=names.account_id,
            opts=child,
        )
        aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=args.raw_bucket.id,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(
                    lambda_function_arn=args.function.arn, events=["s3:ObjectCreated:*"]
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        self.register_outputs({"dead_letter_queue_url": self.queue.url})
