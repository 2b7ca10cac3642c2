"""HandlerImage: the ECR repository and the two container images of ``images/Dockerfile`` built and pushed
by docker-build: the handler image (target ``handler``, every function) and the delivery image (target
``delivery``: the handler image plus the Crypt4GH layer, for the functions whose ``FunctionSpec.image`` is
``"delivery"``, i.e. web-tasks). The delivery image shares every layer of the handler image, so the
repository stores only its extra layer.

Images are tagged by content (a hash of the files that go into them) and by stack; functions use the
pushed digest (``<repository>@sha256:...``), so an unchanged tree is neither rebuilt nor redeployed and a
rollback to an older commit redeploys exactly the images of that commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from genomics.deployment import ImageKind, Names
from infra.config import StackConfig
from infra.naming import classified

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = "images/Dockerfile"
# What the image is built from: the Dockerfile plus the context .dockerignore lets through (keep in step).
IMAGE_INPUTS: tuple[str, ...] = (
    DOCKERFILE, "pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "README.md", "genomics", "handlers",
    "images/constraints.txt",
)
_IGNORED_SUFFIXES = (".pyc", ".so")
KEEP_IMAGES = 10


def _files(root: Path, inputs: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for rel in inputs:
        path = root / rel
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(
                p
                for p in path.rglob("*")
                if p.is_file()
                and "__pycache__" not in p.parts
                and not any(part.endswith(".egg-info") for part in p.parts)
                and p.suffix not in _IGNORED_SUFFIXES
            )
    return sorted(set(found))


def content_tag(root: Path = REPO_ROOT, inputs: Iterable[str] = IMAGE_INPUTS) -> str:
    """A short, stable hash of the image inputs (paths and bytes)."""
    digest = hashlib.sha256()
    for path in _files(root, inputs):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def lifecycle_policy() -> str:
    """Expire untagged images after a day; keep the newest images only (storage cost)."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "untagged images expire after a day",
                    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                  "countUnit": "days", "countNumber": 1},
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the newest {KEEP_IMAGES} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                  "countNumber": KEEP_IMAGES},
                    "action": {"type": "expire"},
                },
            ]
        }
    )


@dataclass(frozen=True)
class HandlerImageArgs:
    names: Names
    config: StackConfig
    kms_key_arn: pulumi.Input[str] | None = None


class HandlerImage(pulumi.ComponentResource):
    """ECR repository + the two built images. ``image_uri`` (handler) and ``delivery_image_uri`` are
    ``<repository url>@<digest>``; :meth:`uri_for` picks a function's."""

    repository: aws.ecr.Repository
    image: docker_build.Image
    image_uri: pulumi.Output[str]
    delivery_image: docker_build.Image
    delivery_image_uri: pulumi.Output[str]

    def __init__(self, name: str, args: HandlerImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:image:HandlerImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            f"{name}-repo",
            name=args.names.image_repository,
            # Tags "<stack>" move with each deployment; functions pin digests, never tags.
            image_tag_mutability="MUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            # The stack's CMK where there is one (prod; ECR and Lambda use it through grants), else AES256.
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.kms_key_arn)
                if args.kms_key_arn is not None
                else aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            tags=classified("code"),
            force_delete=args.config.force_destroy,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle", repository=self.repository.name, policy=lifecycle_policy(), opts=child
        )
        tag = content_tag()
        url = self.repository.repository_url
        self.image = self._image(f"{name}-image", "handler", tag, args, child)
        # Built after the handler image, so its build reuses the handler image's cached layers.
        self.delivery_image = self._image(
            f"{name}-delivery-image", "delivery", tag, args,
            pulumi.ResourceOptions(parent=self, depends_on=[self.image]),
        )
        self.image_uri = pulumi.Output.concat(url, "@", self.image.digest)
        self.delivery_image_uri = pulumi.Output.concat(url, "@", self.delivery_image.digest)
        self.register_outputs({"repository_url": url, "image_uri": self.image_uri,
                               "delivery_image_uri": self.delivery_image_uri, "content_tag": tag})

    def uri_for(self, image: ImageKind) -> pulumi.Output[str]:
        """The digest URI of a function's image (``FunctionSpec.image``)."""
        return {"handler": self.image_uri, "delivery": self.delivery_image_uri}[image]

    def _image(self, name: str, target: ImageKind, tag: str, args: HandlerImageArgs,
               opts: pulumi.ResourceOptions) -> docker_build.Image:
        """One target of images/Dockerfile, tagged ``<content tag>[-<target>]`` and ``<stack>[-<target>]``
        (the handler image keeps its plain tags)."""
        suffix = "" if target == "handler" else f"-{target}"
        url = self.repository.repository_url
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        return docker_build.Image(
            name,
            context=docker_build.BuildContextArgs(location=str(REPO_ROOT)),
            dockerfile=docker_build.DockerfileArgs(location=str(REPO_ROOT / DOCKERFILE)),
            target=target,
            platforms=[docker_build.Platform.LINUX_AMD64],
            push=True,
            # Lambda rejects OCI image indexes, which BuildKit makes when it attaches its default
            # provenance attestation. The embedded client has no switch for that; the docker CLI honours
            # BUILDX_NO_DEFAULT_ATTESTATIONS=1 (set by .github/workflows/deploy.yml), so build through it.
            exec_=True,
            # Previews do not build (fast PR previews); `pulumi up` builds and pushes.
            build_on_preview=False,
            tags=[pulumi.Output.concat(url, ":", tag, suffix),
                  pulumi.Output.concat(url, ":", args.names.stack, suffix)],
            registries=[
                docker_build.RegistryArgs(
                    address=token.proxy_endpoint, username=token.user_name, password=token.password
                )
            ],
            opts=opts,
        )
