"""Failure modes shared across handlers. Each is a small class; boundaries translate into them.

The Step Functions workflow retries on the error *name* ``TransientError`` (see genomics.workflow), so
the class name is part of the contract.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    CapacityNotAvailableError,
    ChecksumError,
    ClientError,
    ConfigParseError,
    ConnectionClosedError,
    ConnectionError,
    CredentialRetrievalError,
    EndpointConnectionError,
    FlexibleChecksumError,
    HTTPClientError,
    IncompleteReadError,
    InvalidConfigError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from genomics.tools import ToolError, ToolMissing

# AWS error codes that mean "try again later" (after botocore's own retries gave up): throttling (each
# service spells it its own way), the service failing on its side, a request that timed out.
TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "InternalServerError",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "503",
        "500",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
# botocore errors raised before AWS answered that a retry can cure: the connection failed, timed out or
# broke mid-body, the body arrived damaged, or botocore's own retry quota ran dry. Every other
# BotoCoreError (credentials, region, configuration, parameters) is permanent: a retry changes nothing.
TRANSIENT_BOTOCORE = (
    ConnectionError,  # EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError, SSLError
    HTTPClientError,  # ReadTimeoutError, ConnectionClosedError, ResponseStreamingError
    IncompleteReadError,
    ChecksumError,
    FlexibleChecksumError,
    CapacityNotAvailableError,
)


class TransientError(Exception):
    """AWS throttled or failed on its side; the workflow retries with backoff and jitter."""


class UserInputError(Exception):
    """Something the uploader can fix. Carries a stable code and a location."""

    code = "INPUT_INVALID"

    def __init__(self, message: str, *, code: str | None = None, location: str | None = None) -> None:
        if code:
            self.code = code
        self.location = location
        super().__init__(message)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self), "location": self.location}


def condition_failed(exc: ClientError) -> bool:
    """DynamoDB refused a write because its ConditionExpression did not hold (someone else got there
    first, or the item is not in the state the write expects): an answer, not a failure."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def is_transient(exc: BaseException) -> bool:
    """Whether an AWS failure is worth retrying later (the one classification every module uses):
    throttling, a 5xx, a timeout or a broken connection. Everything else is permanent."""
    if isinstance(exc, TRANSIENT_BOTOCORE):
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in TRANSIENT_AWS_CODES or code.startswith("Throttl") or int(status or 0) >= 500
    return False


@contextmanager
def aws_call(what: str = "", *, permanent: Callable[[ClientError], Exception] | None = None) -> Iterator[None]:
    """The AWS-failure boundary: every module makes its AWS calls inside it (or under it as a decorator).

    A transient failure (:func:`is_transient`) becomes :class:`TransientError`, which the workflow retries
    with backoff; the original is its ``__cause__``. A permanent answer from AWS (a ``ClientError``)
    becomes ``permanent(error)`` when the caller has a domain error for it, else propagates unchanged, so
    the caller can still tell NoSuchKey from AccessDenied; any other botocore error (credentials, region,
    parameters: the caller's setup) propagates unchanged. ``what`` names the call in the messages::

        with aws_call("S3 HeadObject"):
            head = s3.head_object(Bucket=bucket, Key=key)
    """
    try:
        yield
    except (ClientError, BotoCoreError) as e:
        if is_transient(e):
            raise TransientError(f"{what}: {type(e).__name__}: {e}" if what else f"{type(e).__name__}: {e}") from e
        if permanent is not None and isinstance(e, ClientError):
            raise permanent(e) from e
        raise


# ------------------------------------------------------------------------------------------ one line, one code
# Codes for failures that are not about a file's content: the command line, local I/O, AWS. The CLI
# prints every failure as one line ``CODE: message [where]`` (see :func:`classify`).
CODES: dict[str, str] = {
    "INPUT_INVALID": "input the uploader can fix (the generic code; most errors carry a more precise one)",
    "CLI_USAGE": "the command line is not valid (unknown option, missing argument): see `genomics COMMAND --help`",
    "CLI_FILE_NOT_FOUND": "a local file or directory named on the command line does not exist",
    "CLI_IO_ERROR": "a local file could not be read or written (permissions, a directory, disk full)",
    "CLI_TOOL_MISSING": "samtools, bcftools or tabix is not on PATH (run `make setup`)",
    "CLI_TOOL_FAILED": "an external tool failed where no more precise code applies (its command and stderr follow)",
    "CLI_INTERRUPTED": "the command was interrupted (Ctrl-C) before it finished",
    "DEMO_DATA_MISSING": "`genomics local demo`: a package that ships the demo's inputs is not installed (named)",
    "CLI_INTERNAL": "an unexpected error, a bug: rerun with --debug for the traceback and report it",
    "AWS_NO_CREDENTIALS": "no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
    "AWS_CREDENTIALS_INVALID": "AWS refused the credentials (expired session token, unknown key, wrong secret)",
    "AWS_CONFIG_INVALID": "the AWS configuration is unusable (unknown profile, malformed config file)",
    "AWS_NO_REGION": "no AWS region configured (set AWS_REGION or use a profile with a region)",
    "AWS_ENDPOINT_UNREACHABLE": "the AWS endpoint (or --endpoint-url) could not be reached or timed out",
    "AWS_ACCESS_DENIED": "AWS denied the call: the caller's role lacks the permission named in the message",
    "AWS_NOT_FOUND": "a table, bucket, queue, state machine or object does not exist: check --stack, account, region",
    "AWS_THROTTLED": "AWS throttled or failed on its side after retries (throttling, 5xx): try again later",
    "AWS_REQUEST_INVALID": "AWS rejected the request's parameters (the message names the parameter)",
    "AWS_ERROR": "any other AWS error; the message carries AWS's own error code and text",
}

EXIT_OK, EXIT_VERDICT, EXIT_FAILED = 0, 1, 2

_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                     "Forbidden", "403", "AllAccessDisabled", "KMS.AccessDeniedException"})
_BAD_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "InvalidAccessKeyId",
                              "SignatureDoesNotMatch", "UnrecognizedClientException", "InvalidToken",
                              "IncompleteSignature", "RequestExpired", "InvalidSignatureException"})
_NOT_FOUND = frozenset({"ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "NotFound", "404", "NoSuchVersion",
                        "NoSuchUpload", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
                        "StateMachineDoesNotExist", "ExecutionDoesNotExist", "ResourceNotFound",
                        "NoSuchEntity", "ParameterNotFound"})
_INVALID = frozenset({"ValidationException", "ValidationError", "InvalidParameterValue", "InvalidArgument",
                      "InvalidRequest", "InvalidParameterException", "SerializationException",
                      "InvalidParameterCombination", "MalformedXML", "InvalidBucketName"})


@dataclass(frozen=True)
class Failure:
    """What went wrong, as the CLI reports it: ``CODE: message [where]`` and an exit status."""

    code: str
    message: str
    where: str | None = None
    exit_code: int = EXIT_FAILED

    def about(self, path: str | None) -> Failure:
        """The same failure, located in the local file ``path`` the command was working on (when the
        failure concerns a file and does not already name it)."""
        if not path or self.code.startswith(("AWS_", "CLI_USAGE")):
            return self
        if not self.where:
            return replace(self, where=path)
        return replace(self, where=f"{path}, {self.where}") if self.where.startswith("line ") else self

    def line(self) -> str:
        text = " ".join(self.message.split())  # one line, whatever the message held
        where = f" [{' '.join(self.where.split())}]" if self.where else ""
        return f"{self.code}: {text}{where}"


def classify_aws(exc: BaseException) -> Failure | None:
    """A botocore exception -> its CLI failure; None when ``exc`` is not a botocore error."""
    if isinstance(exc, PartialCredentialsError | NoCredentialsError | CredentialRetrievalError):
        return Failure("AWS_NO_CREDENTIALS", f"{exc}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                       "or run where a role provides them")
    if isinstance(exc, NoRegionError):
        return Failure("AWS_NO_REGION", "no AWS region configured: set AWS_REGION or use a profile with a region")
    if isinstance(exc, ProfileNotFound | ConfigParseError | InvalidConfigError):
        return Failure("AWS_CONFIG_INVALID", str(exc))
    if isinstance(exc, ConnectionError | EndpointConnectionError | ReadTimeoutError | ConnectionClosedError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url")
        return Failure("AWS_ENDPOINT_UNREACHABLE", f"{type(exc).__name__}: {exc}", url)
    if isinstance(exc, ParamValidationError):
        return Failure("AWS_REQUEST_INVALID", str(exc))
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code, text = str(err.get("Code") or ""), str(err.get("Message") or exc)
        inner = _XML_ERROR.search(text)  # some endpoints answer a JSON protocol with an XML error body
        if inner:
            code, text = inner.group(1), inner.group(2)
        message = f"{code}: {text}"
        where = getattr(exc, "operation_name", None)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _BAD_CREDENTIALS:
            return Failure("AWS_CREDENTIALS_INVALID", message, where)
        if code in _DENIED or (status == 403 and code not in _NOT_FOUND):
            return Failure("AWS_ACCESS_DENIED", message, where)
        if code in _NOT_FOUND or code.endswith(("NotFound", "NotFoundException", "DoesNotExist")) or status == 404:
            return Failure("AWS_NOT_FOUND", message, where)
        if is_transient(exc):
            return Failure("AWS_THROTTLED", message, where)
        if code in _INVALID:
            return Failure("AWS_REQUEST_INVALID", message, where)
        return Failure("AWS_ERROR", message, where)
    if isinstance(exc, BotoCoreError):
        return Failure("AWS_ERROR", f"{type(exc).__name__}: {exc}")
    return None


_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
# AWS failures that say the caller's setup is wrong: reported as such even behind a domain error's code.
_CALLER_PROBLEMS = ("AWS_ACCESS_DENIED", "AWS_NO_CREDENTIALS", "AWS_CREDENTIALS_INVALID", "AWS_ENDPOINT_UNREACHABLE",
                    "AWS_NO_REGION", "AWS_CONFIG_INVALID")
_XML_ERROR = re.compile(r"<Code>([^<]+)</Code>\s*<Message>([^<]*)</Message>")


def _aws_cause(exc: BaseException) -> Failure | None:
    """The AWS failure behind ``exc`` (its explicit or implicit cause chain), if any."""
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        found = classify_aws(cause)
        if found is not None:
            return found
        cause = cause.__cause__ or cause.__context__
    return None


def classify(exc: BaseException) -> Failure:
    """Any exception -> one coded failure (exit 2). The one place the CLI's error lines are decided.

    botocore errors map to AWS_* codes (a TransientError is classified by the AWS error it wraps);
    exceptions that carry a stable ``code`` keep it, with their ``location``; local I/O errors map to
    CLI_* codes with the path; anything else is CLI_INTERNAL.
    """
    aws = classify_aws(exc)
    if aws is not None:
        return aws
    if isinstance(exc, TransientError):
        return _aws_cause(exc) or Failure("AWS_THROTTLED", str(exc))
    if isinstance(exc, KeyboardInterrupt):
        return Failure("CLI_INTERRUPTED", "interrupted before the command finished")
    code = getattr(exc, "code", None)
    if isinstance(code, str) and _CODE.fullmatch(code):
        if isinstance(exc, UserInputError):
            message = str(exc.args[0]) if exc.args else code
        else:  # some exceptions repeat their code (and line) at the start of str(): say it once
            message = re.sub(rf"^{code}(?: at line \d+)?:\s*", "", str(exc))
        where = getattr(exc, "location", None)
        line = getattr(exc, "line", None)
        if not where and isinstance(line, int):
            where = f"line {line}"
        cause = _aws_cause(exc)
        if cause is not None and cause.code in _CALLER_PROBLEMS:
            return cause  # e.g. QC_STORE_FAILED because S3 said AccessDenied: the caller's setup is what to fix
        return Failure(code, message or code, where)
    if isinstance(exc, FileNotFoundError):
        return Failure("CLI_FILE_NOT_FOUND", "no such file or directory", exc.filename)
    if isinstance(exc, OSError):
        return Failure("CLI_IO_ERROR", exc.strerror or str(exc), exc.filename)
    if isinstance(exc, ToolMissing):
        return Failure("CLI_TOOL_MISSING", str(exc), exc.tool)
    if isinstance(exc, ToolError):
        return Failure("CLI_TOOL_FAILED", str(exc))
    wrapped = _aws_cause(exc)  # e.g. boto3's S3UploadFailedError, raised while handling a ClientError
    if wrapped is not None:
        return wrapped
    return Failure("CLI_INTERNAL", f"{type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
