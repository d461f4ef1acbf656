"""The control plane under ``/_emulator``: reset, settings, faults, rate limit, clock, journal, state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_provider_mparticle.testing.emulator.errors import EmulatorHTTPError, read_json
from airflow_provider_mparticle.testing.emulator.state import CREDENTIAL_SETTINGS, FaultRule, RateLimiter

if TYPE_CHECKING:
    from fastapi import FastAPI

    from airflow_provider_mparticle.testing.emulator.state import EmulatorState

PREFIX = "/_emulator"


def _public_settings(state: EmulatorState) -> dict[str, Any]:
    return {k: v for k, v in vars(state.settings).items() if k not in CREDENTIAL_SETTINGS}


async def _json(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise EmulatorHTTPError(400, "Control requests take a JSON object.")
    return body


def register(app: FastAPI, state: EmulatorState) -> None:
    @app.get(PREFIX + "/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(PREFIX + "/reset")
    async def reset(request: Request) -> dict[str, Any]:
        state.reset(await _json(request))
        return {"settings": vars(state.settings)}

    @app.get(PREFIX + "/snapshot")
    async def snapshot() -> JSONResponse:
        """The whole emulated state (see :meth:`EmulatorState.snapshot`), to save and restore later."""
        return JSONResponse(state.snapshot())

    @app.post(PREFIX + "/restore")
    async def restore(request: Request) -> dict[str, Any]:
        """Replace the whole state with a snapshot; the journal starts empty, credentials stay."""
        state.restore(await read_json(request))
        return {"settings": _public_settings(state)}

    @app.get(PREFIX + "/config")
    async def get_config() -> dict[str, Any]:
        return dict(vars(state.settings))

    @app.post(PREFIX + "/config")
    async def set_config(request: Request) -> dict[str, Any]:
        state.settings.update(await _json(request))
        return dict(vars(state.settings))

    @app.post(PREFIX + "/faults")
    async def add_fault(request: Request) -> dict[str, Any]:
        body = await _json(request)
        try:
            rule = FaultRule(**body)
        except TypeError as error:
            raise EmulatorHTTPError(400, f"Invalid fault rule: {error}") from None
        state.faults.append(rule)
        return {"faults": len(state.faults)}

    @app.get(PREFIX + "/faults")
    async def list_faults() -> list[dict[str, Any]]:
        return [vars(rule) for rule in state.faults]

    @app.delete(PREFIX + "/faults")
    async def clear_faults() -> dict[str, int]:
        state.faults.clear()
        return {"faults": 0}

    @app.post(PREFIX + "/latency")
    async def latency(request: Request) -> dict[str, float]:
        state.latency_ms = float((await _json(request)).get("ms", 0))
        return {"ms": state.latency_ms}

    @app.post(PREFIX + "/rate-limit")
    async def rate_limit(request: Request) -> dict[str, Any]:
        body = await _json(request)
        per_second = body.get("per_second")
        acceleration = body.get("acceleration")
        state.rate_limiter = (
            RateLimiter(
                float(per_second),
                str(body.get("path", "")),
                acceleration=float(acceleration) if acceleration else None,
                percentage_header=bool(body.get("percentage_header", True)),
            )
            if per_second
            else None
        )
        return {"per_second": per_second, "acceleration": acceleration}

    @app.post(PREFIX + "/clock/advance")
    async def advance(request: Request) -> dict[str, float]:
        state.clock.advance(float((await _json(request)).get("seconds", 0)))
        return {"now": state.clock.now()}

    @app.post(PREFIX + "/tokens/expire")
    async def expire_tokens() -> dict[str, float]:
        # Tokens issued before now are refused with 401 from here on.
        state.tokens_not_before = state.clock.now() + 0.001
        return {"not_before": state.tokens_not_before}

    @app.get(PREFIX + "/journal")
    async def journal(
        path: str | None = None, method: str | None = None, since: int = 0, bodies: bool = True
    ) -> list[dict[str, Any]]:
        entries = []
        for entry in list(state.journal):
            if entry.seq <= since or (path and path not in entry.path):
                continue
            if method and entry.method != method.upper():
                continue
            item = entry.as_dict()
            if not bodies:
                item.pop("body")
            entries.append(item)
        return entries

    @app.get(PREFIX + "/stats")
    async def stats() -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for entry in list(state.journal):
            statuses[str(entry.status)] = statuses.get(str(entry.status), 0) + 1
        seeding = state.backends["seeding"]
        return {
            "requests": state.seq,
            "statuses": statuses,
            "accepted_seed_requests": seeding.accepted_requests,  # type: ignore[attr-defined]
            "accepted_seed_users": seeding.accepted_users,  # type: ignore[attr-defined]
            "oauth_tokens_issued": state.backends["oauth"].issued,  # type: ignore[attr-defined]
        }

    @app.get(PREFIX + "/seeds")
    async def seeds(attribute: str | None = None, offset: int = 0, limit: int = 1000) -> JSONResponse:
        backend = state.backends["seeding"]
        items: list[dict[str, Any]] = []
        for index, (key, per_user) in enumerate(backend.seeds.items()):  # type: ignore[attr-defined]
            if index < offset:
                continue
            if len(items) >= limit:
                break
            chosen = {n: e for n, e in per_user.items() if attribute is None or n == attribute}
            if chosen:
                items.append({"user": key, "seeds": chosen})
        return JSONResponse({"users": items, "total_users": len(backend.seeds)})  # type: ignore[attr-defined]

    @app.get(PREFIX + "/seeds/digest")
    async def digest(attribute: str | None = None) -> dict[str, Any]:
        return state.backends["seeding"].digest(attribute)  # type: ignore[attr-defined, no-any-return]

    @app.get(PREFIX + "/user-attributes")
    async def user_attributes() -> dict[str, Any]:
        return state.backends["seeding"].user_attributes  # type: ignore[attr-defined, no-any-return]

    @app.get(PREFIX + "/calculated-attributes")
    async def calculated_attributes() -> list[dict[str, Any]]:
        backend = state.backends["calculated_attributes"]
        return [ca.as_json() for ca in backend.items.values()]  # type: ignore[attr-defined]
