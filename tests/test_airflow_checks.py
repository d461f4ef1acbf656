"""The checks Airflow runs on the providers it ships, applied to this one.

Each test follows one of Airflow's own checks (named in its docstring), written for an installed provider
that can be imported rather than for Airflow's repository layout:

- ``scripts/ci/prek/check_deferrable_default.py``
- ``scripts/ci/prek/validate_operators_init.py``
- ``scripts/ci/prek/check_conn_id_templated.py``
- ``scripts/in_container/run_provider_yaml_files_check.py``
- ``airflow-core/tests/unit/always/test_project_structure.py`` (example coverage, naming)
- the example DAG checks of ``airflow-core/tests/unit/always/test_example_dags.py``
- ruff's ``S101`` (no ``assert`` in package code) from Airflow's rule set
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pathlib
import pkgutil
import re
import subprocess
import sys
import textwrap

import pytest
from airflow.sdk import BaseHook, BaseOperator, BaseSensorOperator
from airflow.triggers.base import BaseTrigger

import airflow_provider_mparticle
from airflow_provider_mparticle.get_provider_info import get_provider_info

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = pathlib.Path(airflow_provider_mparticle.__file__).parent
EXAMPLES = ROOT / "example_dags"
EXPECTED_DEFERRABLE_DEFAULT = "conf.getboolean('operators', 'default_deferrable', fallback=False)"
# Airflow 2 paths that Airflow 3 warns about (or removed): the Task SDK has the replacements.
AIRFLOW_2_MODULES = (
    "airflow.models.baseoperator",
    "airflow.models.dag",
    "airflow.models.connection",
    "airflow.models.variable",
    "airflow.hooks.base",
    "airflow.sensors.base",
    "airflow.utils.context",
    "airflow.decorators",
    "airflow.configuration",
    "airflow.datasets",
)


def listed_modules(*kinds: str) -> list[str]:
    info = get_provider_info()
    return [m for kind in kinds for entry in info.get(kind, []) for m in entry["python-modules"]]


def package_classes(kinds: tuple[str, ...], base: type) -> list[type]:
    """Classes defined in the modules listed under ``kinds`` that subclass ``base``."""
    found = []
    for name in listed_modules(*kinds):
        module = importlib.import_module(name)
        found += [
            c
            for c in vars(module).values()
            if isinstance(c, type) and c.__module__ == name and issubclass(c, base)
        ]
    return found


def is_public(cls: type) -> bool:
    return (
        not cls.__name__.startswith("_")
        and not cls.__module__.endswith(".base")
        and not inspect.isabstract(cls)
    )


OPERATORS_AND_SENSORS = package_classes(("operators", "sensors"), BaseOperator)
PUBLIC_OPERATORS_AND_SENSORS = [c for c in OPERATORS_AND_SENSORS if is_public(c)]


def own_classes(cls: type) -> list[type]:
    """``cls`` and its ancestors defined in this package (whose ``__init__`` the checks read)."""
    return [c for c in cls.__mro__ if c.__module__.startswith(airflow_provider_mparticle.__name__)]


def init_node(cls: type) -> ast.FunctionDef | None:
    init = vars(cls).get("__init__")
    if init is None:
        return None
    tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    node = tree.body[0]
    return node if isinstance(node, ast.FunctionDef) else None


def arguments(node: ast.FunctionDef) -> list[ast.arg]:
    args = node.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]


def python_files(*roots: pathlib.Path) -> list[pathlib.Path]:
    return [p for root in roots for p in sorted(root.rglob("*.py"))]


def run_python(code: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *options, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )


# --- check_deferrable_default.py ------------------------------------------------------------------


def test_deferrable_defaults_to_the_config_in_the_signature():
    """Every ``deferrable`` argument of an operator or sensor ``__init__`` defaults to the config, literally."""
    wrong = []
    for path in python_files(PACKAGE / "operators", PACKAGE / "sensors"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.FunctionDef) and node.name == "__init__"):
                continue
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            defaults = dict(zip(reversed(positional), reversed(args.defaults), strict=False))
            defaults |= dict(zip(args.kwonlyargs, args.kw_defaults, strict=True))
            for arg in positional + args.kwonlyargs:
                if arg.arg == "deferrable":
                    default = defaults.get(arg)
                    if default is None or ast.unparse(default) != EXPECTED_DEFERRABLE_DEFAULT:
                        wrong.append(f"{path.relative_to(ROOT)}:{arg.lineno}")
    assert wrong == []


def test_deferrable_default_follows_the_config():
    # A fresh interpreter: the default is read from the config when the modules are imported.
    classes = [f"{c.__module__}:{c.__qualname__}" for c in OPERATORS_AND_SENSORS]
    code = f"""
import importlib, inspect
for ref in {classes!r}:
    module, name = ref.split(":")
    for owner in getattr(importlib.import_module(module), name).__mro__:
        parameter = inspect.signature(owner.__init__).parameters.get("deferrable")
        if parameter is not None:
            print("deferrable-default", name, parameter.default)
            break
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**__import__("os").environ, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"},
    )
    assert result.returncode == 0, result.stderr
    # Only the lines the code printed: Airflow may print to stdout too (a first run in a new Airflow home).
    lines = [
        line.split()[1:] for line in result.stdout.splitlines() if line.startswith("deferrable-default ")
    ]
    defaults = dict(lines)
    assert "MParticleTriggerPipelineOperator" in defaults
    assert "MParticleCalculationSensor" in defaults
    assert set(defaults.values()) == {"True"}


# --- validate_operators_init.py -------------------------------------------------------------------


def _sanctioned_reads(init: ast.FunctionDef, fields: set[str]) -> set[int]:
    """Reads of a template-field argument that pass it on untouched, or only ask whether it was given.

    ``self.f = f`` (also ``f or <default>``), ``super().__init__(f=f)`` and ``f is None`` /
    ``f is not None``: template fields render after ``__init__``, so anything else there would act on the
    raw Jinja string.
    """
    sanctioned: set[int] = set()

    def mark(value: ast.expr | None, field: str) -> None:
        if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
            value = value.values[0]
        if isinstance(value, ast.Name) and value.id == field:
            sanctioned.add(id(value))

    for node in ast.walk(init):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in fields:
                    mark(node.value, target.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"
        ):
            for keyword in node.keywords:
                if keyword.arg in fields:
                    mark(keyword.value, keyword.arg)
        elif (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Is | ast.IsNot)
            and isinstance(node.comparators[0], ast.Constant)
            and node.comparators[0].value is None
        ):
            sanctioned.add(id(node.left))
    return sanctioned


@pytest.mark.parametrize("cls", OPERATORS_AND_SENSORS, ids=lambda c: c.__name__)
def test_no_logic_on_template_fields_in_init(cls):
    """Template fields are stored as given in ``__init__`` and used only once rendered, in ``execute``."""
    fields = set(cls.template_fields)
    misuses = []
    for owner in own_classes(cls):
        init = init_node(owner)
        if init is None:
            continue
        given = {a.arg for a in arguments(init)} & fields
        sanctioned = _sanctioned_reads(init, given)
        for node in ast.walk(init):
            read = (isinstance(node, ast.Name) and node.id in given and isinstance(node.ctx, ast.Load)) or (
                isinstance(node, ast.Attribute)
                and node.attr in fields
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and isinstance(node.ctx, ast.Load)
            )
            if read and id(node) not in sanctioned:
                misuses.append(f"{owner.__name__}.__init__ line {node.lineno}: {ast.unparse(node)}")
    assert misuses == []


@pytest.mark.parametrize("cls", OPERATORS_AND_SENSORS, ids=lambda c: c.__name__)
def test_template_fields_are_set_in_init_from_their_argument(cls):
    """Each template field is an ``__init__`` argument stored under its own name (``self.f = f``)."""
    stored: set[str] = set()
    for owner in own_classes(cls):
        init = init_node(owner)
        if init is None:
            continue
        for node in ast.walk(init):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
                    value = value.values[0]
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(value, ast.Name)
                        and target.attr == value.id
                    ):
                        stored.add(target.attr)
    assert set(cls.template_fields) - stored == set()


# --- check_conn_id_templated.py -------------------------------------------------------------------


@pytest.mark.parametrize("cls", OPERATORS_AND_SENSORS, ids=lambda c: c.__name__)
def test_every_conn_id_argument_is_templated(cls):
    """A user can pass ``..._conn_id="{{ params.conn }}"``: every connection argument is a template field."""
    conn_ids = {
        a.arg
        for owner in own_classes(cls)
        if (init := init_node(owner)) is not None
        for a in arguments(init)
        if a.arg.endswith("conn_id")
    }
    assert conn_ids - set(cls.template_fields) == set()


# --- run_provider_yaml_files_check.py -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hooks", "operators", "sensors", "triggers"])
def test_every_module_is_listed_in_the_provider_info(kind):
    package = importlib.import_module(f"{airflow_provider_mparticle.__name__}.{kind}")
    on_disk = {f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)}
    assert on_disk == set(listed_modules(kind))


def test_listed_modules_name_declared_integrations_once():
    info = get_provider_info()
    declared = [i["integration-name"] for i in info["integrations"]]
    assert len(declared) == len(set(declared))
    for kind in ("hooks", "operators", "sensors", "triggers"):
        entries = info.get(kind, [])
        assert {e["integration-name"] for e in entries} <= set(declared), kind
        modules = [m for e in entries for m in e["python-modules"]]
        assert len(modules) == len(set(modules)), kind


def test_listed_modules_import_without_deprecation_warnings():
    # Airflow imports every listed module with warnings on and fails on a deprecation.
    modules = listed_modules("hooks", "operators", "sensors", "triggers")
    result = run_python(f"for name in {modules!r}: __import__(name)", "-W", "error::DeprecationWarning")
    assert result.returncode == 0, result.stderr[-3000:]


def test_listed_classes_exist():
    info = get_provider_info()
    refs = [t["hook-class-name"] for t in info["connection-types"]] + list(info["extra-links"])
    for ref in refs:
        module, _, name = ref.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), name), type), ref


# --- test_project_structure.py: naming and example coverage ---------------------------------------


@pytest.mark.parametrize(
    ("kinds", "base", "suffix"),
    [
        (("operators",), BaseOperator, "Operator"),
        (("sensors",), BaseSensorOperator, "Sensor"),
        (("triggers",), BaseTrigger, "Trigger"),
        (("hooks",), BaseHook, "Hook"),
    ],
)
def test_class_names_end_with_their_kind(kinds, base, suffix):
    classes = package_classes(kinds, base)
    assert classes
    assert [c.__name__ for c in classes if not c.__name__.endswith(suffix)] == []


def example_files() -> list[pathlib.Path]:
    return sorted(EXAMPLES.glob("example_*.py"))


def test_example_dag_files_are_named_as_airflow_names_them():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == [p.name for p in example_files()]


def imports_of(path: pathlib.Path) -> set[str]:
    """``module.name`` of every name a file imports, as upstream's ``get_imports_from_file`` collects them."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


# The directories and class-name suffixes upstream's ProjectStructureTest reads (it has no triggers; they
# are checked here too, as covered by an example that runs the operator or sensor that defers to them).
CLASS_DIRS = {"operators": ("Operator",), "sensors": ("Sensor",), "triggers": ("Trigger",)}


def defined_classes(kind: str) -> dict[str, ast.ClassDef]:
    """``module.Class`` of every class under ``kind/`` whose name ends with the kind's suffix (by AST)."""
    found = {}
    for path in sorted((PACKAGE / kind).glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = f"{PACKAGE.name}.{kind}.{path.stem}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith(CLASS_DIRS[kind]):
                found[f"{module}.{node.name}"] = node
    return found


def is_base_name(qualified: str) -> bool:
    """Upstream lists abstract bases in BASE_CLASSES and skips them; here their names say so."""
    name = qualified.rpartition(".")[2]
    return name.startswith("_") or "Base" in name


def test_upstream_example_coverage_finds_no_class_without_an_example():
    """``ExampleCoverageTest.test_missing_examples``: every class under operators/ and sensors/ is
    imported, by its full ``module.Class`` path, by an ``example_*.py`` file, unless it is a base."""
    classes = {name for kind in ("operators", "sensors") for name in defined_classes(kind)}
    assert len(classes) >= 10, "found no operators or sensors: the directories moved?"
    for path in example_files():
        classes -= imports_of(path)
    assert sorted(name for name in classes if not is_base_name(name)) == []


def test_every_trigger_is_run_by_an_example():
    imported = set().union(*(imports_of(path) for path in example_files()))
    triggers = {name.rpartition(".")[2] for name in defined_classes("triggers") if not is_base_name(name)}
    assert len(triggers) >= 3
    for kind in ("operators", "sensors"):
        for name, node in defined_classes(kind).items():
            if name in imported:
                triggers -= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    assert sorted(triggers) == []


def test_classes_that_others_extend_are_named_as_bases():
    for kind in CLASS_DIRS:
        classes = defined_classes(kind)
        extended = {
            base.id if isinstance(base, ast.Name) else base.value.id
            for node in classes.values()
            for base in node.bases
            if isinstance(base, ast.Name)
            or (isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name))
        }
        bases = [name for name in classes if name.rpartition(".")[2] in extended]
        assert bases, kind
        assert [name for name in bases if not is_base_name(name)] == []


def test_examples_import_every_class_from_the_module_that_defines_it():
    for path in example_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE.name):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    value = getattr(module, alias.name)
                    if isinstance(value, type):
                        assert value.__module__ == node.module, f"{path.name}: {alias.name}"


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        ("hooks.base", "ApiClientHook", "BaseApiClientHook"),
        ("sensors.base", "ApiClientSensor", "BaseApiClientSensor"),
        ("triggers.base", "ApiPollingTrigger", "BaseApiPollingTrigger"),
        ("triggers.base", "MParticlePollingTrigger", "MParticleBasePollingTrigger"),
    ],
)
def test_renamed_bases_still_import_under_their_old_names_with_a_warning(module, old, new):
    from airflow.exceptions import AirflowProviderDeprecationWarning

    module = importlib.import_module(f"{PACKAGE.name}.{module}")
    with pytest.warns(AirflowProviderDeprecationWarning, match=f"{old} is deprecated: use .*{new}"):
        value = getattr(module, old)
    assert value is getattr(module, new)
    with pytest.raises(AttributeError, match="NoSuchSensor"):
        _ = module.NoSuchSensor


def test_readme_markers_name_example_snippets():
    markers: dict[str, list[str]] = {}
    for path in example_files():
        text = path.read_text(encoding="utf-8")
        for kind, name in re.findall(r"# \[(START|END) (\w+)\]", text):
            markers.setdefault(name, []).append(kind)
    assert {name: kinds for name, kinds in markers.items() if kinds != ["START", "END"]} == {}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = set(re.findall(r"`(howto_\w+)`", readme))
    assert quoted
    assert quoted - set(markers) == set()
    files = set(re.findall(r"example_dags/[\w/.]+\.\w+", readme))
    assert files
    assert {f for f in files if not (ROOT / f).is_file()} == set()


# --- test_example_dags.py -------------------------------------------------------------------------


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example_dag_imports_without_warnings(path):
    result = run_python(f"import runpy; runpy.run_path({str(path)!r})", "-W", "error")
    assert result.returncode == 0, result.stderr[-3000:]


def test_example_dags_load_in_a_dagbag_without_io_at_parse_time():
    # Parsing must not open a socket nor look a connection up: the DAG processor parses files constantly.
    code = f"""
import json, socket
from airflow.sdk import BaseHook

def refuse(*args, **kwargs):
    raise RuntimeError("I/O at parse time")

socket.socket.connect = refuse
BaseHook.get_connection = classmethod(refuse)
from airflow.dag_processing.dagbag import DagBag
bag = DagBag({str(EXAMPLES)!r})
print(json.dumps({{
    "errors": {{k: str(v)[-500:] for k, v in bag.import_errors.items()}},
    "dags": {{d: [sorted(bag.dags[d].tags), bag.dags[d].fileloc] for d in bag.dags}},
}}))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    assert sorted(loaded["dags"]) == sorted(p.stem for p in example_files())
    for dag_id, (tags, fileloc) in loaded["dags"].items():
        assert "example" in tags, dag_id
        assert pathlib.Path(fileloc).stem == dag_id


# --- imports and asserts -------------------------------------------------------------------------


def imports(path: pathlib.Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_no_airflow_2_import_paths():
    import airflow.sdk.exceptions

    old = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files(PACKAGE, EXAMPLES)
        for name in imports(path)
        if name in AIRFLOW_2_MODULES
    ]
    # airflow.exceptions keeps what only Airflow core has (AirflowProviderDeprecationWarning); what the
    # Task SDK has comes from the Task SDK.
    old += [
        f"{path.relative_to(ROOT)}: airflow.exceptions.{alias.name}"
        for path in python_files(PACKAGE, EXAMPLES)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "airflow.exceptions"
        for alias in node.names
        if hasattr(airflow.sdk.exceptions, alias.name)
    ]
    assert old == []


def test_no_bare_assert_in_package_code():
    """``python -O`` drops asserts: package code raises explicit errors (ruff ``S101``)."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in python_files(PACKAGE)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_operators_and_sensors_do_not_import_each_other():
    """What an operator and a sensor share lives below both (client models, hooks), as in dbt Cloud's."""
    crossing = []
    for kind, other in (("operators", "sensors"), ("sensors", "operators")):
        prefix = f"{airflow_provider_mparticle.__name__}.{other}"
        for path in python_files(PACKAGE / kind):
            crossing += [
                f"{kind}/{path.name}: {n}" for n in imports(path) if n == prefix or n.startswith(prefix + ".")
            ]
    assert crossing == []


def test_triggers_are_imported_for_their_triggers_only():
    """Triggers hold no helpers for operators and sensors: those import trigger classes from them, nothing else."""
    prefix = f"{airflow_provider_mparticle.__name__}.triggers"
    borrowed = [
        f"{path.relative_to(ROOT)}: {alias.name}"
        for path in python_files(PACKAGE / "operators", PACKAGE / "sensors")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(prefix)
        for alias in node.names
        if not alias.name.endswith("Trigger")
    ]
    assert borrowed == []
