"""The emulator's console in a real browser: headless Chromium from Debian's packages.

Installs ``chromium`` with apt-get when it is missing (as ``make e2e`` installs PostgreSQL), starts the
emulator with one of each thing the console shows (plus a fault, a rate limit and a calculated attribute
whose name is HTML), renders every console page with ``chromium --dump-dom``, asserts on the rendered
text, and saves a screenshot of each page under ``artifacts/browser/``. No browser download, no
JavaScript driver: Chromium's own command line does it all. Exit status is non-zero on any failure.

Usage: python .ci/browser.py [--artifacts DIR]
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML_NAME = "<b>Bold</b> & Co"
# Chromium must not reach the network or change itself: only the emulator on loopback is opened.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,1000",
]
# (file name, console page, texts the rendered page must show)
PAGES: list[tuple[str, str, list[str]]] = [
    ("overview", "", ["mParticle emulator", "3 Calculated attributes", "25 Seeded users", "2 Pipeline runs"]),
    (
        "calculated-attributes",
        "/calculated-attributes",
        ["LTV active sum 33% 25", "Orders draft count not active 0", HTML_NAME],
    ),
    ("calculated-attribute", "/calculated-attributes/1", ["Calculated attribute LTV", "Active definition"]),
    (
        "seeds",
        "/seeds?attribute=LTV",
        ["LTV: sample of 10 of 25", 'identities:{"customer_id":"c1"} {"value": 10}'],
    ),
    ("pipelines", "/pipelines", ["1 success manual", "1200 3", "Warehouse query timed out."]),
    ("data-plans", "/data-plans", ["Web Events (web_events)", "production", "development"]),
    (
        "journal",
        "/journal?path=bulkcalculatedattributes",
        ["1 of 1 matching requests", "POST /v2/bulkcalculatedattributes 202"],
    ),
    (
        "faults",
        "/faults",
        ["/inputs/data-pipelines/trigger POST 503", "Rate limit 270 per second on paths matching bulk"],
    ),
]
SECRETS = ("emulator-api-secret", "emulator-client-secret")


def log(message: str) -> None:
    print(f"[browser {time.strftime('%H:%M:%S')}] {message}", flush=True)


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.geteuid() != 0:
        raise SystemExit("Chromium is missing and installing it needs root: apt-get install -y chromium")
    log("installing Chromium from Debian's packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        subprocess.run(cmd, env=env, check=True, timeout=1200, capture_output=True)
    found = shutil.which("chromium")
    if not found:
        raise SystemExit("apt-get installed chromium but there is no chromium command")
    return found


def chromium(binary: str, profile: str, *args: str) -> str:
    result = subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"chromium {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def rendered_text(dom: str) -> str:
    """What a reader sees: the DOM without head, tags and entity escapes, one space between words."""
    body = re.sub(r"<head>.*?</head>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def populate(server: object) -> None:
    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.testing.examples import LTV_DEFINITION, create_example_workspace

    control = server.control  # type: ignore[attr-defined]
    with MParticleClient(server.client_settings()) as client:  # type: ignore[attr-defined]
        create_example_workspace(client, control)
        client.calculated_attributes.create(HTML_NAME, LTV_DEFINITION)
    control.add_fault(
        path="/inputs/data-pipelines/trigger", method="POST", status=503, times=1, retry_after="5"
    )
    control.set_rate_limit(270, path="bulk")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=ROOT / "artifacts" / "browser")
    args = parser.parse_args()
    binary = find_chromium()
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    log(f"using {version or binary}")
    args.artifacts.mkdir(parents=True, exist_ok=True)

    from airflow_provider_mparticle.testing.emulator import EmulatorServer

    failures: list[str] = []
    with EmulatorServer(propagation_seconds=0) as server, tempfile.TemporaryDirectory() as profile:
        populate(server)
        log(f"emulator console at {server.url}/_emulator/ui")
        for name, path, expected in PAGES:
            url = f"{server.url}/_emulator/ui{path}"
            dom = chromium(binary, profile, "--dump-dom", url)
            (args.artifacts / f"{name}.html").write_text(dom)
            text = rendered_text(dom)
            missing = [e for e in expected if e not in text]
            leaked = [s for s in SECRETS if s in dom]
            if "<b>Bold</b>" in dom:
                failures.append(f"{name}: the attribute name was rendered as HTML, not text")
            screenshot = args.artifacts / f"{name}.png"
            screenshot.unlink(missing_ok=True)
            chromium(binary, profile, f"--screenshot={screenshot}", url)
            if not screenshot.exists() or screenshot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
                failures.append(f"{name}: no screenshot")
            failures += [f"{name}: missing {m!r}" for m in missing]
            failures += [f"{name}: shows secret {s!r}" for s in leaked]
            log(f"{name}: {'ok' if not (missing or leaked) else 'FAILED'} ({screenshot})")
    if failures:
        print("\n".join(["Console browser test failed:", *failures]), file=sys.stderr)
        return 1
    log(f"all {len(PAGES)} console pages rendered as expected; screenshots in {args.artifacts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
