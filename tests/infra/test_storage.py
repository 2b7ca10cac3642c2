"""Every bucket: encryption, public access block, TLS-only policy, owner-enforced, lifecycle, logging."""

from __future__ import annotations

from genomics.deployment import BUCKET_ROLES, Names
from infra.config import StackConfig
from infra.naming import trail_bucket_name
from tests.infra.resources import Program, as_list, document, of_type, statements

BUCKET = "aws:s3/bucket:Bucket"


def _attached(program: Program, typ: str, bucket: dict) -> list[dict]:
    """Resources of ``typ`` configuring ``bucket`` (the mock id of a bucket is ``<name>-id``)."""
    return [r for r in of_type(program, typ) if r["inputs"].get("bucket") == f"{bucket['name']}-id"]


def _one(program: Program, typ: str, bucket: dict) -> dict:
    found = _attached(program, typ, bucket)
    assert len(found) == 1, f"{bucket['urn']}: {len(found)} resources of type {typ}"
    return found[0]


def _data_bucket(program: Program, names: Names, role: str) -> dict:
    return next(b for b in of_type(program, BUCKET) if b["inputs"]["bucket"] == names.bucket(role))  # type: ignore[arg-type]


def test_storage_every_bucket_encrypted(program: Program, names: Names, config: StackConfig) -> None:
    # With the CMK: the data buckets and the trail's log bucket (CloudTrail can write SSE-KMS); never the
    # server-access-log bucket (S3 log delivery cannot).
    data = {names.bucket(role) for role in BUCKET_ROLES} | {trail_bucket_name(names)}
    key_arns = {k["outputs"]["arn"] for k in of_type(program, "aws:kms/key:Key")}
    for bucket in of_type(program, BUCKET):
        sse = _one(program, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   bucket)
        default = sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
        if config.kms and bucket["inputs"]["bucket"] in data:
            assert default["sseAlgorithm"] == "aws:kms", f"{sse['urn']}: {default}"
            assert default.get("kmsMasterKeyId") in key_arns, f"{sse['urn']}: not the stack's CMK: {default}"
        else:
            assert default["sseAlgorithm"] == "AES256", f"{sse['urn']}: {default}"


def test_storage_every_bucket_blocks_public_access(program: Program) -> None:
    for bucket in of_type(program, BUCKET):
        block = _one(program, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(block["inputs"].get(f) is True for f in flags), f"{block['urn']}: {block['inputs']}"


def test_storage_every_bucket_owner_enforced(program: Program) -> None:
    for bucket in of_type(program, BUCKET):
        ctl = _one(program, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket)
        assert ctl["inputs"]["rule"]["objectOwnership"] == "BucketOwnerEnforced", f"{ctl['urn']}: {ctl['inputs']}"


def test_storage_every_bucket_policy_denies_insecure_transport(program: Program) -> None:
    for bucket in of_type(program, BUCKET):
        policy = _one(program, "aws:s3/bucketPolicy:BucketPolicy", bucket)
        arn = bucket["outputs"]["arn"]
        denies = [
            s for s in statements(document(policy))
            if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert denies, f"{policy['urn']}: no TLS-only deny"
        assert denies[0]["Principal"] == "*" and denies[0]["Action"] == "s3:*", f"{policy['urn']}: {denies[0]}"
        assert set(as_list(denies[0]["Resource"])) == {arn, f"{arn}/*"}, f"{policy['urn']}: {denies[0]['Resource']}"


def test_storage_bucket_policies_grant_no_public_access(program: Program) -> None:
    for policy in of_type(program, "aws:s3/bucketPolicy:BucketPolicy"):
        for stmt in statements(document(policy)):
            if stmt["Effect"] == "Allow":
                assert stmt["Principal"] != "*" and stmt["Principal"] != {"AWS": "*"}, (
                    f"{policy['urn']}: public allow {stmt}"
                )


def test_storage_data_buckets_log_access_to_log_bucket(program: Program, names: Names) -> None:
    logs = [b for b in of_type(program, BUCKET) if "access-logs" in b["inputs"]["bucket"]]
    assert len(logs) == 1, f"expected one access-log bucket, got {[b['urn'] for b in logs]}"
    for role in BUCKET_ROLES:
        bucket = _data_bucket(program, names, role)
        logging = _one(program, "aws:s3/bucketLogging:BucketLogging", bucket)
        assert logging["inputs"]["targetBucket"] == f"{logs[0]['name']}-id", f"{logging['urn']}: {logging['inputs']}"
        assert logging["inputs"]["targetPrefix"] == f"{role}/", f"{logging['urn']}: prefix"


def test_storage_raw_bucket_versioned(program: Program, names: Names) -> None:
    bucket = _data_bucket(program, names, "raw")
    versioning = _one(program, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled", f"{versioning['urn']}"


def _rules(program: Program, bucket: dict) -> list[dict]:
    return _one(program, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket)["inputs"]["rules"]


def test_storage_tmp_expires_after_one_day_in_processed_and_delivery(program: Program, names: Names) -> None:
    for role in ("processed", "delivery"):
        bucket = _data_bucket(program, names, role)
        tmp = [r for r in _rules(program, bucket) if r.get("filter", {}).get("prefix") == "tmp/"]
        assert len(tmp) == 1 and tmp[0]["expiration"]["days"] == 1, f"{bucket['urn']}: tmp/ rule {tmp}"
        assert tmp[0]["status"] == "Enabled", f"{bucket['urn']}: tmp/ rule disabled"


def test_storage_incomplete_multipart_uploads_aborted_everywhere(program: Program) -> None:
    for bucket in of_type(program, BUCKET):
        aborts = [r for r in _rules(program, bucket) if r.get("abortIncompleteMultipartUpload")]
        assert aborts and aborts[0]["status"] == "Enabled", f"{bucket['urn']}: no multipart abort rule"
        assert aborts[0]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] <= 7, f"{bucket['urn']}"


def test_storage_raw_transitions_and_expires_noncurrent(program: Program, names: Names, config: StackConfig) -> None:
    bucket = _data_bucket(program, names, "raw")
    transitions = [t for r in _rules(program, bucket) for t in r.get("transitions", [])]
    assert transitions == [{"days": config.raw_transition_days, "storageClass": config.raw_storage_class}], (
        f"{bucket['urn']}: transitions {transitions}"
    )
    assert config.raw_storage_class in ("INTELLIGENT_TIERING", "GLACIER_IR"), f"{bucket['urn']}"
    rules = _rules(program, bucket)
    noncurrent = [r["noncurrentVersionExpiration"] for r in rules if r.get("noncurrentVersionExpiration")]
    assert noncurrent == [{"noncurrentDays": config.noncurrent_version_days}], f"{bucket['urn']}: {noncurrent}"


def test_storage_no_partner_account_reads_any_bucket(program: Program, names: Names, config: StackConfig) -> None:
    """Partners download through the DRS routes' presigned URLs: no bucket policy allows any principal."""
    for role in ("raw", "processed", "delivery"):
        other = _one(program, "aws:s3/bucketPolicy:BucketPolicy", _data_bucket(program, names, role))
        assert not [s for s in statements(document(other)) if s["Effect"] == "Allow"], f"{other['urn']}: allows"


def test_storage_kms_keys_name_no_principal_outside_the_account(program: Program, names: Names) -> None:
    """Symmetric keys rotate (an asymmetric signing key cannot); no partner account is in any key policy."""
    own = f"arn:{names.partition}:iam::{names.account_id}:root"
    for key in of_type(program, "aws:kms/key:Key"):
        if key["inputs"].get("keyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT":
            assert key["inputs"].get("enableKeyRotation") is True, f"{key['urn']}: rotation off"
        for stmt in statements(document(key)):
            if "Service" in stmt["Principal"]:
                continue  # service statements: test_security.py
            assert as_list(stmt["Principal"]["AWS"]) == [own], f"{key['urn']}: principals {stmt['Principal']}"
