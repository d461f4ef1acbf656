"""A real Airflow deployment on loopback, shared by the end-to-end runs (``.ci/e2e.py``, ``.ci/e2e_celery.py``).

PostgreSQL as the metadata DB (installed from Debian's packages if missing, run as a private cluster in
a temporary directory), the emulator as mParticle, and Airflow's components as separate processes, each
in its own process group with its output in ``<work>/logs/<name>.log``. The REST API of the API server
is read as the UI reads it: a CLI call starts an interpreter that imports Airflow (seconds of CPU on a
busy 2-core machine), which slowed every component. Everything started here is stopped by ``stop()``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.testing.emulator.server import (
    adobe_connection_json,
    mparticle_connection_json,
)

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
AIRFLOW = [PYTHON, "-m", "airflow"]
RESULTS = ROOT / "benchmarks" / "results" / "reliability.json"
BULK = "bulkcalculatedattributes"


def log(message: str, name: str = "e2e") -> None:
    print(f"[{name} {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 300, **kwargs: object) -> str:
    result = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:6])} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def apt_install(package: str) -> None:
    """Install one of Debian's packages, without starting its system service (a private one is run)."""
    log(f"installing {package} from Debian's packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # policy-rc.d exit 101: "action forbidden", so the package's postinst does not start a daemon on
    # its default port; removed again after the install when it was not there before.
    policy = Path("/usr/sbin/policy-rc.d")
    added = not policy.exists()
    if added:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        run(["apt-get", "update", "-qq"], env=env, timeout=600)
        run(["apt-get", "install", "-y", "-qq", package], env=env, timeout=900)
    finally:
        if added:
            policy.unlink(missing_ok=True)


class Postgres:
    """A throw-away PostgreSQL cluster on a loopback port, owned by the postgres system user."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.data = work / "pg"
        self.port = free_port()
        self.bin = self._find_bin()

    @staticmethod
    def _find_bin() -> Path:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            apt_install("postgresql")
            found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        return Path(found[-1]).parent

    def _as_postgres(self, *cmd: str) -> str:
        if os.geteuid() == 0:
            return run(["runuser", "-u", "postgres", "--", *cmd])
        return run(list(cmd))

    @property
    def url(self) -> str:
        """The metadata DB's SQLAlchemy URL (psycopg2)."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/airflow"

    def start(self) -> str:
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
        )
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.data / "server.log"),
            "-w",
            "start",
        )
        run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "airflow"]
        )
        return self.url

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one read-only query on the metadata DB (what the REST API does not show)."""
        import psycopg2

        with (
            contextlib.closing(
                psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="airflow")
            ) as db,
            db.cursor() as cursor,
        ):
            cursor.execute(sql)
            return list(cursor.fetchall())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")


class Deployment:
    """PostgreSQL, the emulator and Airflow's components, started by :meth:`start` and stopped by :meth:`stop`."""

    def __init__(self, work: Path, dags_folder: Path) -> None:
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.postgres = Postgres(work)
        self.dags_folder = dags_folder
        self.env: dict[str, str] = {}
        self.api_url = ""
        self.emulator_url = ""
        self._token: str | None = None

    def start_process(
        self, name: str, cmd: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process's life
        process = subprocess.Popen(
            cmd, env=env or self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a component's whole process group and wait for its main process."""
        process = self.processes.pop(name, None)
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)

    def start(self, executor: str, env: dict[str, str], components: dict[str, list[str]]) -> None:
        """PostgreSQL, the emulator, ``airflow db migrate``, then ``components`` (name -> command).

        :param executor: ``[core] executor``.
        :param env: environment added to the common one (connections, executor settings).
        :param components: the Airflow processes to start, in order.
        """
        db_url = self.postgres.start()
        log(f"PostgreSQL on 127.0.0.1:{self.postgres.port}")
        emulator_port, api_port = free_port(), free_port()
        emulator = f"http://127.0.0.1:{emulator_port}"
        self.emulator_url = emulator
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.work / "home"),
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
            "AIRFLOW__API__SECRET_KEY": os.urandom(16).hex(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW_CONN_MPARTICLE_DEFAULT": json.dumps(mparticle_connection_json(emulator)),
            "AIRFLOW_CONN_ADOBE_AEP_DEFAULT": json.dumps(adobe_connection_json(emulator)),
            **env,
        }
        self.start_process(
            "emulator",
            [PYTHON, "-m", "airflow_provider_mparticle.testing.emulator.server", "--port", str(emulator_port),
             "--propagation-seconds", "0", "--progress-mode", "seconds", "--progress-steps", "60"],
        )  # fmt: skip
        log("airflow db migrate")
        run([*AIRFLOW, "db", "migrate"], env=self.env, timeout=600)
        for name, cmd in components.items():
            self.start_process(name, cmd)
        self.wait_http(f"{self.api_url}/api/v2/version", 180)
        self.wait_http(emulator + "/_emulator/health", 60)
        log(f"api-server on {self.api_url}, emulator on {emulator}")

    def wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    return
            except OSError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not answer in {timeout} s: {error}") from None
                time.sleep(1)

    def api(self, method: str, path: str, body: object = None) -> Any:
        """One call to the API server's REST API (``/api/v2`` + ``path``); the JSON answer."""
        if self._token is None:
            with urllib.request.urlopen(f"{self.api_url}/auth/token", timeout=30) as answer:
                self._token = json.loads(answer.read())["access_token"]
        request = urllib.request.Request(
            f"{self.api_url}/api/v2{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
            method=method,
        )
        # A read is repeated once on failure: the API server can be slow to answer on a busy machine.
        for attempt in (1, 2):
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    return json.loads(answer.read() or b"null")
            except OSError:
                if attempt == 2 or method != "GET":
                    raise
                time.sleep(3)
        raise AssertionError("unreachable")

    def dag_ids(self) -> set[str]:
        """The DAGs the dag-processor has parsed so far."""
        return {d["dag_id"] for d in self.api("GET", "/dags?limit=1000")["dags"]}

    def wait_parsed(self, dag_ids: set[str] | list[str], deadline: float) -> None:
        """Wait until the dag-processor has parsed every one of ``dag_ids``."""
        while True:
            listed = self.dag_ids()
            if set(dag_ids) <= listed:
                return
            if time.monotonic() > deadline:
                errors = run([*AIRFLOW, "dags", "list-import-errors"], env=self.env)
                raise RuntimeError(f"DAGs not parsed: {set(dag_ids) - listed}\n{errors}")
            time.sleep(2)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Trigger a run of ``dag_id`` now; its run id."""
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances as the REST API gives them (a mapped task: one per index)."""
        path = f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances?limit=1000"
        return list(self.api("GET", path)["task_instances"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """task_id -> state of the run's task instances (a mapped task: the state of any one index)."""
        return {t["task_id"]: t["state"] for t in self.task_instances(dag_id, run_id)}

    def wait_run(self, dag_id: str, run_id: str, deadline: float) -> str:
        """Wait for the run to end; its final state."""
        while True:
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            if time.monotonic() > deadline:
                raise RuntimeError(f"{dag_id} run {run_id} did not finish: {state}")
            time.sleep(2)

    def print_logs(self, lines: int = 40) -> None:
        """The last lines of every component's log, and the task logs of failed attempts."""
        for path in sorted(self.logs.glob("*.log")):
            print(f"----- {path.name} (last {lines} lines) -----")
            print("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        for path in sorted((self.work / "home" / "logs").glob("dag_id=*/**/*.log")):
            text = path.read_text(errors="replace")
            if '"level":"error"' in text.replace(" ", "") or "Traceback" in text:
                print(f"----- {path.relative_to(self.work)} (last 30 lines) -----")
                print("\n".join(text.splitlines()[-30:]))

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)
        # What outlived its component (a task process has a process group of its own, and a killed
        # worker's may be orphaned): any process left with this deployment's AIRFLOW_HOME.
        for pid in self.strays():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.postgres.stop()

    def strays(self) -> list[int]:
        """Pids of the processes still running with this deployment's ``AIRFLOW_HOME``."""
        marker = f"AIRFLOW_HOME={self.work / 'home'}".encode()
        found = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            with contextlib.suppress(OSError):
                if marker in environ.read_bytes().split(b"\0"):
                    found.append(int(environ.parent.name))
        return [pid for pid in found if pid != os.getpid()]


def process_title(pid: int | str) -> str:
    """A process's command line as ``ps`` shows it ("" when it is gone)."""
    try:
        return (
            (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


# The task runner retitles itself ``airflow worker -- <ti id>`` (a UUID).
TASK_TITLE = re.compile(r"airflow worker -- ([0-9a-f]{8}-[0-9a-f-]{27})\s*")


def task_processes() -> dict[int, str]:
    """Running Airflow task processes: pid -> task instance id."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        # LocalExecutor's own workers are "airflow worker -- LocalExecutor ...": match the TI's UUID.
        match = TASK_TITLE.fullmatch(process_title(cmdline.parent.name))
        if match:
            found[int(cmdline.parent.name)] = match.group(1)
    return found


def accepted_users(control: Any, received_after: float | None = None) -> int:
    """Users in the bulk requests the emulator accepted; with ``received_after`` (epoch seconds), those it
    received after then (it stamps each request when it arrives)."""
    return sum(
        e["units"]
        for e in control.journal(path=BULK, bodies=False)
        if e["status"] == 202 and (received_after is None or e["time"] >= received_after)
    )


def record_reliability(key: str, value: int | float, details: dict[str, object]) -> None:
    """Merge one figure into the reliability figures file, keeping every other key."""
    try:
        results = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        results = {}
    results[key] = value
    results.setdefault("details", {})[key] = details
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")


def run_scenario(deployment: Deployment, scenario: Callable[[], bool]) -> int:
    """Run ``scenario`` on ``deployment``: exit status 0 when it returns True. On failure the logs are
    printed; whatever happens, every process is stopped and the work directory removed."""
    ok = False
    try:
        ok = scenario()
    except Exception as error:
        log(f"ERROR: {error!r}")
    finally:
        if not ok:
            deployment.print_logs()
        deployment.stop()
        shutil.rmtree(deployment.work, ignore_errors=True)
    return 0 if ok else 1
