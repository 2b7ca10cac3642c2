"""The delivery image (images/Dockerfile target ``delivery``, run by web-tasks only): the handler image plus
one layer with the ``delivery`` extra (Crypt4GH). It must really encrypt and decrypt, share every layer of
the handler image, and stay small beside it; the handler image itself stays without Crypt4GH and within its
300 MB goal (images/README.md, "Two images")."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from crypt4gh import lib
from crypt4gh.keys import c4gh, get_private_key

from tests.conftest import CORPUS
from tests.images.conftest import NAMES, Cloud, Image, handler_container, podman_env, report

pytestmark = pytest.mark.images

HANDLER_GOAL = 300_000_000
# What the delivery layer may add to the handler image: Crypt4GH, cryptography, cffi, bcrypt, docopt-ng and
# pycparser with their bytecode are ~18 MB; more means something else slipped into the layer.
DELIVERY_LAYER_BOUND = 25_000_000
PASSPHRASE = "image-test-passphrase"
SAMPLE = CORPUS / "bam" / "passed" / "level-1.bam"


def _run(image: Image, argv: list[str], *, stdin: bytes = b"", env: dict[str, str] | None = None,
         volumes: tuple[str, ...] = (), network: str = "none") -> bytes:
    """One command in the image as Lambda runs it (read-only root, writable /tmp, no network unless asked for
    the host's, where moto server listens); its stdout."""
    cmd = ["podman", "run", "--rm", "-i", "--pull=never", "--network", network, "--read-only",
           "--tmpfs", "/tmp:rw,size=64m,mode=1777", "--entrypoint", argv[0]]
    for k, v in (env or {}).items():
        cmd += ["--env", f"{k}={v}"]
    for v in volumes:
        cmd += ["--volume", v]
    proc = subprocess.run([*cmd, image.name, *argv[1:]], input=stdin, capture_output=True, env=podman_env(),
                          timeout=180)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} in {image.name} exited {proc.returncode}:\n{proc.stderr.decode()[-3000:]}")
    return proc.stdout


def _keys(tmp_path: Path) -> Path:
    """A Crypt4GH key pair as crypt4gh-keygen writes it (passphrase-protected secret key), readable by the
    container's user."""
    keys = tmp_path / "keys"
    keys.mkdir()
    c4gh.generate(str(keys / "partner.sec"), str(keys / "partner.pub"), PASSPHRASE.encode(), None)
    for p in (keys, *keys.iterdir()):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return keys


def test_delivery_image_crypt4gh_cli_round_trip(delivery_image: Image, tmp_path: Path) -> None:
    """The image's crypt4gh encrypts a real file for a partner's public key and decrypts it back with the
    secret key, byte for byte; the host's crypt4gh decrypts the image's output too (the format, not a private
    convention)."""
    plain = SAMPLE.read_bytes()
    keys = _keys(tmp_path)
    mount = (f"{keys}:/keys:ro",)
    python = "/opt/venv/bin/python"
    encrypted = _run(delivery_image, [python, "-m", "crypt4gh", "encrypt", "--recipient_pk", "/keys/partner.pub"],
                     stdin=plain, volumes=mount)
    assert encrypted[:8] == b"crypt4gh", encrypted[:16]
    assert plain[:4096] not in encrypted, "the encrypted stream carries the plain bytes"
    decrypted = _run(delivery_image, [python, "-m", "crypt4gh", "decrypt", "--sk", "/keys/partner.sec"],
                     stdin=encrypted, env={"C4GH_PASSPHRASE": PASSPHRASE}, volumes=mount)
    assert hashlib.sha256(decrypted).hexdigest() == hashlib.sha256(plain).hexdigest()

    (tmp_path / "in.c4gh").write_bytes(encrypted)
    seckey = get_private_key(str(keys / "partner.sec"), lambda: PASSPHRASE)
    with open(tmp_path / "in.c4gh", "rb") as src, open(tmp_path / "out", "wb") as out:
        lib.decrypt([(0, seckey, None)], src, out)
    assert (tmp_path / "out").read_bytes() == plain


def test_delivery_image_web_tasks_finds_crypt4gh(delivery_image: Image, image: Image) -> None:
    """web-tasks' own check (the one that raises WEB_DELIVERY_UNAVAILABLE) passes in the delivery image and
    fails in the handler image, whose functions never encrypt."""
    check = ("from genomics.webapp.tasks import DeliveryUnavailable, _require_crypt4gh\n"
             "try:\n    _require_crypt4gh()\n    print('available')\n"
             "except DeliveryUnavailable as e:\n    print(e.code)\n")
    python = ["/opt/venv/bin/python", "-c", check]
    assert _run(delivery_image, python).decode().split() == ["available"]
    assert _run(image, python).decode().split() == ["WEB_DELIVERY_UNAVAILABLE"]


def test_delivery_image_is_the_handler_image_plus_one_small_layer(delivery_image: Image, image: Image) -> None:
    """The delivery image reuses every layer of the handler image (ECR stores only the extra one), adds its
    delivery extra and nothing heavy; the handler image stays within its goal."""
    extra = delivery_image.size_bytes - image.size_bytes
    report(f"delivery image {delivery_image.size_bytes / 1e6:.0f} MB = handler image "
           f"{image.size_bytes / 1e6:.0f} MB + {extra / 1e6:.1f} MB (bound {DELIVERY_LAYER_BOUND / 1e6:.0f} MB)")
    assert image.size_bytes <= HANDLER_GOAL, f"handler image {image.size_bytes / 1e6:.1f} MB > 300 MB"
    assert delivery_image.layers[:len(image.layers)] == image.layers, "not built on the handler image's layers"
    assert len(delivery_image.layers) > len(image.layers)
    assert 0 < extra <= DELIVERY_LAYER_BOUND, f"delivery layer {extra / 1e6:.1f} MB > {DELIVERY_LAYER_BOUND / 1e6:.0f}"
    assert delivery_image.entrypoint == image.entrypoint and delivery_image.user == image.user
    assert delivery_image.extras == [*image.extras, "delivery"], delivery_image.extras
    assert delivery_image.labels["org.opencontainers.image.title"] == "genomics-delivery"


def test_delivery_image_crypt4gh_has_bytecode(delivery_image: Image) -> None:
    """The read-only Lambda file system cannot cache bytecode: the delivery layer ships it, compiled for the
    image's Python."""
    out = _run(delivery_image, ["/opt/venv/bin/python", "-c",
                                "import crypt4gh.lib, importlib.util, sys\n"
                                "m = sys.modules['crypt4gh.lib']\n"
                                "print(m.__file__); print(importlib.util.cache_from_source(m.__file__))\n"
                                "import os; print(os.path.exists(importlib.util.cache_from_source(m.__file__)))"])
    source, _cached, exists = out.decode().split()
    assert source.startswith("/opt/delivery/"), source
    assert exists == "True", out


_ENCRYPT_OBJECT = """
import json, sys, boto3
from genomics.drs.crypt import encrypt_object, parse_public_key
spec = json.load(sys.stdin)
out = encrypt_object(boto3.client("s3"), source={"Bucket": spec["src"], "Key": spec["key"]}, bucket=spec["dst"],
                     key=spec["key"] + ".c4gh", recipient=parse_public_key(spec["pub"]), part_size=5 * 1024 * 1024)
print(json.dumps(out.__dict__))
"""


def test_delivery_image_encrypts_an_s3_object_as_deliveries_do(delivery_image: Image, cloud: Cloud,
                                                               tmp_path: Path) -> None:
    """The delivery code itself (genomics.drs.crypt.encrypt_object, what web-tasks' deliveries call) runs in
    the delivery image against S3 (moto server): a processed object is streamed, encrypted for the partner's
    key and written by multipart upload; the partner decrypts it on the host to the same bytes."""
    plain = SAMPLE.read_bytes()
    keys = _keys(tmp_path)
    src, dst, key = NAMES.bucket("processed"), NAMES.bucket("delivery"), "processed/pA/S1/level-1.bam"
    cloud.s3.put_object(Bucket=src, Key=key, Body=plain)
    spec = {"src": src, "dst": dst, "key": key, "pub": (keys / "partner.pub").read_text()}
    out = _run(delivery_image, ["/opt/venv/bin/python", "-c", _ENCRYPT_OBJECT], stdin=json.dumps(spec).encode(),
               env=cloud.client_env(), network="host")
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["plain_sha256"] == hashlib.sha256(plain).hexdigest() and result["plain_size"] == len(plain)

    encrypted = cloud.s3.get_object(Bucket=dst, Key=key + ".c4gh")["Body"].read()
    assert hashlib.sha256(encrypted).hexdigest() == result["encrypted_sha256"]
    (tmp_path / "in.c4gh").write_bytes(encrypted)
    seckey = get_private_key(str(keys / "partner.sec"), lambda: PASSPHRASE)
    with open(tmp_path / "in.c4gh", "rb") as source, open(tmp_path / "out", "wb") as sink:
        lib.decrypt([(0, seckey, None)], source, sink)
    assert (tmp_path / "out").read_bytes() == plain


def test_delivery_image_web_tasks_reaches_the_delivery_where_the_handler_image_cannot(
        delivery_image: Image, image: Image, cloud: Cloud, tmp_path: Path) -> None:
    """web-tasks run as Lambda runs it (awslambdaric, Runtime API, moto server): the same deliver task to a
    partner that is not registered fails in the delivery image at the partner lookup (PARTNER_UNKNOWN: the
    Crypt4GH check passed), and in the handler image at the Crypt4GH check (WEB_DELIVERY_UNAVAILABLE). Both
    are recorded ``failed`` in the ledger, not raised (no retry)."""
    task = {"task": "deliver", "project": "pA", "partner": "nobody", "samples": ["S1"], "actor": "web:sam"}
    codes = {}
    for img, delivery_id in ((delivery_image, "d-img-delivery"), (image, "d-img-handler")):
        with handler_container(img, "web-tasks", cloud, tmp_path) as c:
            outcome = c.invoke({**task, "delivery_id": delivery_id})
        assert outcome.kind == "response", f"{img.name}: {outcome.payload}\n{c.logs()}"
        assert outcome.payload["status"] == "failed" and outcome.payload["delivery_id"] == delivery_id
        codes[img.name] = outcome.payload["code"]
    assert codes == {delivery_image.name: "PARTNER_UNKNOWN", image.name: "WEB_DELIVERY_UNAVAILABLE"}, codes
    for delivery_id, code in (("d-img-delivery", "PARTNER_UNKNOWN"), ("d-img-handler", "WEB_DELIVERY_UNAVAILABLE")):
        item = cloud.dynamodb.get_item(TableName=NAMES.table("metadata"),
                                       Key={"pk": {"S": "PROJECT#pA"}, "sk": {"S": f"DELIVERY#{delivery_id}"}})["Item"]
        assert item["status"]["S"] == "failed" and item["error"]["M"]["code"]["S"] == code, item
