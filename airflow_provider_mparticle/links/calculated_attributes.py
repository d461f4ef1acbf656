"""Extra link from a task to its calculated attribute in the mParticle UI."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

from airflow_provider_mparticle.links import emulator_console_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

# XCom keys the calculated-attribute operators and sensor push.
XCOM_URL_KEY = "mparticle_calculated_attribute_url"
XCOM_ID_KEY = "calculated_attribute_id"
XCOM_NAME_KEY = "calculated_attribute_name"

# The UI's address for a calculated attribute is not part of the documented API; override it with
# ``[mparticle] calculated_attribute_url_template`` (fields: workspace_id, ca_id, name).
DEFAULT_URL_TEMPLATE = (
    "https://app.mparticle.com/audiences/calculated-attributes/{ca_id}?workspaceId={workspace_id}"
)


def calculated_attribute_url(
    workspace_id: str, ca_id: int, name: str = "", api_url: str | None = None
) -> str:
    """The mParticle UI page of a calculated attribute, or its emulator console page.

    :param workspace_id: the workspace.
    :param ca_id: the calculated attribute's id.
    :param name: its name.
    :param api_url: the connection's Platform API override: when it is the emulator, the link opens the
        emulator's console.
    """
    console = emulator_console_url(api_url)
    if console is not None:
        return f"{console}/calculated-attributes/{int(ca_id)}"
    return _url_template().format(
        workspace_id=quote(str(workspace_id), safe=""), ca_id=int(ca_id), name=quote(name, safe="")
    )


class MParticleCalculatedAttributeLink(BaseOperatorLink):
    """Opens the calculated attribute the task worked on (its URL is pushed to XCom as soon as it is known)."""

    name = "mParticle calculated attribute"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=XCOM_URL_KEY) or ""


def url_needs_name(api_url: str | None = None) -> bool:
    """Whether the UI URL of a calculated attribute is made with its name (a template with ``{name}``).

    :param api_url: the connection's Platform API override (the emulator's console needs no name).
    """
    return emulator_console_url(api_url) is None and "{name" in _url_template()


def _url_template() -> str:
    from airflow.sdk import conf

    template: str = conf.get("mparticle", "calculated_attribute_url_template", fallback=DEFAULT_URL_TEMPLATE)
    return template


def publish_calculated_attribute(
    context: Context, workspace_id: str, ca_id: int, name: str | None, api_url: str | None = None
) -> str | None:
    """Push the calculated attribute's id, name and UI URL to XCom (the link reads the URL back).

    A task that knows only the id so far (a sensor deferring without a call) pushes the id, and the URL
    unless the URL template needs the name; it pushes them all again once it knows the name.

    :param context: the task's context.
    :param workspace_id: the workspace.
    :param ca_id: the calculated attribute's id.
    :param name: its name; None when not known yet.
    :param api_url: the connection's Platform API override (the emulator's console gets the link).
    :returns: the URL pushed, or None.
    """
    ti = context["ti"]
    url = None
    if name is not None or not url_needs_name(api_url):
        url = calculated_attribute_url(workspace_id, ca_id, name or "", api_url)
        ti.xcom_push(key=XCOM_URL_KEY, value=url)
    ti.xcom_push(key=XCOM_ID_KEY, value=int(ca_id))
    if name is not None:
        ti.xcom_push(key=XCOM_NAME_KEY, value=name)
    return url
