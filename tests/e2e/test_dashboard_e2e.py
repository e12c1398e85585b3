"""``floe serve`` in a real headless Chromium over a scripted history (UI-01..UI-07)."""

from __future__ import annotations

import shutil

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from support.dashboard import (
    HOSTILE,
    README_SHOT,
    chromium,
    ok,
    screenshot,
    scripted_history,
    serving,
)

WIDTHS = (1280, 390)


def text(driver, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text


def rows(driver, css: str) -> dict[str, str]:
    """Each row of a table by its header cell: the row's text."""
    out = {}
    for tr in driver.find_elements(By.CSS_SELECTOR, f"{css} tbody tr"):
        out[tr.find_element(By.CSS_SELECTOR, "th").text] = tr.text
    return out


@pytest.mark.requirement("UI-01", "UI-02", "UI-03", "UI-04", "UI-05", "UI-07")
def test_the_dashboard_shows_the_scripted_history_and_follows_the_ledger(workspace) -> None:
    ws = workspace
    digests = scripted_history(ws)
    driver = chromium()
    try:
        with serving(ws) as base:
            # the matrix: what runs where, who, locks (with the hostile reason as text)
            driver.get(base + "/")
            status = rows(driver, "#status")
            assert "v1.1.0" in status["dev"] and "v1.1.0" in status["staging"]
            assert "v1.0.0" in status["prod"] and "rolled back by" in status["prod"]
            assert digests["v1.0.0"].removeprefix("sha256:")[:12] in status["prod"]
            assert "locked" in status["staging"] and HOSTILE in status["staging"]
            assert "ci-runner" in status["prod"]
            matrix = rows(driver, "#matrix")
            assert matrix["v1.1.0"].split()[1:] == ["running", "running", "rolled", "back", "from"]
            assert matrix["v1.0.0"].split()[1:] == ["passed", "passed", "running"]
            for width in WIDTHS:
                screenshot(driver, f"{ws_kind(ws)}-matrix", width)
            if not ws.postgres:
                shutil.copyfile(screenshot(driver, "readme-matrix", 1280), README_SHOT)

            # a version page: the failed gate, its refusal, the rollback impact
            driver.get(base + "/versions/v1.1.0")
            steps = driver.find_elements(By.CSS_SELECTOR, "#path li.step")
            states = [(s.get_attribute("data-env"), s.find_element(By.CSS_SELECTOR,
                       ".state").text) for s in steps]
            assert states == [("dev", "completed"), ("staging", "rejected"),
                              ("staging", "completed"), ("prod", "completed")]
            assert "failed" in steps[1].find_element(By.CSS_SELECTOR, "table.gates").text
            assert "passed" in steps[2].find_element(By.CSS_SELECTOR, "table.gates").text
            assert "gate_failed" in steps[1].text
            assert "no-policy" in steps[0].text and "skipped" in steps[0].text
            impact = driver.find_element(By.CSS_SELECTOR, "article.impact[data-env=prod]")
            assert "runs v1.0.0 now" in impact.text and "SAFE" in impact.text
            for width in WIDTHS:
                screenshot(driver, f"{ws_kind(ws)}-version", width)

            # the timeline, filtered by environment; each line links to its audit entry
            driver.get(base + "/timeline")
            Select(driver.find_element(By.ID, "f-env")).select_by_value("prod")
            driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
            WebDriverWait(driver, 10).until(ec.url_contains("env=prod"))
            kinds = [tr.find_elements(By.TAG_NAME, "td")[1].text
                     for tr in driver.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")]
            assert kinds == ["RolledBack", "PromotionCompleted", "PromotionCompleted"]
            for width in WIDTHS:
                screenshot(driver, f"{ws_kind(ws)}-timeline", width)
            driver.find_element(By.CSS_SELECTOR, "#timeline tbody tr a[href^='/audit/']").click()
            WebDriverWait(driver, 10).until(ec.title_contains("Event #"))
            assert "RolledBack" in text(driver, "h1") and "error rate up" in text(driver, "main")

            # the audit page: verified, the chain head
            driver.get(base + "/audit")
            assert text(driver, "#verdict") == "verified"
            heads = text(driver, "#heads")
            assert ws.registry_uri.removeprefix("oci://") in heads
            driver.find_element(By.LINK_TEXT, "Verify now").click()
            WebDriverWait(driver, 30).until(ec.url_contains("verify=now"))
            assert text(driver, "#verdict") == "verified"
            for width in WIDTHS:
                screenshot(driver, f"{ws_kind(ws)}-audit", width)

            # a promotion by another floe process appears on the open page, no reload
            driver.get(base + "/")
            assert driver.execute_script(  # its own stylesheet and script, from the package
                "return getComputedStyle(document.body).fontFamily").startswith("system-ui")
            driver.execute_script("window.__same_page = true")
            ws.push("v1.2.0")
            ok(ws, "platform", "promote", "v1.2.0", "--to", "dev")
            WebDriverWait(driver, 20).until(ec.text_to_be_present_in_element(
                (By.CSS_SELECTOR, "#status tr[data-env=dev]"), "v1.2.0"))
            assert driver.execute_script("return window.__same_page") is True
    finally:
        driver.quit()


def ws_kind(ws) -> str:
    return "postgres" if ws.postgres else "sqlite"
