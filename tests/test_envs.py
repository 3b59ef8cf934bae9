"""Conda envs (envs/*.yaml): every rule has one, the pins agree with requirements.lock, and
each rule's env provides what its script imports.

Conda itself is not available here (no conda on PyPI, channels unreachable), so these checks
are static: the envs are solved for real only on a cluster login node
(``snakemake --workflow-profile profiles/slurm --conda-create-envs-only``, docs/cluster.md).

* Rules are read through Snakemake (tests/slurm/cluster_helpers.workflow_rules), not parsed.
* Pins: every pip dependency is ``name==version`` with the version of requirements.lock
  (``tensorflow[and-cuda]`` is the GPU build of the lock's ``tensorflow-cpu``); conda
  packages that are also in the lock agree with it; python matches pyproject's
  requires-python.
* Imports: the modules a rule's script imports, following ``dlrepro`` (module-level imports of
  every dlrepro module loaded, and the imports inside the dlrepro functions the script uses,
  following their calls; not those guarded by ``except ImportError``) must come from the stdlib, dlrepro, or a distribution pinned in the
  rule's env or required (transitively) by one.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from conftest import REPO, copy_workflow

sys.path.insert(0, str(Path(__file__).with_name("slurm")))
import cluster_helpers as ch  # noqa: E402

ENVS = REPO / "envs"
# the lock is made on a CPU-only machine: tensorflow-cpu there, tensorflow[and-cuda] in the env
ALIASES = {"tensorflow": "tensorflow-cpu"}
KINDS = {"data", "nlp", "train", "report"}
# rules that run no code of their own
NO_ENV = {"all"}
# imported only by Snakemake's script preamble (on sys.path from Snakemake itself)
PROVIDED = {"snakemake"}


def lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: not pinned with ==: {line}"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def env_files() -> list[Path]:
    return sorted(ENVS.glob("*.yaml"))


def parse_env(path: Path) -> tuple[dict[str, str], list[Requirement]]:
    """(conda packages {name: version}, pip requirements) of one env file."""
    spec = yaml.safe_load(path.read_text())
    conda, pip = {}, []
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            pip += [Requirement(r) for r in dep["pip"]]
        else:
            name, _, version = re.split(r"([=<>!~ ]+)", dep, maxsplit=1)[0], None, None
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(?:=\s*([^=\s]+))?", dep)
            assert match, f"{path.name}: unsupported conda spec {dep!r}"
            name, version = match.groups()
            conda[canonicalize_name(name)] = version
    return conda, pip


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return ch.workflow_rules(copy_workflow(tmp_path_factory.mktemp("envs") / "wf"))


def test_every_rule_has_an_env(rules):
    missing = [r["name"] for r in rules if r["name"] not in NO_ENV and not r["conda"]]
    assert not missing, f"rules without conda: {missing}"
    for r in rules:
        if r["conda"]:
            env = Path(r["conda"])
            assert env.parent.name == "envs" and env.exists(), (r["name"], r["conda"])


def test_one_env_per_kind_and_all_used(rules):
    names = {p.stem for p in env_files()}
    assert KINDS <= names, f"missing envs: {KINDS - names}"
    used = {Path(r["conda"]).stem for r in rules if r["conda"]}
    assert names <= used, f"env files no rule uses: {sorted(names - used)}"


def test_gpu_rules_use_the_tensorflow_env_and_only_they(rules):
    gpu = ch.gpu_rules(rules)
    for r in rules:
        if not r["conda"]:
            continue
        _, pip = parse_env(Path(r["conda"]))
        has_tf = any(canonicalize_name(q.name) == "tensorflow" for q in pip)
        if r["name"] in gpu:
            assert has_tf, f"{r['name']} (GPU rule) uses {Path(r['conda']).name} without tensorflow"
    for path in env_files():
        conda, pip = parse_env(path)
        names = {canonicalize_name(q.name) for q in pip} | set(conda)
        if path.stem != "train":
            assert not names & {"tensorflow", "tensorflow-cpu", "keras"}, (
                f"{path.name}: keep TensorFlow in train.yaml"
            )


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_pins_agree_with_requirements_lock(path):
    pins = lock()
    conda, pip = parse_env(path)
    spec = yaml.safe_load(path.read_text())
    assert "conda-forge" in spec["channels"], f"{path.name}: conda-forge channel expected"
    requires_python = SpecifierSet(
        tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    )
    assert conda.get("python"), f"{path.name}: python must be pinned"
    assert f"{conda['python']}.0" in requires_python, (
        f"{path.name}: python={conda['python']} vs {requires_python}"
    )
    for name, version in conda.items():
        if name in ("python", "pip"):
            continue
        assert version, f"{path.name}: conda package {name} is not pinned"
        if name in pins:
            assert version == pins[name], f"{path.name}: {name}={version}, requirements.lock has {pins[name]}"
    for req in pip:
        name = canonicalize_name(req.name)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{path.name}: {req} is not pinned with =="
        locked = ALIASES.get(name, name)
        assert locked in pins, f"{path.name}: {req.name} is not in requirements.lock"
        assert specs[0].version == pins[locked], (
            f"{path.name}: {req.name}=={specs[0].version}, requirements.lock has {locked}=={pins[locked]}"
        )


# ----------------------------------------------------------------------------- imports


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(k, ast.Name) and k.id in ("ImportError", "ModuleNotFoundError") for k in kinds)


LIB = REPO / "scripts" / "dlrepro"


def _dlrepro_path(module: str) -> Path | None:
    """File of a dlrepro module name ('dlrepro', 'dlrepro.io', ...)."""
    parts = module.split(".")[1:]
    for candidate in (LIB.joinpath(*parts).with_suffix(".py"), LIB.joinpath(*parts) / "__init__.py"):
        if (
            parts
            and candidate.exists()
            or not parts
            and candidate.name == "__init__.py"
            and candidate.exists()
        ):
            return candidate
    return None


class ModuleInfo:
    """Imports of one file: at module level, and per top-level function/class, with the
    names each of them uses (to follow calls into other functions and dlrepro modules)."""

    def __init__(self, path: Path):
        tree = ast.parse(path.read_text(), str(path))
        try:  # the dotted package the file belongs to (dlrepro, dlrepro.hyperspectral, ...)
            parts = path.parent.relative_to(LIB).parts
            self.package = ".".join(("dlrepro", *parts))
        except ValueError:
            self.package = None
        optional = set()  # guarded by `except ImportError`: optional extras (e.g. kaggle)
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
                for stmt in node.body:
                    optional |= {id(n) for n in ast.walk(stmt) if isinstance(n, ast.Import | ast.ImportFrom)}
        self.optional = optional
        self.aliases: dict[str, str] = {}  # local name -> dlrepro module
        self.from_names: dict[str, tuple[str, str]] = {}  # local name -> (dlrepro module, name)
        self.module_imports: set[str] = set()
        self.defs: dict[str, tuple[set[str], set[str]]] = {}  # name -> (imports, used names)
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.defs[stmt.name] = (self._imports(stmt), self._used(stmt))
            else:
                self.module_imports |= self._imports(stmt)
        self.all_imports = self._imports(tree)
        self.all_used = self._used(tree)

    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = (self.package or "").split(".")
        base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
        return ".".join(p for p in (*base, node.module or "") if p)

    def _imports(self, root) -> set[str]:
        names = set()
        for node in ast.walk(root):
            if id(node) in self.optional:
                continue
            if isinstance(node, ast.Import):
                for a in node.names:
                    names.add(a.name)
                    if a.name.startswith("dlrepro"):
                        self.aliases[a.asname or a.name] = a.name
            elif isinstance(node, ast.ImportFrom):
                module = self._absolute(node)
                names.add(module)
                for a in node.names:
                    if module.startswith("dlrepro") and _dlrepro_path(f"{module}.{a.name}"):
                        names.add(f"{module}.{a.name}")
                        self.aliases[a.asname or a.name] = f"{module}.{a.name}"
                    elif module.startswith("dlrepro"):
                        self.from_names[a.asname or a.name] = (module, a.name)
        return names

    @staticmethod
    def _used(root) -> set[str]:
        used = set()
        for node in ast.walk(root):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                used.add(f"{node.value.id}.{node.attr}")
        return used


@cache
def _info(path: Path) -> ModuleInfo:
    return ModuleInfo(path)


def script_modules(script: Path) -> set[str]:
    """Top-level third-party modules a script needs: its own imports, the module-level imports
    of every dlrepro module it loads, and the imports inside the dlrepro functions/classes it
    uses (following their calls within dlrepro)."""
    imports: set[str] = set()
    loaded: set[Path] = set()
    visited: set[tuple[Path, str]] = set()

    def load(module: str):
        path = _dlrepro_path(module)
        if path is None or path in loaded:
            return
        loaded.add(path)
        if path.name != "__init__.py" and module.count("."):
            load(module.rsplit(".", 1)[0])  # the package __init__ runs first
        info = _info(path)
        imports.update(info.module_imports)
        for name in info.module_imports:
            if name.startswith("dlrepro"):
                load(name)

    def follow(info: ModuleInfo, used: set[str], own: Path | None):
        for name in used:
            head, _, attr = name.partition(".")
            if attr and head in info.aliases:
                enter(info.aliases[head], attr)
            elif not attr and name in info.from_names:
                enter(*info.from_names[name])
            elif not attr and own is not None and name in info.defs:
                enter_path(own, name)

    def enter(module: str, name: str):
        load(module)
        path = _dlrepro_path(module)
        if path is not None:
            enter_path(path, name)

    def enter_path(path: Path, name: str):
        if (path, name) in visited:
            return
        visited.add((path, name))
        info = _info(path)
        if name not in info.defs:
            return
        body_imports, used = info.defs[name]
        imports.update(body_imports)
        for module in body_imports:
            if module.startswith("dlrepro"):
                load(module)
        follow(info, used, path)

    top = _info(script)
    imports.update(top.all_imports)
    for module in top.all_imports:
        if module.startswith("dlrepro"):
            load(module)
    follow(top, top.all_used, None)
    external = set()
    for name in imports:
        head = name.split(".")[0]
        if head and head != "dlrepro" and head not in sys.stdlib_module_names and head not in PROVIDED:
            external.add(head)
    return external


@cache
def _closure(dist: str) -> frozenset[str]:
    """A distribution and everything it requires (installed metadata, markers evaluated)."""
    out, todo = set(), [(dist, frozenset())]
    environment = default_environment()
    while todo:
        name, extras = todo.pop()
        name = canonicalize_name(ALIASES.get(canonicalize_name(name), name))
        if name in out:
            continue
        out.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker and not any(
                req.marker.evaluate({**environment, "extra": e}) for e in (extras or {""})
            ):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return frozenset(out)


def _module_distributions() -> dict[str, set[str]]:
    return {m: {canonicalize_name(d) for d in ds} for m, ds in metadata.packages_distributions().items()}


def test_each_rule_env_provides_its_scripts_imports(rules):
    module_dists = _module_distributions()
    problems = []
    for r in rules:
        if not r["script"] or not r["conda"]:
            continue
        _, pip = parse_env(Path(r["conda"]))
        conda, _ = parse_env(Path(r["conda"]))
        available = set(conda)
        for req in pip:
            available |= _closure(req.name)
        for module in sorted(script_modules(Path(r["script"]))):
            dists = module_dists.get(module)
            assert dists, f"{r['name']}: cannot tell which distribution provides {module!r}"
            if not dists & available:
                problems.append(f"{r['name']} ({Path(r['conda']).name}): {module} from {sorted(dists)}")
    assert not problems, "envs miss packages their rules import:\n" + "\n".join(problems)
