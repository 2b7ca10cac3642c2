"""Deploy the stack's description into moto: the same buckets, tables, functions, notification, queue
and state machine that the Pulumi program declares (``tests/infra/test_drift.py`` keeps them equal).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from genomics import deployment, workflow
from genomics.deployment import FUNCTIONS, TABLES, Names, Settings


def trust(service: str) -> dict[str, Any]:
    """A trust policy letting one AWS service principal assume the role (moto does not evaluate the
    confused-deputy conditions the Pulumi program adds)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


LAMBDA_TRUST = trust("lambda.amazonaws.com")
SCHEDULER_TRUST = trust("scheduler.amazonaws.com")
SFN_TRUST = trust("states.amazonaws.com")
ECS_TASKS_TRUST = trust("ecs-tasks.amazonaws.com")


@dataclass(frozen=True)
class LocalStack:
    names: Names
    settings: Settings
    function_arns: dict[str, str]
    state_machine_arn: str
    queue_url: str
    users: Any = None  # genomics.webapp.directory.Directory: the Cognito pool and app client
    ecs: workflow.EcsTarget | None = None


def deploy_fargate(names: Names, settings: Settings, session: boto3.Session) -> workflow.EcsTarget:
    """The Fargate QC path in moto: a VPC with two private subnets and the task's security group (moto's
    awsvpc tasks need a real subnet), the cluster, the two roles, the log group and the task definition
    of ``genomics.deployment.fargate_container``."""
    ec2, ecs, iam, logs = (session.client(s) for s in ("ec2", "ecs", "iam", "logs"))
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as infra.network's VPC
    # Two private subnets, as infra.network makes (one per availability zone).
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{16 * i}.0/20")["Subnet"]["SubnetId"] for i in range(2)]
    sg = ec2.create_security_group(GroupName=f"{names.prefix}-qc-task", Description="QC task", VpcId=vpc)["GroupId"]
    cluster = ecs.create_cluster(clusterName=names.cluster)["cluster"]["clusterArn"]
    roles = {
        role: iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST))["Role"]["Arn"]
        for role in (names.task_role, names.task_execution_role)
    }
    logs.create_log_group(logGroupName=names.task_log_group)
    task_def = ecs.register_task_definition(
        family=names.task_family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        **deployment.fargate_task_sizes(settings),
        ephemeralStorage={"sizeInGiB": deployment.FARGATE_BASE_EPHEMERAL_GIB},
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        taskRoleArn=roles[names.task_role],
        executionRoleArn=roles[names.task_execution_role],
        containerDefinitions=[deployment.fargate_container(names, settings, image_uri(names))],
    )["taskDefinition"]["taskDefinitionArn"]
    return workflow.EcsTarget(cluster, task_def, subnets, [sg])


def table_request(name: str, spec: deployment.TableSpec) -> dict[str, Any]:
    """CreateTable arguments for one table of the description."""
    keys = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key:
        keys.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    gsis = []
    for idx in spec.indexes:
        ks = [{"AttributeName": idx.hash_key, "KeyType": "HASH"}]
        if idx.range_key:
            ks.append({"AttributeName": idx.range_key, "KeyType": "RANGE"})
        gsis.append({"IndexName": idx.name, "KeySchema": ks, "Projection": {"ProjectionType": idx.projection}})
    req: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in spec.attributes()],
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }
    if gsis:
        req["GlobalSecondaryIndexes"] = gsis
    return req


def image_uri(names: Names, tag: str = "local") -> str:
    return f"{names.account_id}.dkr.ecr.{names.region}.amazonaws.com/{names.image_repository}:{tag}"


def deploy(names: Names, settings: Settings, session: boto3.Session | None = None) -> LocalStack:
    """Deploy the stack's description into the moto behind ``session`` (see the module's docstring)."""
    session = session or boto3.Session(region_name=names.region)
    deploy_buckets(session.client("s3"), names)
    ddb = session.client("dynamodb")
    for role, spec in TABLES.items():
        ddb.create_table(**table_request(names.table(role), spec))
    queue_url = session.client("sqs").create_queue(QueueName=names.dead_letter_queue)["QueueUrl"]

    # The Cognito user pool and app client (infra.webapp.UserDirectory): the web-api function's environment
    # names their ids.
    from genomics.webapp import directory as user_directory

    users = user_directory.create(session, names)
    deploy_signing_key(session.client("kms"), names)
    function_arns = deploy_functions(session, names, settings, users.runtime_env())
    deploy_ingest(session, names, function_arns["validation-handler"])
    deploy_sweep_schedule(session, names, settings, function_arns["sweeper"])

    iam = session.client("iam")
    sfn_role = iam.create_role(RoleName=f"{names.state_machine}-role", AssumeRolePolicyDocument=json.dumps(SFN_TRUST))[
        "Role"
    ]["Arn"]
    ecs = deploy_fargate(names, settings, session) if settings.fargate else None
    sm = session.client("stepfunctions").create_state_machine(
        name=names.state_machine,
        definition=json.dumps(workflow.definition(function_arns, settings, ecs)),
        roleArn=sfn_role,
        type="STANDARD",
    )
    return LocalStack(
        names=names,
        settings=settings,
        function_arns=function_arns,
        state_machine_arn=sm["stateMachineArn"],
        queue_url=queue_url,
        users=users,
        ecs=ecs,
    )


def deploy_buckets(s3: Any, names: Names) -> None:
    """The data buckets: public access blocked, SSE-S3 by default; raw versioned."""
    for role in deployment.BUCKET_ROLES:
        bucket = names.bucket(role)
        location = (
            {} if names.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": names.region}}
        )
        s3.create_bucket(Bucket=bucket, **location)
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
    s3.put_bucket_versioning(Bucket=names.bucket("raw"), VersioningConfiguration={"Status": "Enabled"})


def deploy_signing_key(kms: Any, names: Names) -> None:
    """The manifest-signing key of partner deliveries (infra.partners in AWS): moto's KMS signs with it."""
    signing = kms.create_key(KeySpec=deployment.SIGNING_KEY_SPEC, KeyUsage="SIGN_VERIFY",
                             Description="Signs partner-delivery manifests")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=names.signing_key_alias, TargetKeyId=signing)


def deploy_functions(session: boto3.Session, names: Names, settings: Settings,
                     runtime_env: Mapping[str, str]) -> dict[str, str]:
    """Every function of the description with its role: image, command, sizing and environment as the
    Pulumi program declares them. Returns logical name -> function ARN."""
    iam, lam = session.client("iam"), session.client("lambda")
    function_arns: dict[str, str] = {}
    for logical, spec in FUNCTIONS.items():
        role_arn = iam.create_role(
            RoleName=f"{names.function(logical)}-role", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
        )["Role"]["Arn"]
        resp = lam.create_function(
            FunctionName=names.function(logical),
            PackageType="Image",
            Code={"ImageUri": image_uri(names)},
            ImageConfig={"Command": [spec.handler]},
            Role=role_arn,
            Description=spec.description,
            MemorySize=deployment.memory_mb(logical, settings),
            Timeout=deployment.timeout_s(logical, settings),
            EphemeralStorage={"Size": deployment.ephemeral_mb(logical, settings)},
            Environment={"Variables": deployment.environment(logical, names, settings, runtime_env)},
            Architectures=["x86_64"],
        )
        function_arns[logical] = resp["FunctionArn"]
    return function_arns


def deploy_ingest(session: boto3.Session, names: Names, validation_arn: str) -> None:
    """Raw-bucket uploads invoke the validation handler; its failed events go to the dead-letter queue
    (infra.ingest)."""
    lam, s3 = session.client("lambda"), session.client("s3")
    validation = names.function("validation-handler")
    lam.put_function_event_invoke_config(
        FunctionName=validation,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": names.queue_arn()}},
    )
    lam.add_permission(
        FunctionName=validation,
        StatementId="s3-raw-bucket",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=names.bucket_arn("raw"),
        SourceAccount=names.account_id,
    )
    s3.put_bucket_notification_configuration(
        Bucket=names.bucket("raw"),
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": validation_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )


def deploy_sweep_schedule(session: boto3.Session, names: Names, settings: Settings, sweeper_arn: str) -> None:
    """The sweeper's schedule, as the Pulumi program declares it (moto stores it; genomics.local.server
    fires it at its rate, since moto's Scheduler does not)."""
    scheduler_role = session.client("iam").create_role(
        RoleName=f"{names.sweep_schedule}-schedule-role", AssumeRolePolicyDocument=json.dumps(SCHEDULER_TRUST)
    )["Role"]["Arn"]
    session.client("scheduler").create_schedule(
        Name=names.sweep_schedule,
        ScheduleExpression=settings.sweep_schedule(),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": sweeper_arn, "RoleArn": scheduler_role, "Input": "{}"},
    )
