"""Import cost of the Airflow-facing modules, as the self time of the modules they load.

The scheduler and DAG processor import DAG files, and so these modules, constantly. Whole-process
timings vary by about ±300 ms on a busy 2-core machine, so this measures with ``python -X importtime``:
the time each module's own body took to run (its "self" time), which other work on the machine disturbs
far less. Two runs per sample in fresh interpreters:

- the baseline, ``from airflow.sdk import DAG, BaseHook, BaseOperator, BaseSensorOperator`` (what every DAG
  file that uses an operator already pays);
- the baseline followed by importing every hook, operator, sensor and trigger module of the provider.

Modules that appear only in the second run are what the provider adds: its own modules and whatever they
pull in. Figures are medians over ``RUNS`` samples, with byte-code caching on (a private
``PYTHONPYCACHEPREFIX``) so that compiling is not counted.
"""

from __future__ import annotations

import json
import os
import pkgutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = 11
TARGET_MS = 50.0
RESULTS = Path(__file__).parent / "results" / "import_time.json"
OURS = "airflow_provider_mparticle"
DAG_FILE = "from airflow.sdk import DAG, BaseHook, BaseOperator, BaseSensorOperator"


def _modules() -> list[str]:
    import airflow_provider_mparticle

    root = Path(airflow_provider_mparticle.__file__).parent
    names = [f"{OURS}.hooks.mparticle", f"{OURS}.hooks.adobe"]
    for sub in ("operators", "sensors", "triggers"):
        names += [f"{OURS}.{sub}.{m.name}" for m in pkgutil.iter_modules([str(root / sub)])]
    return names


def _self_times(code: str, env: dict[str, str]) -> dict[str, float]:
    """Self time in microseconds of every module ``code`` imported, from ``-X importtime``."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True, env=env
    ).stderr
    times: dict[str, float] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|", 2)
        times[name.strip()] = float(self_us)
    return times


def measure() -> dict[str, object]:
    modules = _modules()
    ours = "; ".join(f"import {m}" for m in modules)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    provider: list[float] = []
    added: list[float] = []
    third_party: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as cache:
        env["PYTHONPYCACHEPREFIX"] = cache
        _self_times(f"{DAG_FILE}; {ours}", env)  # warm the byte-code cache
        for _ in range(RUNS):
            base = _self_times(DAG_FILE, env)
            full = _self_times(f"{DAG_FILE}; {ours}", env)
            new = {name: us for name, us in full.items() if name not in base}
            provider.append(sum(us for name, us in new.items() if name.split(".")[0] == OURS) / 1000)
            added.append(sum(new.values()) / 1000)
            for name, us in new.items():
                if name.split(".")[0] != OURS:
                    third_party.setdefault(name, []).append(us / 1000)
    heaviest = sorted(((statistics.median(v), k) for k, v in third_party.items()), reverse=True)[:5]
    return {
        "modules": len(modules),
        "provider_modules_self_ms": round(statistics.median(provider), 1),
        "added_modules_self_ms": round(statistics.median(added), 1),
        "added_third_party_modules": len(third_party),
        "heaviest_third_party_self_ms": {name: round(ms, 1) for ms, name in heaviest},
        "target_extra_ms": TARGET_MS,
    }


def main() -> dict[str, object]:
    result = measure()
    print(
        f"import cost of {result['modules']} hook/operator/sensor/trigger modules over a DAG file's own "
        f"imports (-X importtime self time, median of {RUNS} runs):"
    )
    print(f"  the provider's own modules: {result['provider_modules_self_ms']} ms")
    print(
        f"  everything they add ({result['added_third_party_modules']} other modules included): "
        f"{result['added_modules_self_ms']} ms (target <= {TARGET_MS} ms)"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
