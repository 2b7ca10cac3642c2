"""The AWS-failure boundary (genomics.errors.aws_call): the same AWS failure classifies the same way in the
ledger, ingest, processing, QC and the S3 sources. Transient failures (throttling, 5xx, timeouts, broken
connections) become TransientError, which the workflow retries; permanent ones do not.

The failures are real: AWS's error answers travel through botocore's parser (genomics.faults answers
before the call is sent) or come from moto; network failures are botocore's own exceptions raised where
botocore's HTTP layer raises them (a ``before-send`` handler, inside its retry machinery), or a real
refused connection to a closed port."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from moto import mock_aws

from genomics import errors, faults, ingest, replay
from genomics.errors import TransientError, aws_call, classify, is_transient
from genomics.ledger import Ledger
from genomics.processing import service as processing
from genomics.qc import service as qc
from genomics.sources import S3Object

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=2)
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:sm"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/ingest-dlq"

# Each module's entry point, given a client factory: (service, operation, call).
Make = Callable[[str], Any]
MODULES: dict[str, tuple[str, str, Callable[[Make], Any]]] = {
    "ledger": ("dynamodb", "GetItem", lambda make: Ledger("m", "j", "q", client=make("dynamodb")).get_job("j-1")),
    "ingest": ("stepfunctions", "StartExecution",
               lambda make: ingest.start_workflow(make("stepfunctions"), ARN, "job-1", {"job_id": "job-1"})),
    "processing": ("s3", "GetObject", lambda make: processing.process(
        {"job_id": "job-1", "project": "p", "sample_id": "s",
         "input": {"bucket": "raw", "key": "p/s/a.vcf.gz", "sha256": "0" * 64, "size": 10}},
        s3=make("s3"), cfg=processing.Config("processed"))),
    "qc": ("s3", "HeadObject",
           lambda make: qc.aws(lambda: make("s3").head_object(Bucket="b", Key="k"), "S3 HeadObject")),
    "sources": ("s3", "HeadObject", lambda make: S3Object(make("s3"), "b", "k", None, None).size()),
    "replay": ("sqs", "ReceiveMessage",
               lambda make: replay.replay(make("sqs"), QUEUE, lambda record: {}, dry_run=True)),
}

ANSWERS = {  # AWS's answer -> whether it is worth a retry
    ("ThrottlingException", 400): True,
    ("Throttling", 400): True,
    ("ProvisionedThroughputExceededException", 400): True,
    ("RequestLimitExceeded", 400): True,
    ("TooManyRequestsException", 429): True,
    ("SlowDown", 503): True,
    ("ServiceUnavailable", 503): True,
    ("InternalError", 500): True,
    ("SomeNewServerFault", 502): True,  # any 5xx
    ("AccessDenied", 403): False,
    ("ValidationException", 400): False,
    ("InvalidParameterValue", 400): False,
}
NETWORK = [ReadTimeoutError, ConnectTimeoutError, ConnectionClosedError, EndpointConnectionError,
           ResponseStreamingError]


def _client(service: str, **kwargs: Any) -> Any:
    return boto3.client(service, config=NO_RETRIES, **kwargs)


def _outcome(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


def _botocore_error(exc: BaseException) -> BaseException | None:
    """The botocore exception ``exc`` is or was raised from."""
    while exc is not None and not isinstance(exc, ClientError | BotoCoreError):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


@pytest.mark.parametrize("module", sorted(MODULES))
@pytest.mark.parametrize(("code", "status"), sorted(ANSWERS))
def test_aws_boundary_an_aws_answer_classifies_the_same_in_every_module(aws_env, module: str, code: str,
                                                                        status: int) -> None:
    service, operation, call = MODULES[module]
    with faults.inject(service, operation, code, status=status, times=1) as fault:
        raised = _outcome(lambda: call(_client))
    assert fault.fired == 1, f"{module}: the call never reached {service}.{operation}"
    cause = _botocore_error(raised)
    assert isinstance(cause, ClientError) and cause.response["Error"]["Code"] == code, (module, raised)
    assert isinstance(raised, TransientError) is ANSWERS[(code, status)], (module, code, raised)


@contextmanager
def _network_failure(service: str, operation: str, error: type[BotoCoreError]) -> Iterator[Make]:
    """Clients whose ``operation`` fails in botocore's HTTP layer with ``error`` (as a real send would)."""
    def fail(request: Any, **_: Any) -> None:
        if error is ResponseStreamingError:
            raise error(error="Connection broken: IncompleteRead(10 bytes read, 90 more expected)")
        raise error(endpoint_url=request.url, error="injected", request=request)

    def make(name: str) -> Any:
        client = _client(name)
        client.meta.events.register(f"before-send.{service}.{operation}", fail)
        return client

    yield make


@pytest.mark.parametrize("module", sorted(MODULES))
@pytest.mark.parametrize("error", NETWORK, ids=lambda e: e.__name__)
def test_aws_boundary_a_network_failure_is_transient_in_every_module(aws_env, module: str,
                                                                     error: type[BotoCoreError]) -> None:
    service, operation, call = MODULES[module]
    with _network_failure(service, operation, error) as make:
        raised = _outcome(lambda: call(make))
    assert isinstance(raised, TransientError), (module, raised)
    assert isinstance(raised.__cause__, error), (module, raised.__cause__)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_aws_boundary_an_unreachable_endpoint_is_transient_in_every_module(aws_env, module: str) -> None:
    """A real refused connection (nothing listens on the port): botocore's EndpointConnectionError."""
    _service, _operation, call = MODULES[module]
    url = f"http://127.0.0.1:{_closed_port()}"
    raised = _outcome(lambda: call(lambda name: _client(name, endpoint_url=url)))
    assert isinstance(raised, TransientError), (module, raised)
    assert isinstance(raised.__cause__, EndpointConnectionError)
    assert classify(raised).code == "AWS_ENDPOINT_UNREACHABLE"  # the CLI names the cause, not a throttle


@pytest.mark.parametrize("module", sorted(MODULES))
def test_aws_boundary_missing_credentials_are_permanent_in_every_module(aws_env, monkeypatch, tmp_path,
                                                                         module: str) -> None:
    """No credentials anywhere: a retry cannot help, so nothing becomes TransientError."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    _service, _operation, call = MODULES[module]
    raised = _outcome(lambda: call(_client))
    assert not isinstance(raised, TransientError), (module, raised)
    assert isinstance(_botocore_error(raised), NoCredentialsError), (module, raised)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_aws_boundary_what_moto_answers_for_a_missing_resource_is_permanent(aws_env, module: str) -> None:
    """moto's own answers (no such table, bucket or state machine): permanent in every module."""
    _service, _operation, call = MODULES[module]
    with mock_aws():
        raised = _outcome(lambda: call(_client))
    cause = _botocore_error(raised)
    assert isinstance(cause, ClientError), (module, raised)
    assert not is_transient(cause) and not isinstance(raised, TransientError), (module, raised)


def test_aws_boundary_qc_translates_a_permanent_answer_into_its_store_error(aws_env) -> None:
    with faults.inject("s3", "HeadObject", "AccessDenied", status=403):
        raised = _outcome(lambda: MODULES["qc"][2](_client))
    assert isinstance(raised, qc.QcStoreError) and raised.code == "QC_STORE_FAILED"
    assert classify(raised).code == "AWS_ACCESS_DENIED"  # the caller's setup is what to fix


def test_aws_boundary_as_decorator_and_permanent_translation(aws_env) -> None:
    class Gone(Exception):
        pass

    @aws_call("S3 HeadObject", permanent=lambda e: Gone(str(e)))
    def head(s3: Any) -> Any:
        return s3.head_object(Bucket="b", Key="k")

    with faults.inject("s3", "HeadObject", "SlowDown", status=503):
        transient = _outcome(lambda: head(_client("s3")))
    assert isinstance(transient, TransientError) and str(transient).startswith("S3 HeadObject: ClientError:")
    with faults.inject("s3", "HeadObject", "AccessDenied", status=403):
        assert isinstance(_outcome(lambda: head(_client("s3"))), Gone)
    # A permanent botocore error that is not AWS's answer (the caller's setup) is never translated.
    with pytest.raises(NoCredentialsError), aws_call(permanent=lambda e: Gone(str(e))):
        raise NoCredentialsError()


def test_aws_boundary_transient_error_keeps_its_name_for_the_workflow() -> None:
    from genomics.workflow import TRANSIENT_ERRORS

    assert errors.TransientError.__name__ in TRANSIENT_ERRORS


class _BreaksAfter:
    """A raw HTTP body that delivers ``good`` bytes, then fails as urllib3 fails (botocore's StreamingBody
    turns these into its ReadTimeoutError / ResponseStreamingError)."""

    def __init__(self, raw: Any, good: int, error: Exception) -> None:
        self._raw, self._left, self._error = raw, good, error

    def read(self, amt: int | None = None) -> bytes:
        if self._left <= 0:
            raise self._error
        data = self._raw.read(min(amt or self._left, self._left))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._raw.close()


@pytest.mark.parametrize("broken", ["read-timeout", "protocol"])
def test_aws_boundary_a_body_broken_mid_read_is_transient_not_an_unreadable_file(aws_env, broken: str) -> None:
    """botocore's ReadTimeoutError is an OSError: without the boundary, the format detector reported a
    good upload whose body read timed out as FMT_UNKNOWN ("cannot read the file")."""
    from botocore.response import StreamingBody
    from urllib3.exceptions import ProtocolError
    from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeout

    from genomics.validation.detect import detect

    error = (Urllib3ReadTimeout(None, "/raw/k.vcf", "Read timed out.") if broken == "read-timeout"
             else ProtocolError("Connection broken: IncompleteRead"))
    with mock_aws():
        s3 = _client("s3")
        s3.create_bucket(Bucket="raw")
        s3.put_object(Bucket="raw", Key="k.vcf", Body=b"##fileformat=VCFv4.2\n" * 1000)

        def break_body(parsed: dict[str, Any], **_: Any) -> None:
            body = parsed["Body"]
            parsed["Body"] = StreamingBody(_BreaksAfter(body._raw_stream, 100, error), body._content_length)

        s3.meta.events.register("after-call.s3.GetObject", break_body)
        with pytest.raises(TransientError) as raised:
            detect(S3Object(s3, "raw", "k.vcf", None, None))
    assert isinstance(raised.value.__cause__, ReadTimeoutError | ResponseStreamingError)
    assert "s3://raw/k.vcf" in str(raised.value)
