"""Structure rules: layering, registration and cheap imports."""

from __future__ import annotations

import importlib
import json
import pathlib
import pkgutil
import subprocess
import sys

import airflow_provider_mparticle
from airflow_provider_mparticle.connection_fields import MPARTICLE_FIELDS
from airflow_provider_mparticle.get_provider_info import get_provider_info

HEAVY = (
    "requests",
    "httpx",
    "tenacity",
    "fastapi",
    "uvicorn",
    "airflow_provider_mparticle.client.core.transport",
)


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_client_package_imports_without_airflow():
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ImportError("airflow is blocked")
sys.meta_path.insert(0, Block())
import airflow_provider_mparticle.client as c
import airflow_provider_mparticle.client.calculated_attributes, airflow_provider_mparticle.client.seeding
print(sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow.")))
"""
    assert run_python(code).strip() == "[]"


def test_client_modules_never_import_airflow_in_source():
    package = importlib.import_module("airflow_provider_mparticle.client")
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        source = importlib.util.find_spec(info.name).origin
        text = pathlib.Path(source).read_text(encoding="utf-8")
        assert "import airflow\n" not in text
        assert "from airflow." not in text, info.name
        assert "from airflow " not in text, info.name


def airflow_modules():
    names = ["airflow_provider_mparticle.hooks.mparticle"]
    for sub in ("operators", "sensors", "triggers", "links"):
        package = importlib.import_module(f"airflow_provider_mparticle.{sub}")
        names += [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    return names


def test_airflow_facing_modules_import_no_http_stack_at_parse_time():
    # The scheduler imports DAG files (and so these modules) constantly: clients load on first use.
    modules = airflow_modules()
    code = f"""
import sys, json
import airflow.sdk
before = set(sys.modules)
for name in {modules!r}:
    __import__(name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""
    loaded = json.loads(run_python(code).strip().splitlines()[-1])
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY] == []


def test_provider_info_matches_airflow_schema_and_lists_every_public_class():
    import jsonschema

    schema_path = (
        importlib.util.find_spec("airflow").submodule_search_locations[0] + "/provider_info.schema.json"
    )
    info = get_provider_info()
    jsonschema.validate(info, json.loads(pathlib.Path(schema_path).read_text(encoding="utf-8")))
    listed = set()
    for key in ("operators", "sensors", "triggers", "hooks"):
        for entry in info.get(key, []):
            listed.update(entry["python-modules"])
    for name in airflow_modules():
        module = importlib.import_module(name)
        public = [c for c in vars(module).values() if isinstance(c, type) and c.__module__ == name]
        if public and ".links." not in name:
            assert name in listed, f"{name} is not listed in get_provider_info()"


def test_airflow_loads_the_provider_without_warnings():
    code = """
import logging, warnings
logging.basicConfig(level=logging.WARNING)
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    pm = ProvidersManager()
    assert "airflow-provider-mparticle" in pm.providers, sorted(pm.providers)
    hook = ProvidersManagerTaskRuntime().hooks["mparticle"]
    widgets = [k for k in pm.connection_form_widgets if k.startswith("extra__mparticle__")]
    behaviour = pm.field_behaviours["mparticle"]
print(hook.hook_class_name, hook.connection_type, len(widgets), behaviour["hidden_fields"])
for w in caught:
    if "mparticle" in str(w.message).lower():
        print("WARNING", w.message)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    fields = len(MPARTICLE_FIELDS)
    assert f"airflow_provider_mparticle.hooks.mparticle.MParticleHook mparticle {fields}" in result.stdout
    assert "WARNING" not in result.stdout
    assert [line for line in result.stderr.splitlines() if "mparticle" in line.lower()] == []


def test_version_is_consistent():
    assert get_provider_info()["versions"][0] == airflow_provider_mparticle.__version__


# --- the layout of client/ -------------------------------------------------------------------------

CLIENT_ROOT = pathlib.Path(airflow_provider_mparticle.__file__).parent / "client"
CLIENT_NAME = "airflow_provider_mparticle.client"
# The API packages of client/: nothing in the HTTP core may import one.
API_PACKAGES = ("seeding", "calculated_attributes", "warehouse_sync", "data_planning", "adobe")


def _module_name(path: pathlib.Path, root: pathlib.Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def import_graph(root: pathlib.Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports: every import statement counts, those under
    ``if TYPE_CHECKING:`` and inside functions too (a cycle hidden there is still a cycle of the design).
    """
    import ast

    modules = {_module_name(p, root, package): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    if sub in modules:
                        edges.add(sub)
                    elif node.module in modules:
                        edges.add(node.module)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_client_import_graph_has_no_cycles():
    graph = import_graph(CLIENT_ROOT, CLIENT_NAME)
    assert len(graph) > 30  # the walk found the package, not an empty folder
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_http_core_imports_no_api_package():
    graph = import_graph(CLIENT_ROOT, CLIENT_NAME)
    core = {m: e for m, e in graph.items() if m.startswith(f"{CLIENT_NAME}.core")}
    assert len(core) >= 8
    arrows = [
        (m, e)
        for m, edges in core.items()
        for e in edges
        if e.removeprefix(f"{CLIENT_NAME}.").split(".")[0] in API_PACKAGES
    ]
    assert arrows == []
    # The core imports nothing of client/ outside itself either (the facade and plans sit above it).
    assert [
        (m, e) for m, edges in core.items() for e in edges if not e.startswith(f"{CLIENT_NAME}.core")
    ] == []


def test_each_api_package_imports_no_other_api_package_but_shared_models():
    graph = import_graph(CLIENT_ROOT, CLIENT_NAME)
    allowed = {("seeding", "calculated_attributes.models")}  # seed shapes belong to calculated attributes
    arrows = []
    for module, edges in graph.items():
        own = module.removeprefix(f"{CLIENT_NAME}.").split(".")[0]
        if own not in API_PACKAGES:
            continue
        for edge in edges:
            rel = edge.removeprefix(f"{CLIENT_NAME}.")
            other = rel.split(".")[0]
            if other in API_PACKAGES and other != own and (own, rel) not in allowed:
                arrows.append((module, edge))
    assert arrows == []


def test_emulator_modules_stay_under_650_lines():
    root = pathlib.Path(airflow_provider_mparticle.__file__).parent / "testing"
    sizes = {
        p.relative_to(root).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in root.rglob("*.py")
    }
    assert len(sizes) > 15
    assert {name: n for name, n in sizes.items() if n > 650} == {}


def test_emulator_keeps_routes_apart_from_state_and_rules():
    root = pathlib.Path(airflow_provider_mparticle.__file__).parent / "testing" / "emulator"
    for api in ("seeding", "calculated_attributes", "warehouse_sync", "data_planning", "adobe"):
        routes = (root / api / "routes.py").read_text(encoding="utf-8")
        assert "def register(" in routes, api
        for other in (root / api).glob("*.py"):
            if other.name != "routes.py":
                assert "@app." not in other.read_text(encoding="utf-8"), other


def test_old_flat_module_paths_still_import_with_a_deprecation_warning():
    # A fresh interpreter: the warning is given once per process, on the first import of the old path.
    from airflow_provider_mparticle.client.moved import MOVED

    code = f"""
import importlib, json, warnings
out = {{}}
for old, targets in {dict(MOVED)!r}.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module("{CLIENT_NAME}." + old)
    new = [importlib.import_module("{CLIENT_NAME}." + t) for t in targets]
    names = sorted(n for m in new for n in vars(m) if not n.startswith("_") and (isinstance(getattr(m, n), type) or callable(getattr(m, n))))
    same = all(getattr(module, n) is next(getattr(m, n) for m in new if hasattr(m, n)) for n in names)
    out[old] = [[str(w.message) for w in caught if w.category is DeprecationWarning], same, len(names)]
print(json.dumps(out))
"""
    result = json.loads(run_python(code).strip().splitlines()[-1])
    assert set(result) == set(MOVED)
    for old, (warned, same, count) in result.items():
        assert len(warned) == 1, old
        assert f"client.{old} is deprecated" in warned[0], old
        assert MOVED[old][0] in warned[0], old
        assert same, old
        assert count > 0, old


def test_packages_that_replaced_a_module_export_its_names_without_a_warning():
    code = f"""
import warnings
warnings.simplefilter("error")
from {CLIENT_NAME}.core import SendPolicy, ApiRequest, encode_json
from {CLIENT_NAME}.seeding import SeedingApi
from {CLIENT_NAME}.warehouse_sync import PipelineRun, WarehouseSyncApi
from {CLIENT_NAME}.data_planning import DataPlanVersion, load_plan_document
from {CLIENT_NAME}.calculated_attributes import CalculatedAttributesApi
from {CLIENT_NAME}.core.flow import SendPolicy as S2
from {CLIENT_NAME}.core.messages import ApiRequest as A2
print(SendPolicy is S2 and ApiRequest is A2)
"""
    assert run_python(code).strip().splitlines()[-1] == "True"
