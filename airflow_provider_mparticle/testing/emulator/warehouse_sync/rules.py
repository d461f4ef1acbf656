"""The documented validations of Warehouse Sync create / update bodies, answered as mParticle's errors.

Each rule is from the v2 reference's parameter tables and error list
(https://docs.mparticle.com/developers/apis/warehouse-sync-api/reference/):

- connections: ``id`` in slug format, ``name``, ``state`` (new, active, inactive), ``service_provider``
  (Snowflake, BigQuery, Redshift, Databricks) and ``config``; the config fields the Snowflake and
  Databricks tables mark *Required*. The BigQuery and Redshift tables mark no field required, so none
  is enforced for them.
- data models: ``type: sql`` and a ``config.sql_query`` that is not empty (the reference: 400 when the
  query is invalid); ``state`` (new, active, inactive) when given.
- pipelines: the required fields, ``pipeline_type``, ``state``, ``environment``, the sync modes
  (``iterator_field`` / ``iterator_data_type`` when incremental), the schedules (``frequency`` and
  ``start`` for intervals, ``frequency`` one of hourly, daily, weekly, monthly), timestamps in the
  format ``2022-10-30T11:00:16Z``, ``delay`` as a number and a unit of ``s m h d w y``,
  ``field_transformation_id`` for event pipelines, ``partner_feed_id`` an integer; a data plan that does
  not exist or is given without a version is a 404, one whose version is not active a 400.

Where the reference disagrees with itself both forms are accepted: ``on_demand`` / ``on-demand``; the
table marks ``schedule.delay`` required but no example sends it (optional here); the table says field
transformations are not available for user data pipelines, but its own user-attribute pipelines carry a
``field_transformation_id`` (accepted here; the file parser of
:mod:`~airflow_provider_mparticle.client.warehouse_sync.documents` refuses it).

A running pipeline: the reference answers 400 when "the entity is in an unprocessable state" and the
trigger refuses a pipeline that is not idle. The emulator applies that to a running pipeline's update
(anything but its ``state``: pausing stays allowed, the reference's way to stop syncing) and delete;
the messages are the emulator's.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from airflow_provider_mparticle.testing.emulator.errors import EmulatorHTTPError, bad_request

# The config fields the reference marks Required, per warehouse (none are marked for BigQuery, Redshift).
REQUIRED_CONFIG = {
    "Snowflake": ("account_identifier", "region", "warehouse", "database", "user", "role", "password",
                  "storage_integration"),
    "BigQuery": (),
    "Redshift": (),
    "Databricks": ("provider", "schema"),
}  # fmt: skip
PROVIDERS = frozenset(REQUIRED_CONFIG)
STATES = ("new", "active", "inactive")
PIPELINE_STATES = ("new", "active", "paused")
FREQUENCIES = ("hourly", "daily", "weekly", "monthly")
DELAY = re.compile(r"^[0-9]+[smhdwy]$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _fail(errors: list[str]) -> None:
    if errors:
        raise bad_request(errors)


def check_connection(body: dict[str, Any]) -> None:
    """A connection's create / update body (the reference: the same parameters for both)."""
    errors = []
    if not body.get("name"):
        errors.append("Field 'name' is required.")
    if body.get("state") not in STATES:
        errors.append("Field 'state' must be one of new, active, inactive.")
    provider, config = body.get("service_provider"), body.get("config")
    if provider not in PROVIDERS:
        errors.append("Field 'service_provider' must be one of " + ", ".join(sorted(PROVIDERS)) + ".")
    if not isinstance(config, dict):
        errors.append("Field 'config' is required.")
    elif provider in PROVIDERS:
        missing = [name for name in REQUIRED_CONFIG[provider] if not config.get(name)]
        if missing:
            names = ", ".join(f"'config.{m}'" for m in missing)
            errors.append(f"{provider} connections require field(s) {names}.")
    _fail(errors)


def check_data_model(body: dict[str, Any]) -> None:
    """A data model's body; an empty or blank SQL query is refused."""
    errors = []
    if not body.get("name"):
        errors.append("Field 'name' is required.")
    if body.get("state") is not None and body["state"] not in STATES:
        errors.append("Field 'state' must be one of new, active, inactive.")
    if body.get("type") != "sql":
        errors.append("Field 'type' must be 'sql'.")
    config = body.get("config")
    sql = config.get("sql_query") if isinstance(config, dict) else None
    if not isinstance(sql, str) or not sql.strip():
        errors.append("Field 'config.sql_query' is required and must not be empty.")
    _fail(errors)


def _timestamps(section: str, values: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    errors = []
    for name in names:
        value = values.get(name)
        if value is None:
            continue
        valid = isinstance(value, str) and TIMESTAMP.match(value)
        if valid:
            try:
                dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                valid = False
        if not valid:
            errors.append(f"Field '{section}.{name}' must be a timestamp like 2022-10-30T11:00:16Z.")
    return errors


def _sync_mode(sync_mode: Any) -> list[str]:
    if not isinstance(sync_mode, dict) or sync_mode.get("type") not in ("incremental", "full"):
        return ["Field 'sync_mode.type' must be one of incremental, full."]
    errors = _timestamps("sync_mode", sync_mode, ("from", "until"))
    if sync_mode["type"] == "incremental" and not (
        sync_mode.get("iterator_field") and sync_mode.get("iterator_data_type")
    ):
        errors.append("Fields 'sync_mode.iterator_field' and 'sync_mode.iterator_data_type' are required.")
    return errors


def _schedule(schedule: Any) -> list[str]:
    kinds = ("interval", "once", "on_demand", "on-demand")
    if not isinstance(schedule, dict) or schedule.get("type") not in kinds:
        return ["Field 'schedule.type' must be one of interval, once, on_demand."]
    errors = _timestamps("schedule", schedule, ("start", "end"))
    if schedule["type"] == "interval" and not (schedule.get("frequency") and schedule.get("start")):
        errors.append("Fields 'schedule.frequency' and 'schedule.start' are required for intervals.")
    if schedule.get("frequency") is not None and schedule["frequency"] not in FREQUENCIES:
        errors.append("Field 'schedule.frequency' must be one of hourly, daily, weekly, monthly.")
    delay = schedule.get("delay")
    if delay is not None and not (isinstance(delay, str) and DELAY.match(delay)):
        errors.append("Field 'schedule.delay' must be a number followed by one of s, m, h, d, w, y.")
    return errors


def check_pipeline(body: dict[str, Any]) -> None:
    """A pipeline's fields (its connection, data model and data plan are checked by the backend)."""
    errors = []
    for name in ("name", "connection_id", "data_model_id"):
        if not body.get(name):
            errors.append(f"Field '{name}' is required.")
    if body.get("pipeline_type") not in ("user_attributes", "events"):
        errors.append("Field 'pipeline_type' must be one of user_attributes, events.")
    elif body["pipeline_type"] == "events" and not body.get("field_transformation_id"):
        errors.append("Field 'field_transformation_id' is required for event pipelines.")
    if body.get("state") not in PIPELINE_STATES:
        errors.append("Field 'state' must be one of new, active, paused.")
    if body.get("environment") not in ("development", "production"):
        errors.append("Field 'environment' must be one of development, production.")
    feed = body.get("partner_feed_id")
    if feed is not None and (isinstance(feed, bool) or not isinstance(feed, int)):
        errors.append("Field 'partner_feed_id' must be an integer.")
    errors += _sync_mode(body.get("sync_mode"))
    errors += _schedule(body.get("schedule"))
    _fail(errors)


def check_data_plan(body: dict[str, Any], plans: Any, workspace_id: str) -> None:
    """The pipeline's data plan: 404 when it does not exist or comes without a version, 400 when the
    version is not active.

    :param body: the pipeline.
    :param plans: the data planning backend's plans (plan id -> stored plan), or None.
    :param workspace_id: the workspace, for the messages.
    """
    plan_id, version = body.get("data_plan_id"), body.get("data_plan_version")
    if not plan_id:
        return
    if version in (None, ""):
        raise EmulatorHTTPError(404, f"Data plan {plan_id}: no data plan version was specified.")
    plan = (plans or {}).get(plan_id)
    if plan is None:
        raise EmulatorHTTPError(404, f"Data plan {plan_id} was not found in workspace {workspace_id}.")
    try:
        stored = plan.versions.get(int(version))
    except (TypeError, ValueError):
        stored = None
    if stored is None:
        raise EmulatorHTTPError(404, f"Version {version} of data plan {plan_id} was not found.")
    if stored.environment not in ("development", "production"):
        raise bad_request(f"Version {version} of data plan {plan_id} is not active.")


def running_change(pipeline_id: str, old: dict[str, Any], new: dict[str, Any] | None) -> None:
    """Refuse to change (``new``) or delete (None) a pipeline while a run is in flight; a change of its
    ``state`` alone (pause, resume) goes through."""
    if new is not None:
        strip = ("state", "errors")
        if {k: v for k, v in old.items() if k not in strip} == {
            k: v for k, v in new.items() if k not in strip
        }:
            return
    doing = "deleted" if new is None else "updated (other than its state)"
    raise bad_request(f"Pipeline {pipeline_id} is in progress and cannot be {doing} until its run ends.")
