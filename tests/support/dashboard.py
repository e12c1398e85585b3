"""``floe serve`` as a real process over a workspace, a scripted history for it, and a real
headless Chromium (Debian's chromium + chromedriver, through Selenium) to look at it."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from support.workspace import FLOE, Workspace

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
README_SHOT = ROOT / "docs" / "img" / "dashboard-matrix.png"
HOSTILE = "<script>alert('x')</script> freeze & <b>hold</b>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(ws: Workspace, *args: str) -> Iterator[str]:
    """``floe serve`` on a free loopback port in ``ws``; yields its base URL once it answers."""
    port = free_port()
    log = (ws.root / "serve.log").open("w")
    proc = subprocess.Popen([FLOE, "serve", "--port", str(port), *args], cwd=ws.root,
                            env=ws.env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/api/head", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, (ws.root / "serve.log").read_text()
                assert time.monotonic() < deadline, "floe serve did not answer in 30 s"
                time.sleep(0.1)  # waiting for the port to open, not asserting anything
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def ok(ws: Workspace, *args: str) -> None:
    proc = ws.run(*args)
    assert proc.returncode == 0, f"floe {' '.join(args)}: {proc.returncode}\n{proc.stderr}"


def scripted_history(ws: Workspace) -> dict[str, str]:
    """Promotions to three environments, a gate failure, a rollback and a lock.

    v1.0.0 and v1.1.0 reach prod (v1.1.0's first try at staging fails its tests gate);
    prod is rolled back to v1.0.0; staging is locked with a hostile reason. Returns the
    digests by version."""
    marker = ws.root / "tests-fail"
    gate = ["python3", "-c", f"import os, sys; sys.exit(1 if os.path.exists({str(marker)!r}) "
            "else 0)"]
    ws.write_manifest(promotion={
        "environments": [{"name": "dev"}, {"name": "staging", "gates": {"tests": True}},
                         {"name": "prod"}],
        "gate_commands": {"tests": {"command": gate}},
    })
    digests = {v: ws.push(v) for v in ("v1.0.0", "v1.1.0")}
    ok(ws, "platform", "promote", "v1.0.0", "--to", "dev")
    ok(ws, "platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    ok(ws, "platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod")
    ok(ws, "platform", "promote", "v1.1.0", "--to", "dev")
    marker.write_text("fail")
    failed = ws.run("platform", "promote", "v1.1.0", "--from", "dev", "--to", "staging")
    assert failed.returncode == 8, failed.stderr
    marker.unlink()
    ok(ws, "platform", "promote", "v1.1.0", "--from", "dev", "--to", "staging")
    ok(ws, "platform", "promote", "v1.1.0", "--from", "staging", "--to", "prod")
    ok(ws, "platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "error rate up",
       "--yes")
    ok(ws, "platform", "lock", "--env", "staging", "--reason", HOSTILE)
    return digests


def chromium(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def screenshot(driver: webdriver.Chrome, name: str, width: int) -> Path:
    """A full-page PNG of what the browser shows at ``width`` CSS px (a phone's viewport
    below 600), under test-artifacts/screenshots/."""
    def emulate(height: int) -> None:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})

    emulate(800)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    emulate(max(height, 600))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{width}.png"
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return path
