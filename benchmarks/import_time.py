"""Import cost of the Airflow-facing modules.

The scheduler and DAG processor import DAG files, and so these modules, constantly. Figures are medians
over fresh interpreters of the CPU time of (baseline + our modules) - (baseline) (CPU time, not wall
time, so that other work on the machine disturbs the figure less), for two baselines:

- ``import airflow.sdk`` alone (lazy: it loads almost nothing until a name is used);
- ``from airflow.sdk import DAG, BaseHook, BaseOperator, BaseSensorOperator``: what every DAG file that
  uses an operator already pays. The difference to this one is the cost this provider adds.
"""

from __future__ import annotations

import json
import pkgutil
import statistics
import subprocess
import sys
from pathlib import Path

RUNS = 11
TARGET_MS = 50.0
RESULTS = Path(__file__).parent / "results" / "import_time.json"


def _modules() -> list[str]:
    import airflow_provider_mparticle

    root = Path(airflow_provider_mparticle.__file__).parent
    names = ["airflow_provider_mparticle.hooks.mparticle"]
    for sub in ("operators", "sensors", "triggers"):
        names += [
            f"airflow_provider_mparticle.{sub}.{m.name}" for m in pkgutil.iter_modules([str(root / sub)])
        ]
    return names


def _time(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", f"import time; t=time.process_time(); {code}; print(time.process_time()-t)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip().splitlines()[-1]) * 1000


SDK = "import airflow.sdk"
DAG_FILE = "from airflow.sdk import DAG, BaseHook, BaseOperator, BaseSensorOperator"


def measure() -> dict[str, float]:
    modules = _modules()
    ours = "; ".join(f"import {m}" for m in modules)
    samples: dict[str, list[float]] = {"sdk": [], "sdk+ours": [], "dag": [], "dag+ours": []}
    for _ in range(RUNS):
        samples["sdk"].append(_time(SDK))
        samples["sdk+ours"].append(_time(f"{SDK}; {ours}"))
        samples["dag"].append(_time(DAG_FILE))
        samples["dag+ours"].append(_time(f"{DAG_FILE}; {ours}"))
    median = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "modules": len(modules),
        "airflow_sdk_ms": round(median["sdk"], 1),
        "extra_over_import_airflow_sdk_ms": round(median["sdk+ours"] - median["sdk"], 1),
        "dag_file_baseline_ms": round(median["dag"], 1),
        "extra_over_dag_file_baseline_ms": round(median["dag+ours"] - median["dag"], 1),
        "target_extra_ms": TARGET_MS,
    }


def main() -> dict[str, float]:
    result = measure()
    print(f"import cost of {result['modules']} hook/operator/sensor/trigger modules (median of {RUNS} runs):")
    print(
        f"  over `import airflow.sdk` ({result['airflow_sdk_ms']} ms): "
        f"+{result['extra_over_import_airflow_sdk_ms']} ms"
    )
    print(
        f"  over a DAG file's own imports ({result['dag_file_baseline_ms']} ms): "
        f"+{result['extra_over_dag_file_baseline_ms']} ms (target <= {TARGET_MS} ms)"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
