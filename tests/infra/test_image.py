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

    (image,) = of_type(program, "docker-build:index:Image")
    assert image["inputs"].get("exec") is True, f"{image['urn']}: build in exec mode"
    assert image["inputs"].get("platforms") == ["linux/amd64"], f"{image['urn']}: one platform only"
    workflow = (Path(__file__).resolve().parents[2] / ".github" / "workflows" / "deploy.yml").read_text()
    assert 'BUILDX_NO_DEFAULT_ATTESTATIONS: "1"' in workflow
