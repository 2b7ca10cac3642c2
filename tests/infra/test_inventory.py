"""Every expected resource exists, with the names of genomics.deployment, in every stack."""

from __future__ import annotations

from genomics.deployment import BUCKET_ROLES, FUNCTIONS, TABLES, Names
from tests.infra.resources import Program, by_input, of_type

COMPONENT_TYPES = {
    "genomics:storage:DataBuckets",
    "genomics:ledger:LedgerTables",
    "genomics:image:HandlerImage",
    "genomics:functions:PipelineFunction",
    "genomics:workflow:Workflow",
    "genomics:fargate:FargateQc",
    "genomics:ingest:Ingest",
    "genomics:monitoring:Monitoring",
    "genomics:network:Network",
    "genomics:api:StatusApi",
    "genomics:webapp:WebApp",
    "genomics:webapp:UserDirectory",
    "genomics:audit:AuditTrail",
    "genomics:operations:SweepSchedule",
    "genomics:partners:PartnerAccess",
}


def test_inventory_three_data_buckets_named_by_deployment(program: Program, names: Names) -> None:
    declared = {r["inputs"].get("bucket"): r["urn"] for r in of_type(program, "aws:s3/bucket:Bucket")}
    for role in BUCKET_ROLES:
        assert names.bucket(role) in declared, f"no bucket {names.bucket(role)} among {declared}"


def test_inventory_ecr_repository_and_image(program: Program, names: Names) -> None:
    """One repository; two pushed images of images/Dockerfile (handler, delivery), each with a stack tag and a
    content tag (``-delivery`` suffixed for the delivery image) and the repository's registry auth."""
    repos = by_input(program, "aws:ecr/repository:Repository", "name", names.image_repository)
    assert len(repos) == 1, f"expected one ECR repository {names.image_repository}, got {repos}"
    images = of_type(program, "docker-build:index:Image")
    assert len(images) == 2, f"expected the handler and delivery Images, got {[r['urn'] for r in images]}"
    url = repos[0]["outputs"]["repositoryUrl"]
    for image in images:
        assert image["inputs"]["push"] is True, f"{image['urn']}: image is not pushed"
        assert image["inputs"]["platforms"] == ["linux/amd64"], f"{image['urn']}: platforms {image['inputs']}"
        assert image["inputs"]["dockerfile"]["location"].endswith("images/Dockerfile"), f"{image['urn']}: dockerfile"
        suffix = "" if image["inputs"]["target"] == "handler" else f"-{image['inputs']['target']}"
        tags = image["inputs"]["tags"]
        assert f"{url}:{program.stack}{suffix}" in tags, f"{image['urn']}: tags {tags} lack the stack tag"
        assert any(t.startswith(f"{url}:") and t != f"{url}:{program.stack}{suffix}" and t.endswith(suffix)
                   for t in tags), f"{image['urn']}: tags {tags} lack a content tag"
        registries = image["inputs"]["registries"]
        assert registries and registries[0]["address"].endswith(url.split("/")[0]), (
            f"{image['urn']}: registry auth {registries} is not the repository's registry"
        )


def test_inventory_functions_with_one_role_each(program: Program, names: Names) -> None:
    functions = {r["inputs"]["name"]: r for r in of_type(program, "aws:lambda/function:Function")}
    assert set(functions) == {names.function(f) for f in FUNCTIONS}, f"functions: {sorted(functions)}"
    roles = {r["outputs"]["arn"]: r for r in of_type(program, "aws:iam/role:Role")}
    used = [f["inputs"]["role"] for f in functions.values()]
    assert len(set(used)) == len(used), f"functions share roles: {used}"
    for fn in functions.values():
        role = roles.get(fn["inputs"]["role"])
        assert role is not None, f"{fn['urn']}: role {fn['inputs']['role']} not declared"
        assert role["parent"] == fn["parent"], f"{fn['urn']}: role {role['urn']} is not in the same component"


def test_inventory_notification_and_permission(program: Program, names: Names) -> None:
    validation_arn = names.function_arn("validation-handler")
    notifications = of_type(program, "aws:s3/bucketNotification:BucketNotification")
    assert len(notifications) == 1, f"expected one bucket notification, got {[n['urn'] for n in notifications]}"
    note = notifications[0]
    assert note["inputs"]["bucket"] == "storage-raw-id", f"{note['urn']}: not on the raw bucket: {note['inputs']}"
    targets = note["inputs"]["lambdaFunctions"]
    assert [t["lambdaFunctionArn"] for t in targets] == [validation_arn], f"{note['urn']}: targets {targets}"
    assert targets[0]["events"] == ["s3:ObjectCreated:*"], f"{note['urn']}: events {targets[0]['events']}"
    permissions = [p for p in of_type(program, "aws:lambda/permission:Permission")
                   if p["inputs"]["principal"] != "apigateway.amazonaws.com"]  # the status API's: test_api.py
    assert len(permissions) == 1, f"expected one S3 Lambda permission, got {[p['urn'] for p in permissions]}"
    perm = permissions[0]["inputs"]
    assert perm["principal"] == "s3.amazonaws.com", f"{permissions[0]['urn']}: principal {perm['principal']}"
    assert perm["sourceArn"] == names.bucket_arn("raw"), f"{permissions[0]['urn']}: source {perm['sourceArn']}"
    assert perm["sourceAccount"] == names.account_id, f"{permissions[0]['urn']}: no source account condition"
    assert perm["function"] == names.function("validation-handler"), f"{permissions[0]['urn']}: {perm}"


def test_inventory_dead_letter_queue_is_validation_on_failure_destination(program: Program, names: Names) -> None:
    queues = by_input(program, "aws:sqs/queue:Queue", "name", names.dead_letter_queue)
    assert len(queues) == 1, f"expected queue {names.dead_letter_queue}"
    configs = of_type(program, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert len(configs) == 1, f"expected one event invoke config, got {[c['urn'] for c in configs]}"
    cfg = configs[0]
    assert cfg["inputs"]["functionName"] == names.function("validation-handler"), f"{cfg['urn']}: {cfg['inputs']}"
    destination = cfg["inputs"]["destinationConfig"]["onFailure"]["destination"]
    assert destination == queues[0]["outputs"]["arn"], f"{cfg['urn']}: on-failure destination {destination}"


def test_inventory_tables_match_deployment_tables(program: Program, names: Names) -> None:
    tables = {r["inputs"]["name"]: r for r in of_type(program, "aws:dynamodb/table:Table")}
    assert set(tables) == {names.table(role) for role in TABLES}, f"tables: {sorted(tables)}"
    for role, spec in TABLES.items():
        table = tables[names.table(role)]
        inputs = table["inputs"]
        assert inputs["hashKey"] == spec.hash_key, f"{table['urn']}: hash key {inputs['hashKey']}"
        assert inputs.get("rangeKey") == spec.range_key, f"{table['urn']}: range key {inputs.get('rangeKey')}"
        attrs = {a["name"]: a["type"] for a in inputs["attributes"]}
        assert attrs == dict.fromkeys(spec.attributes(), "S"), f"{table['urn']}: attributes {attrs}"
        declared = {g["name"]: g for g in inputs.get("globalSecondaryIndexes", [])}
        assert set(declared) == {i.name for i in spec.indexes}, f"{table['urn']}: indexes {sorted(declared)}"
        for idx in spec.indexes:
            gsi = declared[idx.name]
            keys = [(k["attributeName"], k["keyType"]) for k in gsi["keySchemas"]]
            expected = [(idx.hash_key, "HASH")] + ([(idx.range_key, "RANGE")] if idx.range_key else [])
            assert keys == expected, f"{table['urn']}: index {idx.name} keys {keys} != {expected}"
            assert gsi["projectionType"] == idx.projection, f"{table['urn']}: index {idx.name} projection"


def test_inventory_state_machine_and_role(program: Program, names: Names) -> None:
    machines = by_input(program, "aws:sfn/stateMachine:StateMachine", "name", names.state_machine)
    assert len(machines) == 1, f"expected state machine {names.state_machine}"
    role_arn = machines[0]["inputs"]["roleArn"]
    roles = [r for r in of_type(program, "aws:iam/role:Role") if r["outputs"]["arn"] == role_arn]
    assert len(roles) == 1, f"{machines[0]['urn']}: role {role_arn} not declared"
    function_roles = {f["inputs"]["role"] for f in of_type(program, "aws:lambda/function:Function")}
    assert role_arn not in function_roles, f"{machines[0]['urn']}: shares a role with a function"


def test_inventory_every_resource_belongs_to_a_component(program: Program) -> None:
    components = {r["urn"]: r for r in program.resources if not r["custom"]}
    for urn, comp in components.items():
        assert comp["type"] in COMPONENT_TYPES, f"{urn}: unexpected component type {comp['type']}"
    for r in program.resources:
        if r["custom"]:
            assert r["parent"] in components, f"{r['urn']}: not parented to a genomics component"
            parent = components[r["parent"]]
            assert r["name"].startswith(f"{parent['name']}-"), (
                f"{r['urn']}: child name does not start with its component name {parent['name']!r}"
            )
