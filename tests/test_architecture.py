"""The claims the design makes about its own shape, kept true by tests (docs/design.md):
only orchestrator/aws.py talks to boto3, the planner is pure, and the CLI without its sandbox
extra says what to install instead of failing with a traceback."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("environment", "generator", "orchestrator")
AWS_MODULE = Path("orchestrator/aws.py")
# Modules that reach outside the process: the planner and the model must load none of them.
IO_MODULES = {"boto3", "botocore", "socket", "ssl", "http", "urllib.request", "subprocess",
              "tomllib", "troposphere", "jinja2", "getpass", "shutil"}
PURE = ("stackswap.orchestrator.plan", "stackswap.orchestrator.model",
        "stackswap.orchestrator.verify")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_only_the_aws_module_imports_boto3_or_botocore():
    offenders = []
    for package in PRODUCT:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO)
            aws_libraries = {name for name in imported_modules(path)
                             if name.split(".")[0] in {"boto3", "botocore"}}
            if aws_libraries and relative != AWS_MODULE:
                offenders.append(f"{relative}: {', '.join(sorted(aws_libraries))}")
    assert offenders == []
    assert imported_modules(REPO / AWS_MODULE) & {"boto3", "botocore.exceptions"}


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    found = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                           text=True, check=True)
    return set(found.stdout.split())


@pytest.mark.parametrize("module", PURE)
def test_the_planner_and_the_model_load_nothing_that_does_io(module):
    loaded = loaded_after_import(module)
    assert not {name for name in loaded if name in IO_MODULES
                or name.split(".")[0] in IO_MODULES - {"http"}}, module
    ours = {name for name in loaded if name.split(".")[0] == "stackswap"}
    assert ours <= {"stackswap", "stackswap.environment", "stackswap.environment.errors",
                    "stackswap.environment.names", "stackswap.orchestrator",
                    "stackswap.orchestrator.model", "stackswap.orchestrator.plan",
                    "stackswap.orchestrator.verify"}


def test_status_swap_and_rollback_start_without_troposphere():
    assert not {name for name in loaded_after_import("stackswap.orchestrator.cli")
                if name.split(".")[0] == "troposphere"}


def test_the_sandbox_without_its_extra_names_what_to_install(tmp_path):
    # A `pip install stackswap` without [sandbox] has no moto: a module named moto that cannot
    # be found is what that install looks like to the CLI.
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nsys.modules['moto'] = None\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    done = subprocess.run([sys.executable, "-m", "stackswap.orchestrator", "sandbox", "up"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "stackswap: the sandbox needs moto: pip install 'stackswap[sandbox]' (or `make venv` "
        "in a clone)"]


def make_dry_run(*words: str) -> str:
    """The last command `make -n` would run, as a user's shell runs make (not nested in the
    `make test` that may be running this)."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    planned = subprocess.run(["make", "--no-print-directory", "-n", *words], cwd=REPO, env=env,
                             capture_output=True, text=True, check=True).stdout
    return planned.strip().splitlines()[-1]


@pytest.mark.parametrize("target", ["deploy", "swap", "rollback", "status", "recover",
                                    "update-alb"])
def test_every_make_target_that_talks_to_aws_passes_config_on(target):
    command = make_dry_run(target, "CONFIG=prod.toml", "IMAGE=app:v2")
    assert f"stackswap {target} --config 'prod.toml'" in command


def test_render_reads_config():
    assert make_dry_run("render", "CONFIG=prod.toml").endswith(
        "stackswap render --config 'prod.toml'")


# --- the import graph (docs/design.md, "The map") -------------------------------------------

PACKAGES = {"environment": "stackswap.environment", "generator": "stackswap.generator",
            "orchestrator": "stackswap.orchestrator", "sandbox": "stackswap.sandbox"}


def module_name(path: Path) -> str:
    relative = path.relative_to(REPO).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["stackswap", *parts])


def product_modules() -> dict[str, Path]:
    return {module_name(path): path for folder in PACKAGES for path in
            sorted((REPO / folder).rglob("*.py"))}


def runtime_imports(path: Path, known: set[str]) -> set[str]:
    """The project's modules `path` imports when it runs (imports under `if TYPE_CHECKING:`
    are for the type checker only), functions' lazy imports included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and ast.unparse(block.test) == "TYPE_CHECKING"
                   for node in ast.walk(block)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from package import module` imports that module; `from module import name`
            # the module, for its name.
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name for name in submodules if name in known]
            if len(names) < len(submodules):
                names.append(node.module)
        else:
            continue
        found |= {name for name in names if name in known}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    return {name: runtime_imports(path, set(modules)) - {name}
            for name, path in modules.items()}


def test_the_ground_floor_imports_no_other_package_of_the_project():
    graph = import_graph()
    upward = {module: sorted(target for target in targets
                             if not target.startswith("stackswap.environment"))
              for module, targets in graph.items()
              if module.startswith("stackswap.environment")}
    assert {module: targets for module, targets in upward.items() if targets} == {}


# --- who prints (docs/design.md: nothing outside `output/` prints) --------------------------------

OUTPUT = "stackswap.orchestrator.output"
STREAMS = {"sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"}
PRINTERS = {"print", "traceback.print_exc", "traceback.print_exception", "traceback.print_stack"}


def printing_calls(path: Path) -> list[str]:
    """The calls in `path` that print: print(), a write to sys.stdout or sys.stderr (or to
    their buffer), a traceback printed. (A server's `logging` into its log file is no print.)"""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        callee = ast.unparse(node.func)
        stream, _, method = callee.rpartition(".")
        if callee in PRINTERS or (method in {"write", "writelines"}
                                  and stream.removesuffix(".buffer") in STREAMS):
            found.append((node.lineno, f"{path.relative_to(REPO)}:{node.lineno}: {callee}"))
    return [call for _, call in sorted(found)]


def in_output(module: str) -> bool:
    return module == OUTPUT or module.startswith(OUTPUT + ".")


def test_nothing_outside_output_prints():
    modules = product_modules()
    assert [call for name, path in modules.items() if not in_output(name)
            for call in printing_calls(path)] == []
    # and the rule sees prints where they are: the event log prints
    assert printing_calls(modules[f"{OUTPUT}.log"])


# The Aws verbs that read: only the observing module calls them (docs/design.md).
AWS_READS = {"account_id", "caller_arn", "describe_stack", "stack_policy", "template_body",
             "describe_change_set", "stack_events_since", "listener_forwards", "rule_forwards",
             "target_states", "describe_service", "describe_task_definition", "scalable_target",
             "target_group", "load_balancer", "subnet_vpcs", "image_exists", "alarms",
             "read_parameter"}
OBSERVING = Path("orchestrator/observe.py")


def test_setup_cfg_installs_every_package_folder_under_the_stackswap_name():
    import configparser

    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    listed = set(setup["options"]["packages"].split())
    folders = {module_name(path.parent) for folder in PACKAGES
               for path in (REPO / folder).rglob("__init__.py")}
    assert listed == folders
    mapped = dict(line.split(" = ") for line in setup["options"]["package_dir"].split("\n")
                  if line)
    assert mapped == {name: folder for folder, name in PACKAGES.items()}


def test_setup_cfg_ships_the_report_templates():
    # run_report.py reads them from its own folder: an install without them cannot write a report.
    import configparser

    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    folder = REPO / "orchestrator" / "output"
    patterns = setup["options.package_data"]["stackswap.orchestrator.output"].split()
    shipped = {path for pattern in patterns for path in folder.glob(pattern)}
    templates = set((folder / "templates").iterdir())
    assert templates and shipped == templates


def test_every_error_of_the_family_has_a_documented_exit_code():
    import re

    from stackswap.environment import errors

    family = {value for value in vars(errors).values() if isinstance(value, type)
              and issubclass(value, errors.StackswapError)}
    assert {error.exit_code for error in family} == set(errors.EXIT_CODES)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    documented = {int(code) for code in re.findall(r"^\| (\d+)(?: / \d+)* \|", table, re.M)}
    assert documented == {0, *errors.EXIT_CODES, 130}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each as the modules on it, from one module back to it."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(path: list[str]) -> None:
        for target in sorted(graph.get(path[-1], ())):
            if target == path[0] and frozenset(path) not in seen:
                seen.add(frozenset(path))
                found.append([*path, target])
            elif target not in path and target > path[0]:
                walk([*path, target])

    for start in sorted(graph):
        walk([start])
    return found


def test_no_module_imports_its_way_back_to_itself():
    assert circles(import_graph()) == []


# The packages from the ground up: each imports only those before it. One edge goes up, by
# design: `stackswap sandbox` is a command of the one CLI, which loads the sandbox (an extra)
# only when that command is asked for.
LAYERS = ("environment", "generator", "orchestrator", "sandbox")
UPWARD_BY_DESIGN = {("stackswap.orchestrator.cli", "stackswap.sandbox.cli")}


def test_each_package_imports_only_the_ones_below_it():
    def layer(module: str) -> int:
        return LAYERS.index(module.split(".")[1])

    upward = {(module, target) for module, targets in import_graph().items()
              for target in targets if layer(target) > layer(module)}
    assert upward == UPWARD_BY_DESIGN


def aws_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted({node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and isinstance(node.func, ast.Attribute) and node.func.attr in AWS_READS})


def test_every_aws_read_is_in_the_observing_module():
    offenders = {}
    for path in sorted((REPO / "orchestrator").rglob("*.py")):
        relative = path.relative_to(REPO)
        if relative not in {OBSERVING, AWS_MODULE} and aws_reads(path):
            offenders[str(relative)] = aws_reads(path)
    assert offenders == {}
    assert aws_reads(REPO / OBSERVING)
