"""genomics.steps: the typed step data parses what the steps send, rejects what they cannot use with a coded
error (never a KeyError), and serialises back to the same JSON."""

from __future__ import annotations

import json

import pytest

from genomics import steps

EVENT = {
    "job_id": "j-1", "project": "p", "sample_id": "s", "assay": "wgs",
    "input": {"bucket": "raw", "key": "p/s/a.vcf.gz", "version_id": "v1", "sha256": "a" * 64, "size": 12,
              "format": "vcf", "assembly": None, "sex": "male", "conformance": {"warnings": []}, "result_id": "r1"},
}


def test_steps_workflow_input_round_trips_to_the_same_json():
    parsed = steps.WorkflowInput.from_dict(json.loads(json.dumps(EVENT)))
    assert parsed.input.size == 12 and parsed.input.sex == "male"
    assert parsed.to_dict() == EVENT


def test_steps_optional_fields_left_out_when_empty():
    event = {**EVENT, "input": {k: v for k, v in EVENT["input"].items() if k != "sex"}}
    out = steps.WorkflowInput.from_dict(event).to_dict()
    assert "sex" not in out["input"] and "run_folder" not in out["input"]
    assert out["input"]["assembly"] is None  # always written, as the ingest always wrote it


def test_steps_empty_strings_are_no_value():
    event = {**EVENT, "input": {**EVENT["input"], "version_id": "", "result_id": ""}}
    parsed = steps.WorkflowInput.from_dict(event)
    assert parsed.input.version_id is None and parsed.input.result_id is None


@pytest.mark.parametrize("broken, message", [
    ({k: v for k, v in EVENT.items() if k != "project"}, "project is missing"),
    ({**EVENT, "input": {**EVENT["input"], "sha256": ""}}, r"input\.sha256 is missing"),
    ({**EVENT, "input": "s3://raw/p/s/a.vcf.gz"}, "input must be an object"),
    ({**EVENT, "input": {**EVENT["input"], "size": "big"}}, r"input\.size must be a number"),
    ({**EVENT, "job_id": {"id": 1}}, "job_id must be a string"),
])
def test_steps_malformed_event_is_a_coded_error(broken, message):
    with pytest.raises(steps.StepDataError, match=message) as info:
        steps.WorkflowInput.from_dict(broken)
    assert info.value.code == "JOB_STEP_INVALID"


def test_steps_the_caller_chooses_its_coded_error_class():
    class Mine(steps.StepDataError):
        code = "MINE"

    with pytest.raises(Mine):
        steps.QcRequest.from_dict({"job_id": "j"}, error=Mine)


def test_steps_strict_parse_rejects_fields_the_type_does_not_declare():
    assert steps.PlanRequest.from_dict({**EVENT, "action": "plan", "extra": 1}).job_id == "j-1"
    with pytest.raises(steps.StepDataError, match="extra"):
        steps.PlanRequest.from_dict({**EVENT, "action": "plan", "extra": 1}, strict=True)
    with pytest.raises(steps.StepDataError, match=r"input\..*drifted"):
        steps.PlanRequest.from_dict({**EVENT, "input": {**EVENT["input"], "drifted": 1}}, strict=True)


def test_steps_request_to_dict_carries_its_action():
    req = steps.GatherRequest.from_dict({
        **EVENT, "action": "gather",
        "plan": {"mode": "scatter", "shards": [{"index": 0}], "work_prefix": "tmp/j-1/",
                 "source": {"bucket": "b", "key": "k", "version_id": None, "index_key": "k.tbi", "index_bucket": "b"}},
        "shards": [{"index": 0, "bucket": "b", "key": "s0", "records": "5", "repairs": []}],
    })
    assert req.shards[0].records == 5 and req.plan is not None and req.plan.source.index_key == "k.tbi"
    out = req.to_dict()
    assert out["action"] == "gather" and out["shards"][0]["records"] == 5
    assert out["plan"]["source"] == {"bucket": "b", "key": "k", "version_id": None, "index_key": "k.tbi",
                                     "index_bucket": "b"}


def test_steps_processed_skipped_is_the_pass_states_result():
    assert steps.SKIPPED.to_dict() == {"skipped": True}
    assert steps.Processed.from_dict({"skipped": True}) == steps.SKIPPED
    assert steps.Processed.from_dict({"bucket": "b", "vcf_key": "k"}).to_dict() == {"bucket": "b", "vcf_key": "k"}


def test_steps_fargate_exit_code_from_a_definite_path_list():
    assert steps.FargateTask.from_dict({"task_arn": "t", "exit_code": [0]}).exit_code == 0
    assert steps.FargateTask.from_dict({"task_arn": "t", "exit_code": 1}).exit_code == 1


def test_steps_s3_record_decodes_the_key_and_is_coded_when_malformed():
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": "raw"}, "object": {"key": "p/s/my+file%281%29.vcf", "versionId": "v",
                                                           "eTag": "e", "size": 3}}}
    obj = steps.S3ObjectCreated.from_record(record)
    assert (obj.bucket, obj.key, obj.version_id, obj.etag, obj.size) == ("raw", "p/s/my file(1).vcf", "v", "e", 3)
    assert steps.S3ObjectCreated.from_record(obj.to_record()) == obj
    with pytest.raises(steps.StepDataError, match="not an S3 ObjectCreated"):
        steps.S3ObjectCreated.from_record({**record, "eventName": "ObjectRemoved:Delete"})
    with pytest.raises(steps.StepDataError, match=r"s3\.bucket or s3\.object"):
        steps.S3ObjectCreated.from_record({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"})
    with pytest.raises(steps.StepDataError, match=r"s3\.key is missing"):
        steps.S3ObjectCreated.from_record({**record, "s3": {"bucket": {"name": "raw"}, "object": {}}})


def test_steps_path_checks_every_name_against_the_types():
    assert steps.path("qcplan", "items", "bucket") == "$.qcplan.items.bucket"
    assert steps.path("input", "format") == "$.input.format"
    with pytest.raises(KeyError, match="plans"):
        steps.path("plans", "mode")
    with pytest.raises(KeyError, match="kind"):
        steps.path("plan", "kind")
    with pytest.raises(KeyError, match="not a step type"):
        steps.path("plan", "shards", "index")


def test_steps_parameters_fill_job_fields_and_refuse_unknown_or_missing_fields():
    params = steps.parameters(steps.GatherRequest, plan="$.plan", shards="$.shards")
    assert params == {"action": "gather", "job_id.$": "$.job_id", "project.$": "$.project",
                      "sample_id.$": "$.sample_id", "assay.$": "$.assay", "input.$": "$.input",
                      "plan.$": "$.plan", "shards.$": "$.shards"}
    with pytest.raises(KeyError, match="plans"):
        steps.parameters(steps.GatherRequest, plans="$.plan")
    with pytest.raises(KeyError, match="state is required"):
        steps.parameters(steps.FinalizeRequest, execution="$$.Execution.Id")


@pytest.mark.parametrize("fmt, outputs, kind, files", [
    ("vcf", {"bucket": "proc", "vcf_key": "v.vcf.gz", "index_key": "v.vcf.gz.tbi", "sidecar_key": "v.json",
             "report_key": "r.html"}, steps.VcfOutputs,
     [("vcf", "proc", "v.vcf.gz"), ("index", "proc", "v.vcf.gz.tbi"), ("sidecar", "proc", "v.json"),
      ("qc_report", "default", "r.html")]),
    ("bam", {"report_key": "r.html"}, steps.AlignmentOutputs, [("qc_report", "default", "r.html")]),
    ("cram", {"report_key": "r.html"}, steps.AlignmentOutputs, [("qc_report", "default", "r.html")]),
    ("fastq", {"report_key": "r.html"}, steps.ReadsOutputs, [("qc_report", "default", "r.html")]),
    ("bcl", None, steps.RunFolderOutputs, []),
    # an older VCF record without the bucket: processing's default bucket
    ("vcf", {"vcf_key": "v.vcf.gz"}, steps.VcfOutputs, [("vcf", "default", "v.vcf.gz")]),
])
def test_steps_job_outputs_one_shape_per_kind(fmt, outputs, kind, files):
    parsed = steps.job_outputs({"format": fmt, "outputs": outputs})
    assert type(parsed) is kind
    assert [(f.role, f.bucket, f.key) for f in parsed.files("default")] == files
    assert not hasattr(steps.AlignmentOutputs(), "bucket")  # BAM/CRAM/FASTQ never write a bucket


def test_steps_outputs_of_finalize_per_kind():
    processed = steps.Processed(bucket="proc", vcf_key="v", index_key="i", sidecar_key="s", records_in=1)
    qc = steps.QcResult(verdict="pass", report_key="r")
    assert steps.outputs_of("vcf", processed, qc).to_dict() == {"bucket": "proc", "vcf_key": "v", "index_key": "i",
                                                                "sidecar_key": "s", "report_key": "r"}
    assert steps.outputs_of("bam", steps.SKIPPED, qc) == steps.AlignmentOutputs(report_key="r")
    assert steps.outputs_of("fastq", steps.SKIPPED, qc) == steps.ReadsOutputs(report_key="r")
    assert steps.outputs_of("bcl", None, None).to_dict() == {}
