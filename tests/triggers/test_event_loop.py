"""A trigger holds the triggerer's event loop only briefly: nothing it needs is imported on the loop.

The first wait of a process imports the async client stack (about 0.2 s): in a worker thread, so that
the other waits of the triggerer keep running. Checked in a fresh interpreter set up as a triggerer sets
itself up (the trigger's module imported, secrets backends loaded), recording every import made on the
loop's thread while the trigger runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from airflow_provider_mparticle.client.adobe import AdobeClient, ComputedAttributeStatus
from tests.adobe_helpers import definition
from tests.conftest import VALID_DEFINITION

TRIGGERER = """
import asyncio, importlib, json, sys, threading, time

from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

module, name, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
trigger_class = getattr(importlib.import_module(module), name)
ensure_secrets_backend_loaded()
on_loop, running = [], False


class RecordImports:
    def find_spec(self, fullname, path=None, target=None):
        if running and threading.current_thread() is threading.main_thread():
            on_loop.append(fullname)
        return None


sys.meta_path.insert(0, RecordImports())


async def main():
    global running
    running = True
    trigger = trigger_class(deadline=time.time() + 30, poll_interval=0.05, **kwargs)
    events = [event.payload async for event in trigger.run()]
    running = False
    return events


print(json.dumps({"events": asyncio.run(main()), "imported_on_loop": on_loop}))
"""


def run_in_triggerer(classpath: str, **kwargs: object) -> dict:
    module, _, name = classpath.rpartition(".")
    done = subprocess.run(
        [sys.executable, "-c", TRIGGERER, module, name, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("service", ["mparticle", "adobe"])
def test_a_trigger_imports_nothing_on_the_event_loop(
    service, mparticle_conn_id, adobe_aep_conn_id, mparticle_emulator, client, adobe_aep_settings
):
    mparticle_emulator.control.configure(progress_steps=2)
    if service == "mparticle":
        ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
        client.calculated_attributes.activate(ca_id)
        result = run_in_triggerer(
            "airflow_provider_mparticle.triggers.calculated_attributes.MParticleCalculationTrigger",
            ca_id=ca_id,
            mparticle_conn_id=mparticle_conn_id,
        )
    else:
        with AdobeClient(adobe_aep_settings) as adobe:
            attribute_id = adobe.computed_attributes.create(definition(), ComputedAttributeStatus.NEW).id
        result = run_in_triggerer(
            "airflow_provider_mparticle.triggers.adobe.AdobeComputedAttributeTrigger",
            attribute_id=attribute_id,
            adobe_aep_conn_id=adobe_aep_conn_id,
        )
    assert [event["status"] for event in result["events"]] == ["success"]
    assert result["imported_on_loop"] == []
