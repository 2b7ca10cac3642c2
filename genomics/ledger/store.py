"""The sample ledger on DynamoDB: samples, files, jobs and their history. Queries only, never Scan.

Access patterns (who asks what -> the key or index that serves it; docs/data-model.md):

- data steward: sample -> its files and their status   metadata  pk=SAMPLE#<id>
- project manager: project -> samples                  metadata  by-project (gsi_project)
- anyone: identical content seen before?               metadata  by-checksum (sha256)
- project manager: what did project P deliver?         metadata  pk=PROJECT#<p>, sk begins DELIVERY#
- operator: job by id                                  jobs      job_id
- operator: file -> jobs                               jobs      by-file (file_id, created_at)
- steward: sample -> jobs                              jobs      by-sample (sample_id, created_at)
- operator: jobs by status and time; failures since T  jobs      by-status (status, updated_at >= T)
- project manager: project -> jobs                     jobs      by-project (project, created_at)
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from genomics import clients
from genomics.errors import aws_call, condition_failed
from genomics.ledger import model
from genomics.ledger.model import ObjectRef

# Called with the job after each successful create or transition (genomics local serve prints a line).
listeners: list[Callable[[dict[str, Any]], None]] = []

_ser = TypeSerializer()
_de = TypeDeserializer()


CODES: dict[str, str] = {
    "LEDGER_ERROR": "the ledger refused a write or read (see the message)",
    "LEDGER_INVALID_TRANSITION": "a job was asked to move backwards or out of a terminal state",
    "LEDGER_JOB_NOT_FOUND": "no job with this id in the ledger (check the id and --stack)",
}


class LedgerError(Exception):
    code = "LEDGER_ERROR"


class InvalidTransition(LedgerError):
    """A job was asked to move backwards or out of a terminal state."""

    code = "LEDGER_INVALID_TRANSITION"

    def __init__(self, job_id: str, current: str | None, target: str) -> None:
        self.job_id, self.current, self.target = job_id, current, target
        super().__init__(f"job {job_id}: cannot go from {current} to {target}")


class JobNotFound(LedgerError):
    code = "LEDGER_JOB_NOT_FOUND"


def _notify(job: dict[str, Any]) -> None:
    for listener in list(listeners):
        with contextlib.suppress(Exception):  # a listener never breaks a ledger write
            listener(job)


def _to_ddb(value: Any) -> Any:
    """Python -> DynamoDB-safe (floats become Decimal, empty strings dropped from maps)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {k: _to_ddb(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list | tuple):
        return [_to_ddb(v) for v in value]
    return value


def _from_ddb(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_ddb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_ddb(v) for v in value]
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(_to_ddb(v)) for k, v in item.items() if v is not None}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _from_ddb(_de.deserialize(v)) for k, v in item.items()}


@dataclass
class Ledger:
    """The three tables of one stack. ``client`` is a boto3 DynamoDB client (by default the container's
    shared one: :func:`genomics.clients.client`)."""

    metadata_table: str
    jobs_table: str
    qc_table: str
    client: Any = None

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = clients.client("dynamodb")

    @classmethod
    def from_environment(cls, *, with_qc: bool = True) -> Ledger:
        """The function's ledger: the tables its environment names (METADATA_TABLE, JOBS_TABLE and, when
        ``with_qc``, QC_TABLE if set), built once per container and shared by every invocation."""
        tables = (os.environ["METADATA_TABLE"], os.environ["JOBS_TABLE"],
                  os.environ.get("QC_TABLE", "") if with_qc else "")
        return clients.cached(f"ledger:{'|'.join(tables)}", lambda: cls(*tables))

    # ------------------------------------------------------------------ low level
    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call through the AWS-failure boundary (transient failures -> TransientError)."""
        with aws_call():
            return getattr(self.client, op)(**kwargs)

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            resp = self._call("query", **kwargs)
            for item in resp.get("Items", []):
                yield deserialize(item)
            last = resp.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def _query_page(self, limit: int, start: Mapping[str, Any] | None, **kwargs: Any
                    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of at most ``limit`` items and the key to continue from (None at the end)."""
        kwargs["Limit"] = limit
        if start:
            kwargs["ExclusiveStartKey"] = dict(start)
        resp = self._call("query", **kwargs)
        return [deserialize(i) for i in resp.get("Items", [])], resp.get("LastEvaluatedKey")

    # ------------------------------------------------------------------ jobs
    def create_job(
        self,
        ref: ObjectRef,
        *,
        job_id: str,
        project: str,
        sample_id: str,
        actor: str,
        run: int = 1,
        status: str = model.RECEIVED,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        """Create the job once. Returns False when it already existed (a redelivered event)."""
        now = model.now_iso()
        item = {
            "job_id": job_id,
            "status": status,
            "file_id": ref.file_id,
            "bucket": ref.bucket,
            "key": ref.key,
            "version_id": ref.version_id,
            "etag": ref.etag,
            "size": ref.size,
            "project": project,
            "sample_id": sample_id,
            "run": run,
            "created_at": now,
            "updated_at": now,
            "history": [{"to": status, "at": now, "by": actor, **(dict(detail) if detail else {})}],
        }
        try:
            self._call(
                "put_item",
                TableName=self.jobs_table,
                Item=serialize(item),
                ConditionExpression="attribute_not_exists(job_id)",
            )
            _notify(item)
            return True
        except ClientError as e:
            if condition_failed(e):
                return False
            raise

    def get_job(self, job_id: str) -> dict[str, Any]:
        resp = self._call("get_item", TableName=self.jobs_table, Key=serialize({"job_id": job_id}), ConsistentRead=True)
        if "Item" not in resp:
            raise JobNotFound(f"no job {job_id!r}")
        return deserialize(resp["Item"])

    def transition(
        self,
        job_id: str,
        target: str,
        *,
        actor: str,
        detail: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        only_from: tuple[str, ...] | None = None,
        expect_updated_at: str | None = None,
        idempotent: bool = True,
        remove: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Move a job forward with a conditional write; history gets who/what/when.

        Repeating a transition into the state the job is already in is a no-op that returns the job
        (unless ``idempotent`` is False: then only the caller that made the change succeeds).
        ``only_from`` narrows the allowed sources (e.g. a lease: RECEIVED -> VALIDATING only);
        ``expect_updated_at`` makes the write conditional on nobody having touched the job since.
        """
        sources = only_from or model.sources_of(target)
        if not sources:
            raise InvalidTransition(job_id, None, target)
        now = model.now_iso()
        entry = {"to": target, "at": now, "by": actor, **(dict(detail) if detail else {})}
        names = {"#s": "status", "#hist": "history"}
        values: dict[str, Any] = {":to": target, ":now": now, ":h": [entry]}
        sets = ["#s = :to", "updated_at = :now", "#hist = list_append(#hist, :h)"]
        for i, (k, v) in enumerate((attributes or {}).items()):
            if v is None:
                continue
            names[f"#a{i}"] = k
            values[f":a{i}"] = v
            sets.append(f"#a{i} = :a{i}")
        removes = []
        for i, k in enumerate(remove):
            names[f"#r{i}"] = k
            removes.append(f"#r{i}")
        conds = []
        for i, s in enumerate(sources):
            values[f":f{i}"] = s
            conds.append(f":f{i}")
        condition = f"#s IN ({', '.join(conds)})"
        if expect_updated_at is not None:
            values[":prev"] = expect_updated_at
            condition += " AND updated_at = :prev"
        try:
            resp = self._call(
                "update_item",
                TableName=self.jobs_table,
                Key=serialize({"job_id": job_id}),
                UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(values),
                ReturnValues="ALL_NEW",
            )
            job = deserialize(resp["Attributes"])
            _notify(job)
            return job
        except ClientError as e:
            if not condition_failed(e):
                raise
        current = self.get_job(job_id)
        if current["status"] == target and idempotent and expect_updated_at is None:
            return current  # idempotent repeat
        raise InvalidTransition(job_id, current["status"], target)

    def update_job(self, job_id: str, attributes: Mapping[str, Any]) -> None:
        """Set plain attributes (never status or history) on an existing job."""
        names, values, sets = {}, {}, []
        for i, (k, v) in enumerate(attributes.items()):
            if k in ("status", "history", "job_id"):
                raise ValueError(f"update_job cannot set {k}; use transition()")
            names[f"#a{i}"] = k
            values[f":a{i}"] = v
            sets.append(f"#a{i} = :a{i}")
        if not sets:
            return
        self._call(
            "update_item",
            TableName=self.jobs_table,
            Key=serialize({"job_id": job_id}),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_exists(job_id)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=serialize(values),
        )

    def move_lease(self, job_id: str, *, expect: str | None, until: str) -> bool:
        """Compare-and-set the validation lease of a VALIDATING job. False when someone else moved it."""
        values = {":v": model.VALIDATING, ":u": until}
        cond = "#s = :v AND "
        if expect is None:
            cond += "attribute_not_exists(lease_until)"
        else:
            cond += "lease_until = :e"
            values[":e"] = expect
        try:
            self._call(
                "update_item",
                TableName=self.jobs_table,
                Key=serialize({"job_id": job_id}),
                UpdateExpression="SET lease_until = :u",
                ConditionExpression=cond,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=serialize(values),
            )
            return True
        except ClientError as e:
            if condition_failed(e):
                return False
            raise

    def append_step(self, job_id: str, step: Mapping[str, Any]) -> None:
        self._call(
            "update_item",
            TableName=self.jobs_table,
            Key=serialize({"job_id": job_id}),
            UpdateExpression="SET #st = list_append(if_not_exists(#st, :empty), :s)",
            ConditionExpression="attribute_exists(job_id)",
            ExpressionAttributeNames={"#st": "steps"},
            ExpressionAttributeValues=serialize({":s": [dict(step)], ":empty": []}),
        )

    def jobs_by_status(self, status: str, since: str | None = None, limit: int | None = None
                       ) -> list[dict[str, Any]]:
        """Jobs in ``status`` updated at or after ``since``, newest first; at most ``limit`` (read no more)."""
        kwargs: dict[str, Any] = {
            "TableName": self.jobs_table,
            "IndexName": "by-status",
            "KeyConditionExpression": "#s = :s" + (" AND updated_at >= :t" if since else ""),
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": serialize({":s": status, **({":t": since} if since else {})}),
            "ScanIndexForward": False,
        }
        return self._first(kwargs, limit)

    def stale_jobs(self, status: str, before: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Jobs in ``status`` not updated since ``before`` (oldest first): what the sweeper ends."""
        return self._first(
            {
                "TableName": self.jobs_table,
                "IndexName": "by-status",
                "KeyConditionExpression": "#s = :s AND updated_at < :t",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": serialize({":s": status, ":t": before}),
                "ScanIndexForward": True,
            },
            limit,
        )

    def _first(self, query: dict[str, Any], limit: int | None) -> list[dict[str, Any]]:
        """All items of a Query, or its first ``limit`` items (in the Query's order) without reading more."""
        if limit is None:
            return list(self._query(**query))
        return list(itertools.islice(self._query(**query, Limit=limit), limit))

    def failures_since(self, since: str, limit: int | None = None) -> list[dict[str, Any]]:
        """FAILED, REJECTED and QC_FAILED jobs since ``since``, newest first; the newest ``limit`` of
        them when given (each status's index yields at most that many: their merge holds the newest)."""
        out: list[dict[str, Any]] = []
        for status in model.FAILURE_STATES:
            out.extend(self.jobs_by_status(status, since, limit))
        return sorted(out, key=lambda j: j["updated_at"], reverse=True)[:limit]

    def _jobs_by_query(self, index: str, attr: str, value: str) -> dict[str, Any]:
        """The Query of the jobs whose index ``index`` key ``attr`` is ``value``, newest first."""
        return {
            "TableName": self.jobs_table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": attr},
            "ExpressionAttributeValues": serialize({":v": value}),
            "ScanIndexForward": False,
        }

    def _jobs_by(self, index: str, attr: str, value: str) -> list[dict[str, Any]]:
        return list(self._query(**self._jobs_by_query(index, attr, value)))

    def jobs_for_file(self, file_id: str) -> list[dict[str, Any]]:
        return self._jobs_by("by-file", "file_id", file_id)

    def jobs_for_sample(self, sample_id: str) -> list[dict[str, Any]]:
        return self._jobs_by("by-sample", "sample_id", sample_id)

    def jobs_for_project(self, project: str) -> list[dict[str, Any]]:
        return self._jobs_by("by-project", "project", project)

    def jobs_for_project_page(self, project: str, limit: int, start: Mapping[str, Any] | None = None
                              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A project's jobs, newest first, a page at a time (``start``: the previous page's last key,
        as DynamoDB returned it)."""
        return self._query_page(limit, start, **self._jobs_by_query("by-project", "project", project))

    # ------------------------------------------------------------------ samples and files
    def record_file(
        self,
        ref: ObjectRef,
        *,
        project: str,
        sample_id: str,
        job_id: str,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Upsert the sample item and the file item (idempotent: repeated events rewrite the same)."""
        now = model.now_iso()
        self._call(
            "update_item",
            TableName=self.metadata_table,
            Key=serialize({"pk": f"SAMPLE#{sample_id}", "sk": "SAMPLE"}),
            UpdateExpression=(
                "SET #sid = :s, #proj = :p, gsi_project = :p, updated_at = :now, "
                "created_at = if_not_exists(created_at, :now)"
            ),
            ExpressionAttributeNames={"#sid": "sample_id", "#proj": "project"},
            ExpressionAttributeValues=serialize({":s": sample_id, ":p": project, ":now": now}),
        )
        item = {
            "pk": f"SAMPLE#{sample_id}",
            "sk": f"FILE#{ref.file_id}",
            "file_id": ref.file_id,
            "sample_id": sample_id,
            "project": project,
            "bucket": ref.bucket,
            "key": ref.key,
            "version_id": ref.version_id,
            "etag": ref.etag,
            "size": ref.size,
            "job_id": job_id,
            "received_at": now,
            **dict(attributes or {}),
        }
        self._call("put_item", TableName=self.metadata_table, Item=serialize(item))

    def has_file(self, sample_id: str, file_id: str) -> bool:
        resp = self._call(
            "get_item",
            TableName=self.metadata_table,
            Key=serialize({"pk": f"SAMPLE#{sample_id}", "sk": f"FILE#{file_id}"}),
            ProjectionExpression="pk",
            ConsistentRead=True,
        )
        return "Item" in resp

    def update_file(self, sample_id: str, file_id: str, attributes: Mapping[str, Any]) -> None:
        names, values, sets = {}, {}, []
        for i, (k, v) in enumerate(attributes.items()):
            if v is None:
                continue
            names[f"#a{i}"] = k
            values[f":a{i}"] = v
            sets.append(f"#a{i} = :a{i}")
        if sets:
            self._call(
                "update_item",
                TableName=self.metadata_table,
                Key=serialize({"pk": f"SAMPLE#{sample_id}", "sk": f"FILE#{file_id}"}),
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(values),
            )

    def sample(self, sample_id: str) -> dict[str, Any] | None:
        items = list(
            self._query(
                TableName=self.metadata_table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=serialize({":pk": f"SAMPLE#{sample_id}"}),
            )
        )
        if not items:
            return None
        summary = next((i for i in items if i["sk"] == "SAMPLE"), {"sample_id": sample_id})
        summary["files"] = [i for i in items if i["sk"].startswith("FILE#")]
        return summary

    def samples_in_project(self, project: str) -> list[dict[str, Any]]:
        return list(
            self._query(
                TableName=self.metadata_table,
                IndexName="by-project",
                KeyConditionExpression="gsi_project = :p",
                ExpressionAttributeValues=serialize({":p": project}),
            )
        )

    def files_with_checksum(self, sha256: str) -> list[dict[str, Any]]:
        return list(
            self._query(
                TableName=self.metadata_table,
                IndexName="by-checksum",
                KeyConditionExpression="sha256 = :c",
                ExpressionAttributeValues=serialize({":c": sha256}),
            )
        )

    def record_delivery(self, project: str, partner: str, delivery_id: str, item: Mapping[str, Any]) -> None:
        self._call(
            "put_item",
            TableName=self.metadata_table,
            Item=serialize(
                {
                    "pk": f"PROJECT#{project}",
                    "sk": f"DELIVERY#{delivery_id}",
                    "project": project,
                    "partner": partner,
                    **dict(item),
                }
            ),
        )

    def deliveries(self, project: str) -> list[dict[str, Any]]:
        return list(
            self._query(
                TableName=self.metadata_table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
                ExpressionAttributeValues=serialize({":pk": f"PROJECT#{project}", ":d": "DELIVERY#"}),
            )
        )

    # ------------------------------------------------------------------ QC (read side)
    def qc_for_sample(self, sample_id: str) -> list[dict[str, Any]]:
        return list(
            self._query(
                TableName=self.qc_table,
                KeyConditionExpression="sample_id = :s",
                ExpressionAttributeValues=serialize({":s": sample_id}),
            )
        )

    def samples_failing(self, project: str, metric: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self._first(
            {
                "TableName": self.qc_table,
                "IndexName": "by-failing-metric",
                "KeyConditionExpression": "gsi_fail = :f",
                "ExpressionAttributeValues": serialize({":f": f"{project}#{metric}"}),
            },
            limit,
        )
