"""The emulator's console: plain server-rendered HTML pages under ``/_emulator/ui``.

What a DAG did to the emulated workspace, without reading JSON: calculated attributes, seeds, pipelines
and runs, data plans, the request journal and the injected faults. No JavaScript and nothing fetched
from the network (a Content-Security-Policy forbids both); every value is escaped; credentials are never
shown (the journal is already redacted, connection secrets come masked, credential settings are left
out). Reading a page never advances a calculation or a run: it reads state, it is not an API read.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse

from airflow_provider_mparticle.testing.emulator.errors import not_found
from airflow_provider_mparticle.testing.emulator.state import CREDENTIAL_SETTINGS, iso

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from fastapi import FastAPI

    from airflow_provider_mparticle.testing.emulator.calculated_attributes.models import StoredCA
    from airflow_provider_mparticle.testing.emulator.state import EmulatorState

UI = "/_emulator/ui"
PAGES = [
    ("", "Overview"),
    ("/calculated-attributes", "Calculated attributes"),
    ("/seeds", "Seeds"),
    ("/pipelines", "Pipelines"),
    ("/data-plans", "Data plans"),
    ("/journal", "Journal"),
    ("/faults", "Faults & limits"),
]
SAMPLE_SIZE = 10
JOURNAL_LIMIT = 200
BODY_PREVIEW = 4000
HEADERS = {
    # Nothing but the inline stylesheet may load or run, whatever a value slips through.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
header{background:#1d232b;color:#fff;padding:10px 24px}header b{margin-right:24px}
nav a{color:#c9d3df;margin-right:16px;text-decoration:none}nav a.on{color:#fff;font-weight:600}
main{padding:16px 24px;max-width:1200px}h1{font-size:22px;margin:8px 0 16px}h2{font-size:17px;margin:24px 0 8px}
table{border-collapse:collapse;background:#fff;margin:4px 0 12px;width:100%}
th,td{border:1px solid #dde2e8;padding:5px 8px;text-align:left;vertical-align:top}th{background:#eef1f5}
pre{background:#fff;border:1px solid #dde2e8;padding:8px;overflow:auto;max-height:420px;margin:4px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#e3e7ee}
.ok{background:#d5f2dc}.bad{background:#f8d7d7}.wait{background:#fdf0c9}.muted{color:#6b7683}
.bar{background:#e3e7ee;width:160px;height:10px;display:inline-block;border-radius:5px;overflow:hidden}
.bar i{display:block;height:10px;background:#3b82f6}form input,form select{margin-right:8px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #dde2e8;padding:10px 16px;min-width:150px}
.card b{font-size:22px;display:block}
"""


class Safe(str):
    """HTML built here from escaped parts: inserted as is."""


def esc(value: Any) -> Safe:
    if isinstance(value, Safe):
        return value
    return Safe(html.escape("" if value is None else str(value), quote=True))


def link(href: str, text: Any) -> Safe:
    return Safe(f'<a href="{esc(href)}">{esc(text)}</a>')


def badge(text: Any, kind: str = "") -> Safe:
    return Safe(f'<span class="badge {esc(kind)}">{esc(text)}</span>')


def status_badge(status: Any) -> Safe:
    kinds = {"success": "ok", "active": "ok", "idle": "ok", "valid": "ok", "healthy": "ok", "PROCESSED": "ok"}
    kinds |= dict.fromkeys(("failed", "faulted", "stopped", "invalid", "FAILED"), "bad")
    kinds |= dict.fromkeys(
        ("queued", "running", "retrying", "draft", "calculating", "NEW", "PROCESSING"), "wait"
    )
    return badge(status, kinds.get(str(status), ""))


def progress_bar(percent: float) -> Safe:
    width = max(0, min(100, round(percent)))
    return Safe(f'<span class="bar"><i style="width:{width}%"></i></span> {width}%')


def pre(value: Any, limit: int = 0) -> Safe:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)
    if limit and len(text) > limit:
        text = text[:limit] + f"\n... ({len(text) - limit} more characters)"
    return Safe(f"<pre>{esc(text)}</pre>")


def details(summary: Any, content: Safe) -> Safe:
    return Safe(f"<details><summary>{esc(summary)}</summary>{content}</details>")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str = "Nothing yet.") -> Safe:
    body = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return Safe(f'<p class="muted">{esc(empty)}</p>')
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return Safe(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def page(title: str, active: str, *parts: Safe) -> HTMLResponse:
    nav = "".join(
        f'<a href="{esc(UI + path)}"{" class=on" if path == active else ""}>{esc(name)}</a>'
        for path, name in PAGES
    )
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)} - mParticle emulator</title><style>{STYLE}</style></head><body>"
        f"<header><b>mParticle emulator</b><nav>{nav}</nav></header>"
        f"<main><h1>{esc(title)}</h1>{''.join(parts)}</main></body></html>"
    )
    return HTMLResponse(document, headers=HEADERS)


def when(ts: float | None) -> str:
    return iso(ts).replace("T", " ") if ts else ""


# --- what each page shows ---------------------------------------------------------------------------


class Console:
    """Reads the emulator's state for the pages (never as an API read: nothing advances)."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    @property
    def cas(self) -> Any:
        return self.state.backends["calculated_attributes"]

    @property
    def seeding(self) -> Any:
        return self.state.backends["seeding"]

    @property
    def warehouse(self) -> Any:
        return self.state.backends["warehouse_sync"]

    @property
    def planning(self) -> Any:
        return self.state.backends["data_planning"]

    def seed_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for per_user in self.seeding.seeds.values():
            for name in per_user:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def seed_sample(self, attribute: str, size: int = SAMPLE_SIZE) -> list[tuple[str, dict[str, Any]]]:
        sample = []
        for user, per_user in self.seeding.seeds.items():
            if attribute in per_user:
                sample.append((user, per_user[attribute]))
                if len(sample) >= size:
                    break
        return sample

    def ca_state(self, ca: StoredCA) -> tuple[str, float | None]:
        """('draft' | 'active' | 'active, draft pending', calculation percent or None)."""
        if ca.active_definition is None:
            return "draft", None
        percent = 100 * ca.calculation.fraction(self.state.clock.now()) if ca.calculation else 0.0
        return ("active, draft pending" if ca.draft_definition else "active"), percent

    # --- pages ---------------------------------------------------------------------------------------

    def overview(self) -> HTMLResponse:
        stats = [
            ("Calculated attributes", len(self.cas.items), "/calculated-attributes"),
            ("Seeded users", len(self.seeding.seeds), "/seeds"),
            ("Pipelines", len(self.warehouse.pipelines), "/pipelines"),
            ("Pipeline runs", len(self.warehouse.runs), "/pipelines"),
            ("Data plans", len(self.planning.plans), "/data-plans"),
            ("Requests journalled", len(self.state.journal), "/journal"),
            ("Injected faults", len(self.state.faults), "/faults"),
        ]
        cards = "".join(
            f'<div class="card"><b>{esc(value)}</b>{link(UI + path, name)}</div>'
            for name, value, path in stats
        )
        adobe = self.state.backends.get("adobe_computed_attributes")
        rows = [
            (sandbox, ca.name, status_badge(ca.status), ca.last_evaluation_ts)
            for sandbox, store in (getattr(adobe, "sandboxes", None) or {}).items()
            for ca in store.values()
        ]
        settings = self.state.settings
        about = table(
            ["Setting", "Value"],
            [
                ("Workspace", settings.workspace_id),
                ("Propagation delay (s)", settings.propagation_seconds),
                ("Progress", f"{settings.progress_mode}, {settings.progress_steps:g} steps"),
                ("Clock", when(self.state.clock.now())),
            ],
        )
        parts = [Safe(f'<div class="cards">{cards}</div>'), Safe("<h2>Emulator</h2>"), about]
        if rows:
            parts += [
                Safe("<h2>Adobe computed attributes</h2>"),
                table(["Sandbox", "Name", "Status", "Last evaluation"], rows),
            ]
        return page("Overview", "", *parts)

    def calculated_attributes(self) -> HTMLResponse:
        counts = self.seed_counts()
        rows = []
        for ca in self.cas.items.values():
            state, percent = self.ca_state(ca)
            definition = ca.draft_definition or ca.active_definition or {}
            rows.append(
                (
                    ca.id,
                    link(f"{UI}/calculated-attributes/{ca.id}", ca.name),
                    status_badge(state.split(",")[0]),
                    definition.get("calculation_type", ""),
                    progress_bar(percent)
                    if percent is not None
                    else Safe('<span class="muted">not active</span>'),
                    link(f"{UI}/seeds?{urlencode({'attribute': ca.name})}", counts.get(ca.name, 0)),
                    when(ca.last_modified_on),
                )
            )
        headers = ["Id", "Name", "State", "Calculation type", "Calculation", "Seeded users", "Last modified"]
        return page("Calculated attributes", "/calculated-attributes", table(headers, rows))

    def calculated_attribute(self, ca_id: int) -> HTMLResponse:
        ca = self.cas.items.get(ca_id)
        if ca is None:
            raise not_found(f"Calculated attribute {ca_id} does not exist.")
        state, percent = self.ca_state(ca)
        seeded = self.seed_counts().get(ca.name, 0)
        facts = table(
            ["", ""],
            [
                ("Id", ca.id),
                ("State", status_badge(state)),
                ("Description", ca.description or ""),
                ("Calculation", progress_bar(percent) if percent is not None else "not active"),
                ("Revision", ca.revision_id),
                ("Created", when(ca.created_on)),
                ("Activated", when(ca.activated_on)),
                ("Seeded users", link(f"{UI}/seeds?{urlencode({'attribute': ca.name})}", seeded)),
            ],
        )
        parts = [facts]
        for label, definition in (
            ("Draft definition", ca.draft_definition),
            ("Active definition", ca.active_definition),
        ):
            parts += [
                Safe(f"<h2>{esc(label)}</h2>"),
                pre(definition) if definition else Safe('<p class="muted">None.</p>'),
            ]
        return page(f"Calculated attribute {ca.name}", "/calculated-attributes", *parts)

    def seeds(self, attribute: str | None) -> HTMLResponse:
        counts = self.seed_counts()
        names = [attribute] if attribute else sorted(counts)
        parts = [
            table(
                ["Attribute", "Seeded users"],
                [
                    (link(f"{UI}/seeds?{urlencode({'attribute': n})}", n), c)
                    for n, c in sorted(counts.items())
                ],
                empty="No seeds stored.",
            )
        ]
        for name in names:
            sample = self.seed_sample(name)
            parts.append(Safe(f"<h2>{esc(name)}: sample of {len(sample)} of {counts.get(name, 0)}</h2>"))
            rows = [
                (
                    user,
                    json.dumps(entry.get("seed"), sort_keys=True),
                    entry.get("calculation_type"),
                    entry.get("cutoff_date"),
                    entry.get("environment"),
                )
                for user, entry in sample
            ]
            parts.append(
                table(["User", "Seed", "Calculation type", "Cutoff date", "Environment"], rows, "No seeds.")
            )
        return page("Seeds" + (f": {attribute}" if attribute else ""), "/seeds", *parts)

    def pipelines(self) -> HTMLResponse:
        backend = self.warehouse
        now = self.state.clock.now()
        parts: list[Safe] = []
        for pipeline_id, item in backend.pipelines.items():
            backend.settle(item)
            body = item.body
            errors = backend.pipeline_errors(item)
            parts.append(Safe(f'<h2 id="{esc(pipeline_id)}">{esc(body.get("name") or pipeline_id)}</h2>'))
            parts.append(
                table(
                    ["Id", "Status", "Type", "Connection", "Data model", "Schedule", "Errors"],
                    [
                        (
                            pipeline_id,
                            status_badge(backend.pipeline_status(item)),
                            body.get("pipeline_type"),
                            body.get("connection_id"),
                            body.get("data_model_id"),
                            (body.get("schedule") or {}).get("type"),
                            "; ".join(errors),
                        )
                    ],
                )
            )
            runs = [
                r.as_json(now, read=False)
                for r in sorted(backend.runs.values(), key=lambda r: r.id)
                if r.pipeline_id == pipeline_id
            ]
            parts.append(
                table(
                    [
                        "Run",
                        "Status",
                        "Type",
                        "Logical date",
                        "Ended",
                        "Successful records",
                        "Failed records",
                        "Errors",
                    ],
                    [
                        (
                            run["id"],
                            status_badge(run["status"]),
                            run["type"],
                            run["logical_date"],
                            run["ended_on"] or "",
                            run["successful_records"],
                            run["failed_records"],
                            "; ".join(e["message"] for e in run["errors"]),
                        )
                        for run in runs
                    ],
                    empty="No runs yet.",
                )
            )
        connections = [
            (
                c["id"],
                c["name"],
                c["service_provider"],
                status_badge(c["status"]),
                json.dumps(c["config"], sort_keys=True),
            )
            for c in (backend.connection_json(item) for item in backend.connections.values())
        ]
        models = [
            (m["id"], m["name"], status_badge(m["status"]), (m.get("config") or {}).get("sql_query", ""))
            for m in (backend.data_model_json(item) for item in backend.data_models.values())
        ]
        if not parts:
            parts.append(Safe('<p class="muted">No pipelines.</p>'))
        parts += [
            Safe("<h2>Connections</h2>"),
            table(["Id", "Name", "Provider", "Status", "Config (secrets masked)"], connections),
            Safe("<h2>Data models</h2>"),
            table(["Id", "Name", "Status", "SQL"], models),
        ]
        return page("Pipelines", "/pipelines", *parts)

    def data_plans(self) -> HTMLResponse:
        parts: list[Safe] = []
        for plan in self.planning.plans.values():
            parts.append(Safe(f"<h2>{esc(plan.name)} <span class=muted>({esc(plan.plan_id)})</span></h2>"))
            if plan.description:
                parts.append(Safe(f"<p>{esc(plan.description)}</p>"))
            rows = []
            for number in sorted(plan.versions):
                version = plan.versions[number]
                points = version.document.get("data_points") or []
                rows.append(
                    (
                        number,
                        status_badge(version.environment),
                        version.description or "",
                        len(points),
                        when(version.last_modified_on or version.created_on),
                        details(f"{len(points)} data points", pre(version.document, BODY_PREVIEW * 4)),
                    )
                )
            parts.append(
                table(
                    ["Version", "Environment", "Description", "Data points", "Modified", "Document"],
                    rows,
                    "No versions.",
                )
            )
        return page("Data plans", "/data-plans", *(parts or [Safe('<p class="muted">No data plans.</p>')]))

    def journal(self, path: str, method: str, status: str, limit: int) -> HTMLResponse:
        entries = [
            e
            for e in reversed(self.state.journal)
            if (not path or path in e.path)
            and (not method or e.method == method.upper())
            and (not status or str(e.status) == status)
        ]
        shown = entries[: max(1, limit)]
        methods = ["", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
        options = "".join(
            f'<option value="{esc(m)}"{" selected" if m == method.upper() else ""}>{esc(m or "any method")}</option>'
            for m in methods
        )
        form = Safe(
            f'<form method="get" action="{esc(UI)}/journal">'
            f'<input name="path" placeholder="path contains" value="{esc(path)}">'
            f'<select name="method">{options}</select>'
            f'<input name="status" placeholder="status" size="5" value="{esc(status)}">'
            '<button type="submit">Filter</button></form>'
        )
        rows = [
            (
                e.seq,
                when(e.time),
                e.method,
                e.path + (f"?{e.query}" if e.query else ""),
                status_badge(e.status) if e.status < 400 else badge(e.status, "bad"),
                details("body", pre(e.body, BODY_PREVIEW)) if e.body is not None else "",
            )
            for e in shown
        ]
        summary = Safe(
            f'<p class="muted">{len(shown)} of {len(entries)} matching requests, newest first.</p>'
        )
        table_html = table(
            ["#", "Time", "Method", "Path", "Status", "Body (secrets masked)"], rows, "No requests."
        )
        return page("Journal", "/journal", form, summary, table_html)

    def faults(self) -> HTMLResponse:
        faults = [
            (
                f.path or "(any)",
                f.method or "(any)",
                f.status or "",
                f.retry_after or "",
                "yes" if f.drop else "",
                f.latency_ms or "",
                "unlimited" if f.times is None else f.times,
                f.probability,
                f.hits,
            )
            for f in self.state.faults
        ]
        limiter = self.state.rate_limiter
        limits = [
            (
                "Rate limit",
                f"{limiter.rate:g} per second"
                + (f" on paths matching {limiter.path}" if limiter.path else "")
                if limiter
                else "none",
            ),
            ("Added latency", f"{self.state.latency_ms:g} ms"),
            ("Data Planning limit", f"{self.planning.config.requests_per_minute} requests per minute"),
            ("Active calculated attributes limit", self.state.settings.active_ca_limit),
            ("Clock offset", f"{self.state.clock.offset:g} s"),
            ("Tokens revoked before", when(self.state.tokens_not_before) or "none"),
        ]
        settings = [(k, v) for k, v in vars(self.state.settings).items() if k not in CREDENTIAL_SETTINGS]
        return page(
            "Faults & limits",
            "/faults",
            Safe("<h2>Injected faults</h2>"),
            table(
                [
                    "Path",
                    "Method",
                    "Status",
                    "Retry-After",
                    "Drop",
                    "Latency (ms)",
                    "Times",
                    "Probability",
                    "Hits",
                ],
                faults,
                "No faults injected.",
            ),
            Safe("<h2>Limits</h2>"),
            table(["", ""], limits),
            Safe("<h2>Settings</h2>"),
            table(["Setting", "Value"], settings),
        )


def register(app: FastAPI, state: EmulatorState) -> None:
    console = Console(state)

    @app.get(UI, response_class=HTMLResponse, include_in_schema=False)
    @app.get(UI + "/", response_class=HTMLResponse, include_in_schema=False)
    async def overview() -> HTMLResponse:
        return console.overview()

    @app.get(UI + "/calculated-attributes", response_class=HTMLResponse, include_in_schema=False)
    async def calculated_attributes() -> HTMLResponse:
        return console.calculated_attributes()

    @app.get(UI + "/calculated-attributes/{ca_id}", response_class=HTMLResponse, include_in_schema=False)
    async def calculated_attribute(ca_id: int) -> HTMLResponse:
        return console.calculated_attribute(ca_id)

    @app.get(UI + "/seeds", response_class=HTMLResponse, include_in_schema=False)
    async def seeds(attribute: str | None = None) -> HTMLResponse:
        return console.seeds(attribute or None)

    @app.get(UI + "/pipelines", response_class=HTMLResponse, include_in_schema=False)
    async def pipelines() -> HTMLResponse:
        return console.pipelines()

    @app.get(UI + "/data-plans", response_class=HTMLResponse, include_in_schema=False)
    async def data_plans() -> HTMLResponse:
        return console.data_plans()

    @app.get(UI + "/journal", response_class=HTMLResponse, include_in_schema=False)
    async def journal(
        path: str = "", method: str = "", status: str = "", limit: int = JOURNAL_LIMIT
    ) -> HTMLResponse:
        return console.journal(path, method, status, limit)

    @app.get(UI + "/faults", response_class=HTMLResponse, include_in_schema=False)
    async def faults() -> HTMLResponse:
        return console.faults()
