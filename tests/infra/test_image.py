"""The image's content tag: a hash of exactly the files that go into the image."""

from __future__ import annotations

from pathlib import Path

from infra.image import content_tag


def _tree(root: Path) -> None:
    (root / "images").mkdir()
    (root / "images" / "Dockerfile").write_text("FROM scratch\n")
    (root / "genomics").mkdir()
    (root / "genomics" / "a.py").write_text("A = 1\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")


def test_image_content_tag_stable_for_same_content(tmp_path: Path) -> None:
    _tree(tmp_path)
    first = content_tag(tmp_path)
    (tmp_path / "genomics" / "__pycache__").mkdir()
    (tmp_path / "genomics" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0compiled")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test(): pass\n")
    assert content_tag(tmp_path) == first, "caches or files outside the image changed the tag"


def test_image_content_tag_changes_with_source(tmp_path: Path) -> None:
    _tree(tmp_path)
    first = content_tag(tmp_path)
    (tmp_path / "genomics" / "a.py").write_text("A = 2\n")
    assert content_tag(tmp_path) != first, "a source change kept the tag"


def test_image_content_tag_changes_with_dockerfile(tmp_path: Path) -> None:
    _tree(tmp_path)
    first = content_tag(tmp_path)
    (tmp_path / "images" / "Dockerfile").write_text("FROM debian\n")
    assert content_tag(tmp_path) != first, "a Dockerfile change kept the tag"


def test_image_builds_single_manifest_for_lambda(program) -> None:
    """Lambda rejects image indexes: the image builds through the docker CLI (exec mode), where the
    deploy workflow's BUILDX_NO_DEFAULT_ATTESTATIONS=1 keeps BuildKit from adding attestations."""
    from tests.infra.resources import of_type

    images = of_type(program, "docker-build:index:Image")
    assert len(images) == 2, [i["urn"] for i in images]
    for image in images:
        assert image["inputs"].get("exec") is True, f"{image['urn']}: build in exec mode"
        assert image["inputs"].get("platforms") == ["linux/amd64"], f"{image['urn']}: one platform only"
    workflow = (Path(__file__).resolve().parents[2] / ".github" / "workflows" / "deploy.yml").read_text()
    assert 'BUILDX_NO_DEFAULT_ATTESTATIONS: "1"' in workflow


def test_image_two_targets_of_one_dockerfile_tagged_apart(program) -> None:
    """The handler and delivery images are the two targets of images/Dockerfile, pushed to the one repository
    under distinct tags (content tag and stack), the delivery image built after the handler image."""
    from tests.infra.resources import of_type

    images = {i["inputs"].get("target"): i for i in of_type(program, "docker-build:index:Image")}
    assert set(images) == {"handler", "delivery"}, sorted(map(str, images))
    for image in images.values():
        assert image["inputs"]["dockerfile"]["location"].endswith("images/Dockerfile"), image["urn"]
        assert image["inputs"].get("push") is True, f"{image['urn']}: not pushed"
    handler_tags, delivery_tags = (set(images[t]["inputs"]["tags"]) for t in ("handler", "delivery"))
    assert not handler_tags & delivery_tags, f"{images['delivery']['urn']}: shares a tag with the handler image"
    assert all(tag.endswith("-delivery") for tag in delivery_tags), delivery_tags
    assert images["handler"]["urn"] in images["delivery"]["options"]["depends_on"], (
        f"{images['delivery']['urn']}: not built after the handler image (layer reuse)")


def test_image_only_web_tasks_runs_the_delivery_image(program, names) -> None:
    """Crypt4GH is in the delivery image only: web-tasks (the function that encrypts partner deliveries) runs
    it, every other function the handler image (the 300 MB goal)."""
    from genomics.deployment import FUNCTIONS
    from tests.infra.resources import of_type

    logical_of = {names.function(logical): logical for logical in FUNCTIONS}
    digests = {i["inputs"]["target"]: i["outputs"]["digest"] for i in of_type(program, "docker-build:index:Image")}
    runs: dict[str, set[str]] = {"handler": set(), "delivery": set()}
    for fn in of_type(program, "aws:lambda/function:Function"):
        digest = fn["inputs"]["imageUri"].rsplit("@", 1)[-1]
        (target,) = [t for t, d in digests.items() if d == digest] or [f"unknown image {digest}"]
        assert target in runs, f"{fn['urn']}: runs {target}"
        runs[target].add(logical_of[fn["inputs"]["name"]])
    assert runs["delivery"] == {"web-tasks"}, f"functions on the delivery image: {sorted(runs['delivery'])}"
    assert runs["handler"] and "web-tasks" not in runs["handler"], sorted(runs["handler"])
