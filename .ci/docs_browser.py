"""The API reference in a real browser: one operator's page rendered by headless Chromium.

Run after ``make docs`` (``make docs-browser`` does both). Opens the built reference page of
``MParticleTriggerPipelineOperator`` with the same Chromium and flags as the console check
(``.ci/browser.py``), and asserts that the rendered text shows every parameter of its ``__init__`` with
its type and every templated field, as the operator declares them. Saves the page and a screenshot under
``artifacts/browser/``. Exit status is non-zero on any failure.

Usage: python .ci/docs_browser.py [--artifacts DIR]
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import ROOT, chromium, find_chromium, log, rendered_text

PAGE = ROOT / "docs" / "_build" / "html" / "reference" / "operators.html"


def expected_texts() -> list[str]:
    """What the page must show, read from the operator itself: ``name (type)`` and the templated fields."""
    from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator as op

    parameters = [
        p
        for p in inspect.signature(op.__init__).parameters.values()
        if p.name != "self" and p.kind is p.KEYWORD_ONLY
    ]
    assert parameters, "the operator has no keyword parameters"
    texts = [f"class airflow_provider_mparticle.operators.warehouse_sync.{op.__name__}"]
    texts += [f"{p.name} ({p.annotation})" for p in parameters]
    texts.append("Templated fields: " + ", ".join(op.template_fields) + ".")
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=ROOT / "artifacts" / "browser")
    args = parser.parse_args()
    if not PAGE.exists():
        raise SystemExit(f"{PAGE} is missing: run make docs first")
    binary = find_chromium()
    args.artifacts.mkdir(parents=True, exist_ok=True)
    # The page from its top: with a fragment, headless Chromium's screenshot came out blank.
    url = PAGE.as_uri()
    with tempfile.TemporaryDirectory() as profile:
        dom = chromium(binary, profile, "--dump-dom", url)
        screenshot = args.artifacts / "docs-operators.png"
        screenshot.unlink(missing_ok=True)
        chromium(binary, profile, f"--screenshot={screenshot}", url)
    (args.artifacts / "docs-operators.html").write_text(dom)
    # Sphinx puts each part of a signature in its own element, which reads as spaces: compare without them.
    text = re.sub(r"\s+", "", rendered_text(dom))
    expected = expected_texts()
    missing = [e for e in expected if re.sub(r"\s+", "", e) not in text]
    # A blank page compresses to a few KB; the rendered reference is well over 100 KB.
    if not screenshot.exists() or screenshot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        missing.append("(no screenshot)")
    elif screenshot.stat().st_size < 50_000:
        missing.append(f"(a blank screenshot: {screenshot.stat().st_size} bytes)")
    if missing:
        print("\n".join(["The operator's reference page is missing:", *missing]), file=sys.stderr)
        return 1
    log(f"{PAGE.name}: the operator's {len(expected) - 2} parameters and its templated fields rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
