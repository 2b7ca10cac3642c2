"""The web app in a real browser (headless Debian chromium + Selenium) against `genomics local serve`:
sign in; upload a real VCF and watch it reach COMPLETED with the browser's SHA-256 equal to the
pipeline's; its QC and MultiQC report; download the processed VCF and check it against the sidecar;
an invalid VCF's code and line; project isolation (page and API); a partner's deliveries only; a steward's
delivery to a registered partner, downloaded and decrypted by the partner; keyboard
only, labelled fields and axe-core with no serious or critical findings. Screenshots of every page are
saved (tests/browser/conftest.py: ARTIFACTS). The tests run in order and share the served stack."""

from __future__ import annotations

import hashlib
import io
import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from genomics.local.demo import EUR_VCF, write_broken_vcf
from tests.browser.conftest import ARTIFACTS, AXE, Served

PIPELINE_S = 420


def wait_for(what: Callable[[], Any], timeout: float = 30, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = what()
            if value:
                return value
        except (NoSuchElementException, StaleElementReferenceException, AssertionError, KeyError) as e:
            last = e
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {message or what} ({last})")


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def heading(driver) -> str:
    return driver.find_element(By.ID, "page-title").text


def sign_in(driver, served: Served, user: str) -> None:
    driver.get(served.url)
    driver.execute_script("sessionStorage.clear(); localStorage.clear();")
    driver.get(served.url)
    wait_for(lambda: driver.find_element(By.ID, "username").is_displayed(), message="the sign-in form")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(served.password)
    driver.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()
    wait_for(lambda: driver.find_element(By.ID, "whoami").text.startswith(user), message=f"{user} signed in")


def go(driver, served: Served, fragment: str, title: str) -> None:
    driver.get(served.url + fragment)
    wait_for(lambda: title in heading(driver), message=f"page {title!r} at {fragment}")


def axe_findings(driver) -> list[dict[str, Any]]:
    """axe-core (npm) run in the page: the serious and critical violations."""
    assert AXE.exists(), f"{AXE} missing: make setup installs axe-core from npm"
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n.get("target") for n in v.get("nodes", [])][:5]}
            for v in result if v.get("impact") in ("serious", "critical")]


def api_status(driver, path: str) -> int:
    """Call the API from the page with the signed-in user's token (as the app does)."""
    return int(driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('access')}})"
        ".then(r => done(r.status)).catch(() => done(0));", path))


def upload(driver, served: Served, project: str, sample: str, assay: str, path: Path) -> Any:
    go(driver, served, f"#/upload/{project}", "Upload")
    driver.find_element(By.ID, "up-sample").send_keys(sample)
    driver.find_element(By.CSS_SELECTOR, f"#up-assay option[value='{assay}']").click()
    driver.find_element(By.ID, "up-files").send_keys(str(path))
    driver.find_element(By.ID, "up-start").click()
    return wait_for(lambda: driver.find_element(By.CSS_SELECTOR, f"li.upload[data-file='{path.name}']"),
                    message="the upload's row")


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    return {}


def test_browser_sign_in(driver, served: Served) -> None:
    driver.get(served.url)
    wait_for(lambda: driver.find_element(By.ID, "signin-page").is_displayed())
    shot(driver, "01-sign-in")
    driver.find_element(By.ID, "username").send_keys("demo")
    driver.find_element(By.ID, "password").send_keys("wrong-password-1")
    driver.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()
    wait_for(lambda: driver.find_element(By.ID, "status").text, message="the refusal")
    assert not driver.find_element(By.ID, "nav").is_displayed()
    sign_in(driver, served, "demo")
    wait_for(lambda: heading(driver) == "Projects")
    assert [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#projects a")] == ["demo"]
    # the token is in no URL
    assert "eyJ" not in driver.current_url
    shot(driver, "02-projects")


def test_browser_upload_real_vcf_reaches_completed(driver, served: Served, state) -> None:
    sign_in(driver, served, "demo")
    row = upload(driver, served, "demo", "EURweb", "cohort", EUR_VCF)
    shot(driver, "03-upload-progress")
    wait_for(lambda: row.get_attribute("data-status") == "COMPLETED", PIPELINE_S, "the job to reach COMPLETED")
    expected = hashlib.sha256(EUR_VCF.read_bytes()).hexdigest()
    assert row.get_attribute("data-sha256") == expected, "the browser's SHA-256"
    assert row.get_attribute("data-checksum") == "match", row.text
    assert int(row.find_element(By.TAG_NAME, "progress").get_attribute("value")) == 100
    shot(driver, "04-upload-completed")
    go(driver, served, "#/project/demo", "Project demo")
    wait_for(lambda: "COMPLETED" in driver.find_element(By.CSS_SELECTOR, "#page table").text)
    shot(driver, "05-project")
    state["sample"] = "EURweb"


def test_browser_qc_and_multiqc_report(driver, served: Served, state) -> None:
    sign_in(driver, served, "demo")
    go(driver, served, f"#/sample/demo/{state['sample']}", "Sample EURweb")
    qc = wait_for(lambda: driver.find_element(By.ID, "qc"), message="the QC section")
    badges = {b.get_attribute("data-status") for b in qc.find_elements(By.CSS_SELECTOR, ".badge")}
    assert badges & {"pass", "warn", "fail"}, qc.text
    assert "ts_tv" in qc.text and "Pass" in qc.text, qc.text
    shot(driver, "06-sample-qc")
    link = qc.find_element(By.CSS_SELECTOR, "a.multiqc")
    main = driver.current_window_handle
    link.click()
    wait_for(lambda: len(driver.window_handles) == 2, message="the report's tab")
    driver.switch_to.window(next(h for h in driver.window_handles if h != main))
    wait_for(lambda: "MultiQC" in driver.page_source, 60, "the MultiQC report")
    shot(driver, "07-multiqc-report")
    driver.close()
    driver.switch_to.window(main)
    # the project's cohort report (a steward builds it with `genomics report`)
    built = served.cli("report", "demo", "--stack", "local")
    assert built.returncode == 0, built.stdout + built.stderr
    go(driver, served, "#/project/demo", "Project demo")
    driver.find_element(By.ID, "cohort").click()
    wait_for(lambda: len(driver.window_handles) == 2, message="the cohort report's tab")
    driver.switch_to.window(next(h for h in driver.window_handles if h != main))
    wait_for(lambda: "MultiQC" in driver.page_source and "EURweb" in driver.page_source, 60, "the cohort report")
    shot(driver, "07b-cohort-report")
    driver.close()
    driver.switch_to.window(main)


def test_browser_download_processed_vcf_matches_its_checksum(driver, served: Served, downloads: Path, state) -> None:
    sign_in(driver, served, "demo")
    go(driver, served, f"#/sample/demo/{state['sample']}", "Sample EURweb")
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "button.get-downloads")).click()
    links = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".downloads a[data-kind]"), message="links")
    by_kind = {a.get_attribute("data-kind"): a for a in links}
    assert {"vcf", "index", "sidecar"} <= set(by_kind), list(by_kind)
    shot(driver, "08-downloads")
    names = {}
    for kind in ("vcf", "sidecar"):
        names[kind] = by_kind[kind].get_attribute("download")
        by_kind[kind].click()
    files = {k: downloads / n for k, n in names.items()}
    wait_for(lambda: all(p.exists() and p.stat().st_size > 0 for p in files.values())
             and not list(downloads.glob("*.crdownload")), 60, "the downloads")
    sidecar = json.loads(files["sidecar"].read_text())
    recorded = sidecar["outputs"]["vcf"]["sha256"]
    assert hashlib.sha256(files["vcf"].read_bytes()).hexdigest() == recorded


def test_browser_invalid_vcf_shows_code_and_line(driver, served: Served, tmp_path: Path) -> None:
    sign_in(driver, served, "demo")
    broken = write_broken_vcf(tmp_path)
    row = upload(driver, served, "demo", "brokenweb", "wgs", broken)
    wait_for(lambda: row.get_attribute("data-status") == "REJECTED", PIPELINE_S, "the rejection")
    reason = row.find_element(By.CSS_SELECTOR, ".reason").text
    assert "VCF_" in reason and "line" in reason, reason
    shot(driver, "09-upload-rejected")
    go(driver, served, "#/sample/demo/brokenweb", "Sample brokenweb")
    alert = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".job .reason"))
    assert "VCF_" in alert.text and "line 7" in alert.text, alert.text
    shot(driver, "10-sample-rejected")
    # a steward reprocesses it: a second run, validated again, rejected again with the same reason
    driver.find_element(By.CSS_SELECTOR, ".job button.reprocess").click()
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "section.job")) == 2, 120, "the second run")
    runs = wait_for(lambda: [j.text for j in driver.find_elements(By.CSS_SELECTOR, "section.job")
                             if "REJECTED" in j.text and "by web:demo" in j.text], 120, "the new run's rejection")
    assert "VCF_GT_ALLELE_RANGE" in runs[0], runs
    shot(driver, "10b-reprocessed")


def test_browser_upload_fields_validated_before_upload(driver, served: Served, tmp_path: Path) -> None:
    sign_in(driver, served, "demo")
    go(driver, served, "#/upload/demo", "Upload")
    path = tmp_path / "x.vcf"
    path.write_text("##fileformat=VCFv4.2\n")
    driver.find_element(By.ID, "up-sample").send_keys("../other")
    driver.find_element(By.ID, "up-files").send_keys(str(path))
    driver.find_element(By.ID, "up-start").click()
    status = wait_for(lambda: driver.find_element(By.ID, "status").text, message="the validation message")
    assert "Sample id" in status and "Choose an assay" in status, status
    assert driver.find_element(By.ID, "up-sample").get_attribute("aria-invalid") == "true"
    assert driver.find_elements(By.CSS_SELECTOR, "li.upload") == []
    shot(driver, "11-upload-validation")


def test_browser_user_of_another_project_sees_nothing_of_it(driver, served: Served, state) -> None:
    sign_in(driver, served, "other")
    wait_for(lambda: heading(driver) == "Projects")
    assert [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#projects a")] == ["other"]
    for fragment in ("#/project/demo", f"#/sample/demo/{state['sample']}"):
        driver.get(served.url + fragment)
        wait_for(lambda: heading(driver) == "Problem")
        text = driver.find_element(By.ID, "page").text
        assert "WEB_FORBIDDEN" in text and state["sample"] not in text.replace(fragment, ""), text
    shot(driver, "12-other-project-forbidden")
    for path in ("/api/projects/demo", f"/api/projects/demo/samples/{state['sample']}",
                 f"/api/projects/demo/samples/{state['sample']}/qc", "/api/projects/demo/members"):
        assert api_status(driver, path) == 403, path
    # asking for demo's sample under its own project's URL: not found, as if it did not exist
    assert api_status(driver, f"/api/projects/other/samples/{state['sample']}") == 404
    assert api_status(driver, "/api/projects/demo") == 403
    driver.execute_script("sessionStorage.setItem('access', 'not-a-token')")
    assert api_status(driver, "/api/me") == 401


def test_browser_partner_sees_only_its_delivery(driver, served: Served) -> None:
    for partner in ("acme", "globex"):
        done = served.cli("deliver", "demo", "--partner", partner, "--stack", "local")
        assert done.returncode == 0, done.stdout + done.stderr
    sign_in(driver, served, "partner")
    wait_for(lambda: "Deliveries to acme" in heading(driver), message="the partner page")
    visible = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#nav a") if a.is_displayed()]
    assert visible == ["Deliveries"], visible
    deliveries = driver.find_elements(By.CSS_SELECTOR, "li.delivery")
    assert len(deliveries) == 1 and "acme" in deliveries[0].text and "globex" not in driver.page_source
    names = [a.text for a in deliveries[0].find_elements(By.CSS_SELECTOR, "a")]
    assert any(n.endswith(".vcf.gz") for n in names), names
    shot(driver, "13-partner-deliveries")
    assert api_status(driver, "/api/projects/demo") == 403
    driver.get(served.url + "#/project/demo")
    wait_for(lambda: heading(driver) == "Problem")


def test_browser_steward_delivers_and_the_partner_downloads(driver, served: Served, downloads: Path, state,
                                                          tmp_path: Path) -> None:
    """A steward delivers the QC-passed sample to a registered partner from the browser (web-tasks encrypts it
    and signs the manifest with moto's KMS); the partner's user sees the delivery and downloads it."""
    from crypt4gh import lib
    from crypt4gh.keys import c4gh, get_private_key

    c4gh.generate(str(tmp_path / "initech.sec"), str(tmp_path / "initech.pub"), b"passphrase", None)
    # the genomics CLI's own arguments (served.cli), registering the partner and its user
    registered = served.cli("partner", "add", "initech", "--pubkey", str(tmp_path / "initech.pub"), "--stack", "local")
    member = served.cli("members", "add", "partner", "--partner", "initech", "--stack", "local")
    for done in (registered, member):
        assert done.returncode == 0, done.stdout + done.stderr
    sign_in(driver, served, "demo")
    go(driver, served, "#/project/demo", "Project demo")
    wait_for(lambda: driver.find_element(By.ID, "deliver-link")).click()
    wait_for(lambda: heading(driver) == "Deliver demo", message="the deliver page")
    box = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, f"input[name=sample][value='{state['sample']}']"))
    box.click()
    driver.find_element(By.CSS_SELECTOR, "#deliver-partner option[value='initech']").click()
    shot(driver, "15-deliver")
    driver.find_element(By.ID, "deliver-start").click()
    wait_for(lambda: heading(driver).startswith("Delivery "), message="the delivery page")
    delivery_id = heading(driver).removeprefix("Delivery ")
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "#delivery-status .badge").get_attribute("data-status")
             == "complete", 180, "the delivery to complete")
    shot(driver, "16-delivery-manifest")
    links = {a.get_attribute("data-kind"): a.get_attribute("href")
             for a in driver.find_elements(By.CSS_SELECTOR, "#manifest-links a")}
    assert set(links) == {"manifest", "checksum", "signature"}, links
    manifest = json.loads(urllib.request.urlopen(links["manifest"], timeout=30).read())
    assert manifest["delivery_id"] == delivery_id and manifest["status"] == "complete"
    assert [e["sample_id"] for e in manifest["delivered"]] == [state["sample"]]
    rows = driver.find_elements(By.XPATH, "//table[caption='Delivered objects']/tbody/tr")
    assert len(rows) == len(manifest["delivered"][0]["objects"]) > 0

    sign_in(driver, served, "partner")
    wait_for(lambda: "initech" in heading(driver), message="the partner page")
    mine = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, f"li.delivery[data-delivery='{delivery_id}']"))
    vcf = next(a for a in mine.find_elements(By.CSS_SELECTOR, "a") if a.text.endswith(".vcf.gz.c4gh"))
    name = vcf.get_attribute("download")
    vcf.click()
    path = downloads / name
    wait_for(lambda: path.exists() and path.stat().st_size > 0 and not list(downloads.glob("*.crdownload")), 60,
             "the partner's download")
    shot(driver, "17-partner-delivery")
    entry = next(o for o in manifest["delivered"][0]["objects"] if o["key"].endswith(name))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["encrypted_sha256"]
    secret = get_private_key(str(tmp_path / "initech.sec"), lambda: "passphrase")
    plain = io.BytesIO()
    lib.decrypt([(0, secret, None)], io.BytesIO(path.read_bytes()), plain)
    assert hashlib.sha256(plain.getvalue()).hexdigest() == entry["sha256"]


def test_browser_keyboard_only_and_axe(driver, served: Served, state) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    driver.get(served.url)
    driver.execute_script("sessionStorage.clear()")
    driver.get(served.url)
    wait_for(lambda: driver.find_element(By.ID, "username").is_displayed())
    findings = {"sign-in": axe_findings(driver)}
    keys = ActionChains(driver)
    # Tab from the top: the skip link, then the user name field (no mouse from here on)
    keys.send_keys(Keys.TAB).perform()
    assert driver.switch_to.active_element.get_attribute("class") == "skip"
    ActionChains(driver).send_keys(Keys.TAB, "demo", Keys.TAB, served.password, Keys.ENTER).perform()
    wait_for(lambda: heading(driver) == "Projects", message="signed in by keyboard")
    # tab to the project link and follow it with Enter
    for _ in range(30):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.switch_to.active_element.text == "demo":
            break
    assert driver.switch_to.active_element.text == "demo", "the project link is not reachable by Tab"
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    wait_for(lambda: heading(driver) == "Project demo", message="the project page by keyboard")
    assert driver.switch_to.active_element.get_attribute("id") == "page-title", "focus moves to the new page"
    findings["project"] = axe_findings(driver)
    for fragment, title in ((f"#/sample/demo/{state['sample']}", "Sample"), ("#/upload/demo", "Upload"),
                            ("#/deliver/demo", "Deliver"), ("#/projects", "Projects")):
        go(driver, served, fragment, title)
        findings[title] = axe_findings(driver)
        shot(driver, f"14-keyboard-{title.lower()}")
    # every form field has a label
    go(driver, served, "#/upload/demo", "Upload")
    for field in driver.find_elements(By.CSS_SELECTOR, "input, select"):
        fid = field.get_attribute("id")
        assert fid and driver.find_elements(By.CSS_SELECTOR, f"label[for='{fid}']"), f"unlabelled field {fid}"
    sign_in(driver, served, "partner")
    wait_for(lambda: "Deliveries" in heading(driver))
    findings["partner"] = axe_findings(driver)
    bad = {page: f for page, f in findings.items() if f}
    assert not bad, json.dumps(bad, indent=1)
