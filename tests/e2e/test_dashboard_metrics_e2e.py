"""The metrics page in a real headless Chromium shows the numbers ``floe metrics -o json``
gives over the same scripted history with pinned event times (UI-06, DORA-01..04)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from support.dashboard import chromium, screenshot, serving
from support.dora_history import metrics_by_env, play_dora_history


def shown(value: float | None, fmt: str) -> str:
    """A metric as the page prints it (the page rounds as metrics_page does)."""
    if value is None:
        return "\u2013"
    if fmt == "hours":
        return f"{round(value / 3600, 2)} h"
    if fmt == "percent":
        return f"{round(value * 100, 1)} %"
    return f"{round(value, 3)} /day"


@pytest.mark.requirement("UI-06", "DORA-01", "DORA-02", "DORA-03", "DORA-04")
def test_the_metrics_page_shows_what_floe_metrics_computes(workspace) -> None:
    ws = workspace
    history = play_dora_history(ws)
    code, out = ws.json("metrics", "--as-of", history.as_of.isoformat(), "--since", "7d")
    assert code == 0, out
    expected = metrics_by_env(out)
    assert expected == history.expected(window_days=7)
    driver = chromium()
    try:
        with serving(ws) as base:
            query = urlencode({"days": 7, "as_of": history.as_of.isoformat()})
            driver.get(f"{base}/metrics?{query}")
            for env, m in expected.items():
                row = driver.find_element(By.CSS_SELECTOR, f"#metrics tr[data-env={env}]")
                values = [c.text for c in row.find_elements(By.CSS_SELECTOR, "td .value")]
                assert values == [
                    shown(m["per_day"], "per_day"),
                    shown(m["lead_time"]["median_seconds"], "hours"),
                    shown(m["rate"], "percent"),
                    shown(m["time_to_restore"]["median_seconds"], "hours"),
                ], env
            assert "1 of 3 deployments" in driver.find_element(
                By.CSS_SELECTOR, "#metrics tr[data-env=prod]").text
            charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
            assert len(charts) == 4
            restore = charts[3].find_element(By.TAG_NAME, "desc").get_attribute("textContent")
            assert "prod: 1.5" in restore and "dev: no data" in restore
            for width in (1280, 390):
                screenshot(driver, f"{'postgres' if ws.postgres else 'sqlite'}-metrics", width)

            Select(driver.find_element(By.ID, "m-env")).select_by_value("prod")
            driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
            WebDriverWait(driver, 10).until(ec.url_contains("env=prod"))
            rows = driver.find_elements(By.CSS_SELECTOR, "#metrics tbody tr")
            assert [r.get_attribute("data-env") for r in rows] == ["prod"]
    finally:
        driver.quit()
