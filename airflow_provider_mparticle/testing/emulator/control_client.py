"""A small client of the emulator's control plane, for tests and benchmarks."""

from __future__ import annotations

import json
import os
from typing import Any

import requests


def read_journal(file: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The requests in a journal file written by :meth:`EmulatorControl.export_journal`.

    :param file: the JSON Lines file.
    """
    with open(file, encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]


class EmulatorControl:
    """Drives ``/_emulator``: reset, settings, faults, rate limit, clock, journal and state.

    :param url: the emulator's base URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/_emulator"
        self.session = requests.Session()
        # The control plane refuses state changes without it (no cross-site form posts).
        self.session.headers["Content-Type"] = "application/json"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, self.url + path, timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset(self, **settings: Any) -> None:
        self._call("POST", "/reset", json=settings)

    def configure(self, **settings: Any) -> dict[str, Any]:
        return self._call("POST", "/config", json=settings)  # type: ignore[no-any-return]

    def add_fault(self, **rule: Any) -> None:
        """Inject a fault; see :class:`~airflow_provider_mparticle.testing.emulator.state.FaultRule`."""
        self._call("POST", "/faults", json=rule)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_latency(self, ms: float) -> None:
        self._call("POST", "/latency", json={"ms": ms})

    def set_rate_limit(
        self,
        per_second: float | None,
        path: str = "",
        acceleration: float | None = None,
        percentage_header: bool = True,
    ) -> None:
        """Limit the workspace to ``per_second`` units (bulk seeding: users), shared by every client.

        :param per_second: units per second (None: no limit).
        :param path: a regular expression of the paths it applies to.
        :param acceleration: units per second by which the rate may grow each second (429 ``acceleration``).
        :param percentage_header: send ``X-mp-rate-limit-percentage-used`` on accepted answers.
        """
        body = {"per_second": per_second, "path": path, "acceleration": acceleration}
        self._call("POST", "/rate-limit", json={**body, "percentage_header": percentage_header})

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/clock/advance", json={"seconds": seconds})

    def expire_tokens(self) -> None:
        self._call("POST", "/tokens/expire")

    def journal(
        self, path: str | None = None, method: str | None = None, bodies: bool = True, since: int = 0
    ) -> list[dict[str, Any]]:
        """The requests received (oldest first), optionally filtered.

        :param path: keep requests whose path contains this.
        :param method: keep requests of this HTTP method.
        :param bodies: include the (masked) request bodies.
        :param since: keep requests after this sequence number (``stats()["requests"]`` taken earlier).
        """
        params: dict[str, Any] = {"bodies": bodies, "since": since}
        if path:
            params["path"] = path
        if method:
            params["method"] = method
        return self._call("GET", "/journal", params=params)  # type: ignore[no-any-return]

    def export_journal(
        self, file: str | os.PathLike[str], path: str | None = None, method: str | None = None
    ) -> int:
        """Write the journal (optionally filtered) to ``file`` as JSON Lines, one request per line, secrets
        masked; returns the number of requests written. Read it back with :func:`read_journal`.

        :param file: where to write.
        :param path: keep requests whose path contains this.
        :param method: keep requests of this HTTP method.
        """
        entries = self.journal(path=path, method=method)
        with open(file, "w", encoding="utf-8") as out:
            for entry in entries:
                out.write(json.dumps(entry, sort_keys=True) + "\n")
        return len(entries)

    def snapshot(self) -> dict[str, Any]:
        """The whole emulated state as JSON: settings (not credentials), clock, faults, rate limit and
        every API's data. Not the journal."""
        return self._call("GET", "/snapshot")  # type: ignore[no-any-return]

    def save_snapshot(self, file: str | os.PathLike[str]) -> dict[str, Any]:
        """Write :meth:`snapshot` to ``file`` (a workspace to restore in tests) and return it."""
        snapshot = self.snapshot()
        with open(file, "w", encoding="utf-8") as out:
            json.dump(snapshot, out, indent=1, sort_keys=True)
        return snapshot

    def restore(self, snapshot: dict[str, Any] | str | os.PathLike[str], **settings: Any) -> None:
        """Replace the whole state with a snapshot (a dict, or a file written by :meth:`save_snapshot`),
        then apply ``settings``. The journal starts empty; the emulator keeps its credentials.

        :param snapshot: the snapshot or its file.
        :param settings: settings to change after restoring (e.g. ``progress_mode``).
        """
        if not isinstance(snapshot, dict):
            with open(snapshot, encoding="utf-8") as source:
                snapshot = json.load(source)
        self._call("POST", "/restore", json=snapshot)
        if settings:
            self.configure(**settings)

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")  # type: ignore[no-any-return]

    def seeds(self, attribute: str | None = None) -> dict[str, dict[str, Any]]:
        """Every stored seed: user key -> CA name -> {calculation_type, cutoff_date, seed, environment}."""
        result: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            params: dict[str, Any] = {"offset": offset, "limit": 5000}
            if attribute:
                params["attribute"] = attribute
            page = self._call("GET", "/seeds", params=params)
            for item in page["users"]:
                result[item["user"]] = item["seeds"]
            offset += 5000
            if offset >= page["total_users"]:
                return result

    def seeds_digest(self, attribute: str | None = None) -> dict[str, Any]:
        return self._call("GET", "/seeds/digest", params={"attribute": attribute} if attribute else None)  # type: ignore[no-any-return]

    def user_attributes(self) -> dict[str, Any]:
        return self._call("GET", "/user-attributes")  # type: ignore[no-any-return]

    def calculated_attributes(self) -> list[dict[str, Any]]:
        return self._call("GET", "/calculated-attributes")  # type: ignore[no-any-return]

    def configure_data_planning(self, **settings: Any) -> dict[str, Any]:
        """Data Planning knobs: ``requests_per_minute`` (default 3000), ``max_data_points_per_plan``."""
        return self._call("POST", "/data-planning/config", json=settings)  # type: ignore[no-any-return]

    def data_plans(self) -> list[dict[str, Any]]:
        """Every stored data plan with its versions and their documents."""
        return self._call("GET", "/data-planning/plans")  # type: ignore[no-any-return]

    # --- Adobe Experience Platform (``/_emulator/adobe``) ---------------------------------------------

    def adobe_configure(self, **settings: Any) -> dict[str, Any]:
        """Change the emulated IMS client, organisation, sandboxes or ``final_status`` (PROCESSED / FAILED)."""
        return self._call("POST", "/adobe/config", json=settings)  # type: ignore[no-any-return]

    def adobe_attributes(self) -> list[dict[str, Any]]:
        """Every stored computed attribute (all sandboxes), without counting a read."""
        return self._call("GET", "/adobe/attributes")  # type: ignore[no-any-return]

    def adobe_set_status(self, attribute_id: str, status: str) -> dict[str, Any]:
        """Force a computed attribute's status (e.g. FAILED), stopping its evaluation."""
        return self._call("POST", f"/adobe/attributes/{attribute_id}/status", json={"status": status})  # type: ignore[no-any-return]

    def adobe_stats(self) -> dict[str, Any]:
        return self._call("GET", "/adobe/stats")  # type: ignore[no-any-return]

    # --- Warehouse Sync -----------------------------------------------------------------------

    def plan_pipeline_runs(self, pipeline_id: str, **plan: Any) -> dict[str, Any]:
        """How the pipeline's next runs end: ``outcome`` (success / failed / stopped), ``errors``,
        ``successful_records``, ``failed_records``, ``retrying`` (pass through ``retrying``), ``hold``
        (stay running until :meth:`release_pipeline_run`) and ``answer_delay`` (seconds the trigger holds
        its answer after creating the run, until :meth:`release_trigger_answers`)."""
        return self._call("POST", f"/warehouse-sync/pipelines/{pipeline_id}/plan", json=plan)  # type: ignore[no-any-return]

    def release_pipeline_run(self, run_id: int, **plan: Any) -> dict[str, Any]:
        """Let a held run finish on its next read, optionally with another outcome."""
        return self._call("POST", f"/warehouse-sync/runs/{run_id}/release", json=plan)  # type: ignore[no-any-return]

    def hold_create_answers(self, kind: str, seconds: float = 60, times: int = 1) -> dict[str, Any]:
        """Hold the answer of the next ``times`` creates of ``kind`` (``Connection``, ``Data model``,
        ``Pipeline``) for ``seconds`` or until :meth:`release_trigger_answers`: the object is created
        first, so a client killed meanwhile never learns that it exists."""
        body = {"kind": kind, "seconds": seconds, "times": times}
        return self._call("POST", "/warehouse-sync/create-answers/hold", json=body)  # type: ignore[no-any-return]

    def release_trigger_answers(self) -> int:
        """Send the answers held by ``plan_pipeline_runs(..., answer_delay=...)`` and
        :meth:`hold_create_answers`; returns how many."""
        return int(self._call("POST", "/warehouse-sync/trigger-answers/release")["released"])

    def fault_warehouse_connection(self, connection_id: str, message: str) -> dict[str, Any]:
        """Fault a warehouse connection (its pipelines become ``faulted``) until it is replaced (PUT)."""
        return self._call(  # type: ignore[no-any-return]
            "POST", f"/warehouse-sync/connections/{connection_id}/fault", json={"message": message}
        )

    def fault_data_model(self, model_id: str, message: str) -> dict[str, Any]:
        """Make a data model ``invalid`` (its pipelines become ``faulted``) until it is replaced (PUT)."""
        return self._call(  # type: ignore[no-any-return]
            "POST", f"/warehouse-sync/data-models/{model_id}/fault", json={"message": message}
        )

    def pipeline_runs(self) -> list[dict[str, Any]]:
        """Every pipeline run, read without advancing it."""
        return self._call("GET", "/warehouse-sync/runs")  # type: ignore[no-any-return]

    def pipeline_triggers(self, pipeline_id: str | None = None) -> list[dict[str, Any]]:
        """The trigger requests received (from the journal), optionally for one pipeline."""
        entries = self.journal(path="/inputs/data-pipelines/trigger", method="POST")
        return [
            e
            for e in entries
            if pipeline_id is None or (e.get("body") or {}).get("pipeline_id") == pipeline_id
        ]
