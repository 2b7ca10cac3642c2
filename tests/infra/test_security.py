"""Issue 13: the audit trail, raw data that cannot be lost, protected state, customer-managed keys,
TLS/encryption floors, tracing, classification tags, alarms and the cost-allocation tag, asserted on what
the program declares for every stack (values compared with the tier's floors in code, not with config)."""

from __future__ import annotations

import json
import random
import string
from fnmatch import fnmatchcase
from typing import Any

import pytest

from genomics.deployment import BUCKET_ROLES, Names
from infra.config import (
    ACCESS_LOG_DAYS_FLOOR,
    AUDIT_LOG_DAYS_FLOOR,
    LOG_RETENTION_DAYS_FLOOR,
    PROTECTED_TIERS,
    RAW_LOCK_DAYS_FLOOR,
    StackConfig,
)
from infra.monitoring import COST_TAG
from infra.naming import CLASSIFICATION_TAG, trail_arn, trail_bucket_name
from infra.storage import access_log_bucket_name
from tests.infra import mocks
from tests.infra.resources import Program, as_list, by_input, document, of_type, statements

BUCKET = "aws:s3/bucket:Bucket"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
STATEFUL_TYPES = (BUCKET, "aws:dynamodb/table:Table", "aws:kms/key:Key")
DATA_TYPES = (
    BUCKET, "aws:dynamodb/table:Table", "aws:kms/key:Key", "aws:sqs/queue:Queue", "aws:sns/topic:Topic",
    "aws:cloudwatch/logGroup:LogGroup",
)


def _bucket(program: Program, physical: str) -> dict[str, Any]:
    found = by_input(program, BUCKET, "bucket", physical)
    assert len(found) == 1, f"stack {program.stack}: {len(found)} buckets named {physical}"
    return found[0]


def _attached(program: Program, typ: str, bucket: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in of_type(program, typ) if r["inputs"].get("bucket") == f"{bucket['name']}-id"]


def _policy(program: Program, bucket: dict[str, Any]) -> list[dict[str, Any]]:
    found = _attached(program, "aws:s3/bucketPolicy:BucketPolicy", bucket)
    assert len(found) == 1, f"{bucket['urn']}: {len(found)} bucket policies"
    return statements(document(found[0]))


def _tier_floor(floor: dict[str, int], config: StackConfig) -> int:
    return floor[config.tier]


# --- 1. audit trail -------------------------------------------------------------------------------
def test_security_trail_multi_region_validated_with_data_events(program: Program, names: Names,
                                                               config: StackConfig) -> None:
    trails = of_type(program, "aws:cloudtrail/trail:Trail")
    assert len(trails) == 1, f"stack {program.stack}: trails {[t['urn'] for t in trails]}"
    trail = trails[0]
    inputs = trail["inputs"]
    assert inputs["isMultiRegionTrail"] is True, f"{trail['urn']}: single-region"
    assert inputs["enableLogFileValidation"] is True, f"{trail['urn']}: no log file validation"
    assert inputs["s3BucketName"] == trail_bucket_name(names), f"{trail['urn']}: bucket {inputs['s3BucketName']}"
    selectors = inputs["advancedEventSelectors"]
    categories = [f["equals"] for s in selectors for f in s["fieldSelectors"] if f["field"] == "eventCategory"]
    assert ["Management"] in categories, f"{trail['urn']}: management events not recorded"
    data = [s for s in selectors if any(f.get("equals") == ["Data"] for f in s["fieldSelectors"])]
    if config.tier in PROTECTED_TIERS:
        assert len(data) == 1, f"{trail['urn']}: no S3 data events in {config.tier}"
        arns = next(f["startsWiths"] for f in data[0]["fieldSelectors"] if f["field"] == "resources.ARN")
        assert sorted(arns) == sorted(f"{names.bucket_arn(r)}/" for r in BUCKET_ROLES), f"{trail['urn']}: {arns}"
    if config.kms:
        keys = [k["outputs"]["arn"] for k in of_type(program, "aws:kms/key:Key")]
        assert inputs.get("kmsKeyId") in keys, f"{trail['urn']}: trail not on the stack's CMK"


def _lock(program: Program, bucket: dict[str, Any]) -> dict[str, Any] | None:
    locks = _attached(program, LOCK, bucket)
    assert len(locks) <= 1, f"{bucket['urn']}: several lock configurations"
    return locks[0]["inputs"]["rule"]["defaultRetention"] if locks else None


def test_security_trail_bucket_versioned_object_locked_above_floor(program: Program, names: Names,
                                                                  config: StackConfig) -> None:
    bucket = _bucket(program, trail_bucket_name(names))
    assert bucket["inputs"].get("objectLockEnabled") is True, f"{bucket['urn']}: Object Lock not enabled"
    versioning = _attached(program, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning and versioning[0]["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    retention = _lock(program, bucket)
    assert retention is not None, f"{bucket['urn']}: no default retention"
    floor = _tier_floor(AUDIT_LOG_DAYS_FLOOR, config)
    assert retention["days"] >= floor, f"{bucket['urn']}: lock {retention['days']} days < floor {floor}"
    rules = _attached(program, LIFECYCLE, bucket)[0]["inputs"]["rules"]
    expiries = [r["expiration"]["days"] for r in rules if r.get("expiration")]
    assert all(days >= retention["days"] for days in expiries), f"{bucket['urn']}: expires before its lock"
    stmts = _policy(program, bucket)
    denied = {a for s in stmts if s["Effect"] == "Deny" and "Condition" not in s for a in as_list(s["Action"])}
    if config.tier in PROTECTED_TIERS:
        assert {"s3:DeleteObject", "s3:DeleteObjectVersion"} <= denied, f"{bucket['urn']}: deletes allowed"
    writes = [s for s in stmts if s["Effect"] == "Allow"]
    assert writes and all(s["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn(names) for s in writes), (
        f"{bucket['urn']}: CloudTrail access not limited to this stack's trail: {writes}"
    )


def test_security_access_log_bucket_immutable_and_kept(program: Program, names: Names, config: StackConfig) -> None:
    bucket = _bucket(program, access_log_bucket_name(names))
    assert bucket["inputs"].get("objectLockEnabled") is True, f"{bucket['urn']}: Object Lock not enabled"
    versioning = _attached(program, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning and versioning[0]["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    denies = [s for s in _policy(program, bucket) if s["Effect"] == "Deny" and "Condition" not in s]
    denied = {a for s in denies for a in as_list(s["Action"])}
    if config.tier in PROTECTED_TIERS:  # dev (forceDestroy) must be able to empty it on destroy
        assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketVersioning"} <= denied, (
            f"{bucket['urn']}: log deletion not denied: {denied}"
        )
    rules = _attached(program, LIFECYCLE, bucket)[0]["inputs"]["rules"]
    floor = _tier_floor(ACCESS_LOG_DAYS_FLOOR, config)
    expiries = [r["expiration"]["days"] for r in rules if r.get("expiration")]
    assert expiries and min(expiries) >= floor, f"{bucket['urn']}: logs expire after {expiries} < floor {floor}"


def test_security_log_groups_kept_at_least_the_tier_floor(program: Program, config: StackConfig) -> None:
    floor = _tier_floor(LOG_RETENTION_DAYS_FLOOR, config)
    for group in of_type(program, "aws:cloudwatch/logGroup:LogGroup"):
        days = group["inputs"].get("retentionInDays")
        assert days is not None and days >= floor, f"{group['urn']}: retention {days} < {config.tier} floor {floor}"


# --- 2. raw data that cannot be lost -------------------------------------------------------------
def test_security_raw_object_lock_governance_in_staging_and_prod(program: Program, names: Names,
                                                                 config: StackConfig) -> None:
    bucket = _bucket(program, names.bucket("raw"))
    retention = _lock(program, bucket)
    floor = _tier_floor(RAW_LOCK_DAYS_FLOOR, config)
    if config.tier in PROTECTED_TIERS:
        assert bucket["inputs"].get("objectLockEnabled") is True, f"{bucket['urn']}: Object Lock not enabled"
        assert retention is not None and retention["mode"] == "GOVERNANCE", f"{bucket['urn']}: lock {retention}"
        assert retention["days"] >= floor > 0, f"{bucket['urn']}: lock {retention['days']} days < floor {floor}"
    rules = _attached(program, LIFECYCLE, bucket)[0]["inputs"]["rules"]
    noncurrent = [r["noncurrentVersionExpiration"]["noncurrentDays"] for r in rules
                  if r.get("noncurrentVersionExpiration")]
    if retention is not None:
        assert all(d >= retention["days"] for d in noncurrent), (
            f"{bucket['urn']}: noncurrent versions expire after {noncurrent} days, before the lock's {retention}"
        )


def _rule_matches(rule: dict[str, Any], key: str) -> bool:
    """Does a lifecycle rule (as recorded) select ``key``? Prefix filters (with optional tags/sizes: a rule
    narrowed by them still selects some keys, so count it)."""
    if rule.get("status") != "Enabled":
        return False
    flt = rule.get("filter") or {}
    prefix = flt.get("prefix", (flt.get("and") or {}).get("prefix", rule.get("prefix", "")))
    return key.startswith(prefix or "")


def _generated_keys(seed: int, count: int) -> list[str]:
    """Raw keys as parse_key accepts them (<project>/<sample>/<file>), including projects named like the
    processed bucket's prefixes (tmp, processed, reports, references, partners) and odd characters."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_.=+ %"
    special = ["tmp", "processed", "reports", "references", "partners", "TMP", "tmp-project", ""]
    keys = []
    for _ in range(count):
        project = rng.choice(special) if rng.random() < 0.5 else "".join(rng.choices(alphabet, k=rng.randint(1, 12)))
        sample = "".join(rng.choices(alphabet, k=rng.randint(1, 12)))
        name = "".join(rng.choices(alphabet, k=rng.randint(1, 16))) + rng.choice([".vcf.gz", ".bam", ".fastq.gz"])
        keys.append(f"{project}/{sample}/{name}")
    return [*keys, "tmp/s1/a.vcf.gz", "tmp/tmp/tmp", "tmp/"]


def test_security_no_lifecycle_rule_expires_a_current_raw_object(program: Program, names: Names) -> None:
    bucket = _bucket(program, names.bucket("raw"))
    rules = _attached(program, LIFECYCLE, bucket)[0]["inputs"]["rules"]
    expiring = [r for r in rules if r.get("expiration")]
    for key in _generated_keys(seed=13, count=2000):
        hits = [r["id"] for r in expiring if _rule_matches(r, key)]
        assert not hits, f"{bucket['urn']}: rules {hits} expire the current raw object {key!r}"


def test_security_replication_of_raw_only_when_configured(program: Program, config: StackConfig) -> None:
    replications = of_type(program, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert len(replications) == (1 if config.raw_replica_region else 0), f"replications {replications}"


# --- 3. protected state ---------------------------------------------------------------------------
def test_security_stateful_resources_protected_in_staging_and_prod(program: Program, config: StackConfig) -> None:
    for typ in STATEFUL_TYPES:
        for resource in of_type(program, typ):
            options = resource["options"]
            want = config.tier in PROTECTED_TIERS
            assert options["protect"] is want and options["retain_on_delete"] is want, (
                f"{resource['urn']}: protect={options['protect']} retain_on_delete={options['retain_on_delete']}"
                f" in {config.tier}"
            )


def test_security_tables_deletion_protected_and_pitr_in_staging_and_prod(program: Program,
                                                                         config: StackConfig) -> None:
    if config.tier not in PROTECTED_TIERS:
        pytest.skip("dev tables may be deleted")
    for table in of_type(program, "aws:dynamodb/table:Table"):
        assert table["inputs"].get("deletionProtectionEnabled") is True, f"{table['urn']}: no deletion protection"
        assert table["inputs"]["pointInTimeRecovery"]["enabled"] is True, f"{table['urn']}: no PITR"


# --- 4. alarms and the cost-allocation tag --------------------------------------------------------
def test_security_cost_allocation_tag_activated_for_the_budget(program: Program) -> None:
    tags = of_type(program, "aws:costexplorer/costAllocationTag:CostAllocationTag")
    assert [(t["inputs"]["tagKey"], t["inputs"]["status"]) for t in tags] == [(COST_TAG, "Active")], tags
    budget = of_type(program, "aws:budgets/budget:Budget")[0]
    values = [v for f in budget["inputs"]["costFilters"] for v in f["values"]]
    assert all(v.startswith(f"user:{COST_TAG}$") for v in values), f"{budget['urn']}: filter {values}"


def _alarm_metrics(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    inputs = alarm["inputs"]
    if "metricName" in inputs:
        return {(inputs["namespace"], inputs["metricName"])}
    return {(q["metric"]["namespace"], q["metric"]["metricName"]) for q in inputs["metricQueries"] if q.get("metric")}


def test_security_alarms_on_timeouts_aborts_throttles_and_4xx(program: Program) -> None:
    metrics = set().union(*(_alarm_metrics(a) for a in of_type(program, "aws:cloudwatch/metricAlarm:MetricAlarm")))
    for wanted in [("AWS/States", "ExecutionsTimedOut"), ("AWS/States", "ExecutionsAborted"),
                   ("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents"),
                   ("AWS/ApiGateway", "4xx")]:
        assert wanted in metrics, f"stack {program.stack}: no alarm on {wanted}"


def test_security_alert_subscription_in_staging_and_prod(program: Program, config: StackConfig) -> None:
    subs = of_type(program, "aws:sns/topicSubscription:TopicSubscription")
    if config.tier in PROTECTED_TIERS:
        assert [s["inputs"]["protocol"] for s in subs] == ["email"], f"stack {program.stack}: alerts reach nobody"


# --- 5. customer-managed keys, TLS floor, non-KMS uploads, X-Ray ----------------------------------
def test_security_prod_keeps_sample_data_on_the_cmk(program: Program, config: StackConfig) -> None:
    keys = [k["outputs"]["arn"] for k in of_type(program, "aws:kms/key:Key")]
    if not config.kms:
        assert not keys
        return
    key = keys[0]
    checks = {
        "aws:dynamodb/table:Table": lambda i: i["serverSideEncryption"].get("kmsKeyArn"),
        "aws:cloudwatch/logGroup:LogGroup": lambda i: i.get("kmsKeyId"),
        "aws:sns/topic:Topic": lambda i: i.get("kmsMasterKeyId"),
        "aws:sqs/queue:Queue": lambda i: i.get("kmsMasterKeyId"),
        "aws:ecr/repository:Repository": lambda i: i["encryptionConfigurations"][0].get("kmsKey"),
        "aws:lambda/function:Function": lambda i: i.get("kmsKeyArn"),
    }
    for typ, used in checks.items():
        resources = of_type(program, typ)
        assert resources, f"no {typ} in {program.stack}"
        for resource in resources:
            assert used(resource["inputs"]) == key, f"{resource['urn']}: not encrypted with the stack's CMK"


def test_security_key_policy_grants_services_only_by_condition(program: Program, names: Names) -> None:
    for key in of_type(program, "aws:kms/key:Key"):
        for stmt in statements(document(key)):
            if "Service" in stmt["Principal"]:
                assert stmt.get("Condition"), f"{key['urn']}: service statement {stmt['Sid']} without condition"
                assert not [a for a in as_list(stmt["Action"]) if "*" in a], f"{key['urn']}: {stmt['Sid']} wildcard"
            elif as_list(stmt["Principal"]["AWS"]) == [f"arn:{names.partition}:iam::{names.account_id}:root"]:
                assert stmt["Sid"] == "AccountAdministersThroughIam", f"{key['urn']}: {stmt}"
            else:
                assert stmt.get("Condition"), f"{key['urn']}: outside principal without condition: {stmt}"
        logs = [s for s in statements(document(key)) if s["Sid"] == "CloudWatchLogsOwnGroups"]
        assert logs, f"{key['urn']}: CloudWatch Logs cannot use the key for the encrypted log groups"
        patterns = logs[0]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
        for group in of_type(program, "aws:cloudwatch/logGroup:LogGroup"):
            arn = f"arn:{names.partition}:logs:{names.region}:{names.account_id}:log-group:{group['inputs']['name']}"
            assert any(fnmatchcase(arn, p) for p in patterns), f"{key['urn']}: key unusable for {arn}"


def test_security_every_bucket_denies_tls_below_1_2(program: Program) -> None:
    for bucket in of_type(program, BUCKET):
        floors = [s for s in _policy(program, bucket) if s["Effect"] == "Deny"
                  and s.get("Condition", {}).get("NumericLessThan", {}).get("s3:TlsVersion") == "1.2"]
        assert floors and floors[0]["Action"] == "s3:*", f"{bucket['urn']}: no TLS 1.2 floor"


def test_security_prod_buckets_deny_non_kms_uploads(program: Program, names: Names, config: StackConfig) -> None:
    if not config.kms:
        pytest.skip("SSE-S3 stack")
    for role in BUCKET_ROLES:
        bucket = _bucket(program, names.bucket(role))
        conditions = [s["Condition"] for s in _policy(program, bucket)
                      if s["Effect"] == "Deny" and s["Action"] == "s3:PutObject"]
        headers = {k for c in conditions for k in c.get("StringNotEqualsIfExists", {})}
        assert headers == {"s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"}, (
            f"{bucket['urn']}: non-KMS uploads not denied: {conditions}"
        )


def test_security_xray_follows_the_stack_switch(program: Program, config: StackConfig) -> None:
    for fn in of_type(program, "aws:lambda/function:Function"):
        mode = fn["inputs"]["tracingConfig"]["mode"]
        assert mode == ("Active" if config.tracing else "PassThrough"), f"{fn['urn']}: tracing {mode}"
    for machine in of_type(program, "aws:sfn/stateMachine:StateMachine"):
        enabled = machine["inputs"].get("tracingConfiguration", {}).get("enabled", False)
        assert enabled is config.tracing, f"{machine['urn']}: tracing {enabled}"
    if config.tier in PROTECTED_TIERS:
        assert config.tracing, f"stack {program.stack}: X-Ray off in {config.tier}"


# --- 6. trust policies ----------------------------------------------------------------------------
def test_security_trust_policies_keep_source_conditions(program: Program, names: Names) -> None:
    for role in of_type(program, "aws:iam/role:Role"):
        assert not role["inputs"].get("managedPolicyArns"), f"{role['urn']}: managed policies"
        for stmt in statements(document(role, "assumeRolePolicy")):
            condition = stmt.get("Condition", {})
            accounts = [v.get("aws:SourceAccount") for k, v in condition.items() if k.startswith("StringEquals")]
            sources = [v.get("aws:SourceArn") for k, v in condition.items() if k.startswith("ArnLike")]
            assert accounts == [names.account_id], f"{role['urn']}: trust without aws:SourceAccount: {condition}"
            assert sources and sources[0], f"{role['urn']}: trust without aws:SourceArn: {condition}"


# --- 8. GDPR: classification tags ----------------------------------------------------------------
def test_security_every_data_resource_carries_a_classification(program: Program) -> None:
    allowed = {"genetic-data", "pseudonymous-metadata", "audit-log", "code"}
    for typ in DATA_TYPES:
        for resource in of_type(program, typ):
            tag = (resource["inputs"].get("tags") or {}).get(CLASSIFICATION_TAG)
            assert tag in allowed, f"{resource['urn']}: data-classification tag {tag!r}"


def test_security_generated_keys_include_a_project_named_tmp() -> None:
    keys = _generated_keys(seed=13, count=2000)
    assert any(k.startswith("tmp/") for k in keys) and len(set(keys)) > 1500, json.dumps(keys[:5])


# --- 8. GDPR: storage limitation ------------------------------------------------------------------
def test_security_processed_and_delivery_expire_when_the_stack_says() -> None:
    from tests.infra.resources import PROJECT, run_program

    program = run_program("staging", {f"{PROJECT}:processedExpiryDays": "400", f"{PROJECT}:deliveryExpiryDays": "90"})
    names = Names("staging", mocks.ACCOUNT_ID, mocks.REGION, mocks.PARTITION)
    expiries: dict[str, dict[str, int]] = {}
    for role in BUCKET_ROLES:
        bucket = _bucket(program, names.bucket(role))
        rules = _attached(program, LIFECYCLE, bucket)[0]["inputs"]["rules"]
        expiries[role] = {r["filter"]["prefix"]: r["expiration"]["days"] for r in rules if r.get("expiration")}
    assert expiries["processed"] == {"tmp/": 1, "processed/": 400, "reports/": 400}, expiries
    assert expiries["delivery"] == {"tmp/": 1, "partners/": 90}, expiries
    assert expiries["raw"] == {}, expiries
    default = {r["filter"]["prefix"] for r in _attached(
        program, LIFECYCLE, _bucket(program, names.bucket("processed")))[0]["inputs"]["rules"]}
    assert "references/" not in default, "reference genomes must not expire with sample data"


def test_security_prod_raw_replication_by_config() -> None:
    from tests.infra.resources import PROJECT, run_program

    program = run_program("prod", {f"{PROJECT}:rawReplicaRegion": "eu-central-1"})
    names = Names("prod", mocks.ACCOUNT_ID, mocks.REGION, mocks.PARTITION)
    test_security_replication_of_raw_only_when_configured(program, load_config_with_replica())
    rule = of_type(program, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")[0]
    assert rule["inputs"]["bucket"] == f"{_bucket(program, names.bucket('raw'))['name']}-id", rule["urn"]
    spec = rule["inputs"]["rules"][0]
    assert spec["status"] == "Enabled" and spec["deleteMarkerReplication"]["status"] == "Disabled", spec
    replica = next(b for b in of_type(program, BUCKET) if "replica" in b["inputs"]["bucket"])
    assert replica["inputs"]["bucket"].endswith("-eu-central-1"), replica["inputs"]["bucket"]
    assert spec["destination"]["bucket"] == replica["outputs"]["arn"], spec
    assert replica["options"]["provider"], f"{replica['urn']}: not in the replica region's provider"
    assert replica["options"]["protect"] is True, replica["urn"]
    lock = _lock(program, replica)
    assert lock == {"mode": "GOVERNANCE", "days": 365}, lock
    assert spec["destination"]["encryptionConfiguration"]["replicaKmsKeyId"], "replica not on a KMS key"
    role = next(r for r in of_type(program, "aws:iam/role:Role") if r["inputs"]["name"].endswith("raw-replication"))
    trust = statements(document(role, "assumeRolePolicy"))[0]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == names.bucket_arn("raw"), trust


def load_config_with_replica() -> StackConfig:
    from tests.infra.resources import PROJECT, load_stack_config

    return load_stack_config("prod", {f"{PROJECT}:rawReplicaRegion": "eu-central-1"})


def test_security_replication_program_passes_the_iam_rules() -> None:
    """The replica's role and policies obey the same rules as the default stacks' (trust, wildcards)."""
    from tests.infra import test_iam
    from tests.infra.resources import PROJECT, run_program

    program = run_program("prod", {f"{PROJECT}:rawReplicaRegion": "eu-central-1"})
    names = Names("prod", mocks.ACCOUNT_ID, mocks.REGION, mocks.PARTITION)
    test_iam.test_iam_roles_trust_only_their_service(program)
    test_iam.test_iam_no_wildcard_actions(program)
    test_iam.test_iam_no_managed_policies_attached(program)
    test_security_trust_policies_keep_source_conditions(program, names)
    test_security_stateful_resources_protected_in_staging_and_prod(program, load_config_with_replica())


# --- 6. no policy of any kind allows a wildcard AWS does not require ------------------------------
POLICY_INPUTS: dict[str, str] = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:kms/key:Key": "policy",
}


def check_no_wildcard_allows(program: Program) -> None:
    """Every Allow statement of every policy document (identity, bucket, topic, key, reader): no wildcard
    action and no Resource "*" — except a key policy's Resource (AWS's only value: "this key"), AWS's
    default key administration statement, and the documented actions without resource-level permissions."""
    from infra.policies import STAR_RESOURCE_ACTIONS

    problems = []
    for typ, key in POLICY_INPUTS.items():
        for resource in of_type(program, typ):
            for stmt in statements(document(resource, key)):
                if stmt["Effect"] != "Allow":
                    continue
                actions = as_list(stmt["Action"])
                if typ == "aws:kms/key:Key":
                    if stmt.get("Sid") == "AccountAdministersThroughIam" and actions == ["kms:*"]:
                        continue
                    wild = [a for a in actions if "*" in a]
                else:
                    wild = [a for a in actions if "*" in a]
                    if "*" in as_list(stmt.get("Resource", [])):
                        wild += [f"{a} on *" for a in actions if a not in STAR_RESOURCE_ACTIONS]
                if wild or stmt.get("Principal") in ("*", {"AWS": "*"}):
                    problems.append(f"{resource['urn']}: {stmt.get('Sid')} allows {wild or stmt['Principal']}")
    assert not problems, "\n".join(problems)


def test_security_no_policy_allows_a_wildcard_aws_does_not_require(program: Program) -> None:
    check_no_wildcard_allows(program)
