"""Browser tests: Debian's chromium driven by Selenium (chromium-driver) against `genomics local serve`.

``served`` starts ``genomics local serve`` as a subprocess (the command a user runs) and reads the app's
URL, the demo credentials and the moto endpoint from what it prints. Screenshots of every page go to
``out/test-artifacts/browser/`` (or ``$BROWSER_ARTIFACTS``). axe-core comes from npm
(``make setup`` installs it into ``.venv/npm``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "out" / "test-artifacts" / "browser"))
AXE = ROOT / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class Served:
    url: str
    endpoint: str
    password: str
    env: dict[str, str]
    process: subprocess.Popen[str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the genomics CLI against the served stack."""
        return subprocess.run([sys.executable, "-m", "genomics.cli", *args], env=self.env, text=True,
                              capture_output=True, timeout=300, check=False)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # its own profile: this server lives for the whole session and must not answer other tests' CLI calls
    env["GENOMICS_LOCAL_PROFILE"] = str(tmp_path_factory.mktemp("served-profile") / "local.json")
    proc = subprocess.Popen([sys.executable, "-m", "genomics.cli", "local", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[str] = []
    url = endpoint = password = None
    deadline = time.monotonic() + 180
    assert proc.stdout is not None
    while time.monotonic() < deadline and not (url and endpoint and password):
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"AWS_ENDPOINT_URL=(\S+)", line):
            endpoint = m.group(1)
        if m := re.search(r"web app: (http://127\.0\.0\.1:\d+/)", line):
            url = m.group(1)
        if m := re.search(r"sign in as demo / (\S+)", line):
            password = m.group(1)
    if not (url and endpoint and password):
        proc.kill()
        pytest.fail("genomics local serve did not print the app's URL and demo login:\n" + "".join(lines))
    # keep reading what serve prints (a line per job state change), so its pipe never fills up
    threading.Thread(target=lambda: [None for _ in proc.stdout], name="serve-output", daemon=True).start()
    cli_env = {**env, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "GENOMICS_STACK": "local"}
    try:
        yield Served(url=url, endpoint=endpoint, password=password, env=cli_env, process=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def driver(downloads: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    assert chromium and Path(chromedriver).exists(), "chromium and chromium-driver: scripts/install-system.sh"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--disable-background-networking", "--no-first-run"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "safebrowsing.enabled": False})
    drv = webdriver.Chrome(service=Service(chromedriver), options=options)
    drv.set_script_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield drv
    finally:
        drv.quit()
