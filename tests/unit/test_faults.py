"""The fault hooks (genomics.faults): specs parse strictly; armed AWS-call faults raise what a real
throttle, 5xx or timeout raises; handler faults fire for their function only; probabilities are seeded."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from genomics import faults
from genomics.errors import is_transient


def test_faults_spec_parses_points_kinds_times_and_probability():
    got = faults.parse("dynamodb.UpdateItem=throttle:3,s3.GetObject=5xx@0.5,handler.vcf-processor=crash:1,"
                       "sqs.ReceiveMessage=timeout")
    assert [(f.point, f.kind, f.times, f.probability) for f in got] == [
        ("dynamodb.UpdateItem", "throttle", 3, 1.0), ("s3.GetObject", "5xx", None, 0.5),
        ("handler.vcf-processor", "crash", 1, 1.0), ("sqs.ReceiveMessage", "timeout", None, 1.0)]


@pytest.mark.parametrize("spec", ["dynamodb=throttle", "s3.GetObject=boom", "s3.GetObject=crash",
                                  "s3.GetObject=5xx:0", "s3.GetObject=5xx@2", "s3.GetObject=5xx:x"])
def test_faults_spec_rejects_what_it_cannot_do(spec):
    with pytest.raises(faults.FaultSpecError):
        faults.parse(spec)


def test_faults_armed_aws_faults_raise_transient_errors_then_stop(aws_env):
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="faults-test")
        armed = faults.parse("s3.HeadBucket=throttle:1,s3.ListObjectsV2=5xx:1,s3.GetBucketLocation=timeout:1")
        faults.arm(armed)
        s3 = boto3.client("s3")  # clients created after arming see the faults
        try:
            for call in (lambda: s3.head_bucket(Bucket="faults-test"), lambda: s3.list_objects_v2(Bucket="faults-test"),
                         lambda: s3.get_bucket_location(Bucket="faults-test")):
                with pytest.raises((ClientError, ReadTimeoutError)) as err:
                    call()
                assert is_transient(err.value)
                call()  # times=1: the next call goes through
        finally:
            faults.disarm(armed)
        assert [f.fired for f in armed] == [1, 1, 1]


def test_faults_handler_crash_fires_for_its_function_only():
    armed = faults.parse("handler.quality-metrics=crash:1,handler.sweeper=timeout:1")
    faults.arm(armed)
    try:
        faults.handler_fault("genomics-dev-vcf-processor")  # not armed: nothing
        with pytest.raises(faults.HandlerCrash):
            faults.handler_fault("genomics-dev-quality-metrics")
        faults.handler_fault("genomics-dev-quality-metrics")  # fired once already
        with pytest.raises(faults.HandlerTimeout):
            faults.handler_fault("genomics-dev-sweeper")
    finally:
        faults.disarm(armed)


def test_faults_probabilities_are_reproducible_from_the_seed():
    def pattern(seed: int) -> list[bool]:
        (f,) = faults.parse("handler.x=crash@0.3", seed=seed)
        return [f.fire() for _ in range(50)]

    assert pattern(7) == pattern(7) and pattern(7) != pattern(8)
    assert 5 <= sum(pattern(7)) <= 25
