"""The genomics platform: read the stack configuration, build the components, export the outputs."""

from __future__ import annotations

import pulumi

from genomics.deployment import FUNCTIONS, PIPELINE_FUNCTIONS
from infra.api import StatusApi, StatusApiArgs
from infra.audit import AuditTrail, AuditTrailArgs
from infra.config import load
from infra.fargate import FargateQc, FargateQcArgs
from infra.functions import PipelineFunction, PipelineFunctionArgs
from infra.image import HandlerImage, HandlerImageArgs
from infra.ingest import Ingest, IngestArgs
from infra.ledger import LedgerTables, LedgerTablesArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.naming import current_names
from infra.network import Network, NetworkArgs
from infra.partners import PartnerAccess, PartnerAccessArgs
from infra.storage import DataBuckets, DataBucketsArgs
from infra.sweeper import SweepSchedule, SweepScheduleArgs
from infra.webapp import UserDirectory, UserDirectoryArgs, WebApp, WebAppArgs
from infra.workflow import Workflow, WorkflowArgs

config = load()  # validated: an unsafe configuration fails here, before any resource is declared
names = current_names(config.stack, config.table_names)

network = Network("network", NetworkArgs(names, config)) if config.vpc else None
storage = DataBuckets("storage", DataBucketsArgs(names, config))
kms_key_arn = storage.kms_key.arn if storage.kms_key else None
audit = AuditTrail("audit", AuditTrailArgs(names, config, kms_key_arn))
ledger = LedgerTables("ledger", LedgerTablesArgs(names, config, kms_key_arn))
image = HandlerImage("image", HandlerImageArgs(names, config, kms_key_arn))
users = UserDirectory("users", UserDirectoryArgs(names, config))
functions = {
    logical: PipelineFunction(
        logical,
        PipelineFunctionArgs(
            spec=spec,
            names=names,
            config=config,
            image_uri=image.uri_for(spec.image),
            kms_key_arn=kms_key_arn,
            vpc=network.placement if network else None,
            runtime_env=users.runtime_env if spec.runtime_env else None,
        ),
    )
    for logical, spec in FUNCTIONS.items()
}
fargate = (
    FargateQc(
        "fargate-qc",
        FargateQcArgs(names, config, image.image_uri, image.repository.arn, network.placement, kms_key_arn),
    )
    if config.settings.fargate and network
    else None
)
pipeline = Workflow(
    "workflow",
    WorkflowArgs(
        names,
        config,
        {logical: functions[logical].function.arn for logical in PIPELINE_FUNCTIONS},
        kms_key_arn,
        fargate=fargate,
    ),
)
ingest = Ingest(
    "ingest",
    IngestArgs(names, storage.buckets["raw"], functions["validation-handler"].function, kms_key_arn),
)
status_api = StatusApi("status-api", StatusApiArgs(names, config, functions["status-api"].function, kms_key_arn))
partners = PartnerAccess("partners", PartnerAccessArgs(names, config, status_api.api.execution_arn))
web = WebApp(
    "web", WebAppArgs(names, config, users, functions["web-api"].function, storage.buckets["raw"], kms_key_arn)
)
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        names=names,
        config=config,
        function_names={logical: functions[logical].function.name for logical in PIPELINE_FUNCTIONS},
        state_machine_arn=pipeline.state_machine.arn,
        dead_letter_queue_name=ingest.queue.name,
        status_api_id=status_api.api.id,
        table_names={role: table.name for role, table in ledger.tables.items()},
        kms_key_arn=kms_key_arn,
    ),
)

sweeper = SweepSchedule(
    "sweeper", SweepScheduleArgs(names, config, functions["sweeper"].function, monitoring.topic.arn)
)

pulumi.export("buckets", {role: b.bucket for role, b in storage.buckets.items()})
pulumi.export("tables", {role: t.name for role, t in ledger.tables.items()})
pulumi.export("functions", {logical: f.function.arn for logical, f in functions.items()})
pulumi.export("state_machine_arn", pipeline.state_machine.arn)
pulumi.export("image_uri", image.image_uri)
pulumi.export("delivery_image_uri", image.delivery_image_uri)
pulumi.export("dead_letter_queue_url", ingest.queue.url)
pulumi.export("alerts_topic_arn", monitoring.topic.arn)
pulumi.export("audit_trail_arn", audit.trail.arn)
pulumi.export("status_api_url", status_api.api.api_endpoint)
pulumi.export("status_api_read_policy_arn", status_api.invoke_policy.arn)
pulumi.export("web_url", web.api.api_endpoint)
pulumi.export("manifest_signing_key_arn", partners.signing_key.arn if partners.signing_key else None)
pulumi.export("manifest_signing_policy_arn", partners.sign_policy.arn if partners.sign_policy else None)
pulumi.export("partner_roles", {p: r.arn for p, r in partners.roles.items()})
pulumi.export("user_pool_id", users.user_pool.id)
pulumi.export("user_pool_client_id", users.client.id)
