"""dvc.yaml cannot drift from the code: every stage declares every repository module it imports and every
params key it reads.

For each stage: its script (from its ``cmd``), then every module of this repository the script reaches by
``import`` (found statically with ``ast``, imports inside functions included, packages' ``__init__`` files
included when they hold code) must be a dep or lie under a folder dep. The params a stage reads are found by
running the script's ``main`` up to its last read of params.yaml (``load`` / ``read_yaml`` recorded: the fields
of the section's model it builds,
the last call stops the script before any work; as many reads as the reached code has call sites, so a stage
reads its params up front, as the project's rule "a wrong value stops a stage before any work" asks) and
must be declared under ``params``. Every path on the
command line must be a dep or an out (or contain or lie under one).
"""
from __future__ import annotations

import ast
import copy
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

ALL = "*"  # a whole section (or, as the section name, the whole file) is read or declared


def load_pipeline(path: Path = REPO / "dvc.yaml") -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def resolve_templates(value: str, params: dict) -> str:
    """``${rag.docs_dir}`` → its value in params.yaml, as DVC does."""
    def lookup(match):
        node = params
        for part in match.group(1).split("."):
            node = node[part]
        return str(node)

    return re.sub(r"\$\{([^}]+)\}", lookup, value)


def stage_script(cmd: str) -> Path:
    words = shlex.split(cmd)
    return REPO / next(w for w in words if w.endswith(".py"))


def cmd_paths(cmd: str) -> list[str]:
    """The values of the command's ``--option value`` pairs that name files or folders."""
    words = shlex.split(cmd)
    return [value for flag, value in zip(words, words[1:])
            if flag.startswith("--") and not value.startswith("--") and ("/" in value or (REPO / value).exists())]


# ---- code: the import closure ----------------------------------------------------------------------------

def module_file(name: str) -> Path | None:
    """The repository file that defines module ``name`` (``a.b`` → a/b.py or a/b/__init__.py), if any."""
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(path: Path) -> set[str]:
    """Every module name ``path`` imports, at any depth (``from a import b`` gives ``a`` and ``a.b``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def has_code(init: Path) -> bool:
    """Whether a package ``__init__`` does more than hold a docstring (then importing it can change behaviour)."""
    body = ast.parse(init.read_text(encoding="utf-8")).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


def import_closure(script: Path) -> set[Path]:
    """The script and every repository file that importing it executes."""
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__, a/b/c
                found = module_file(".".join(parts[:depth]))
                if found is not None:
                    todo.append(found)
    return {p for p in seen if p.name != "__init__.py" or has_code(p)}


def covered(path: str, declared: list[str]) -> bool:
    """``path`` is declared, or lies under a declared folder."""
    path = path.rstrip("/")
    return any(path == d or path.startswith(d + "/") for d in (d.rstrip("/") for d in declared))


def touches(path: str, declared: list[str]) -> bool:
    """``path`` is declared, lies under a declared folder, or holds something declared."""
    path = path.rstrip("/")
    return covered(path, declared) or any(d.startswith(path + "/") for d in declared)


def entries(items: list) -> list[str]:
    """dvc.yaml ``deps``/``outs``/``metrics``/``plots`` as paths (entries may be ``{path: options}``)."""
    return [next(iter(item)) if isinstance(item, dict) else item for item in items or []]


def declared_deps(stage: dict, params: dict) -> list[str]:
    return [resolve_templates(d, params) for d in entries(stage.get("deps"))]


def declared_outputs(stage: dict) -> list[str]:
    return [p for key in ("outs", "metrics", "plots") for p in entries(stage.get(key))]


def missing_code(stage: dict, params: dict) -> list[str]:
    deps = declared_deps(stage, params)
    closure = import_closure(stage_script(stage["cmd"]))
    return sorted(str(p.relative_to(REPO)) for p in closure if not covered(str(p.relative_to(REPO)), deps))


def undeclared_cmd_paths(stage: dict, params: dict) -> list[str]:
    declared = declared_deps(stage, params) + declared_outputs(stage)
    return [p for p in cmd_paths(resolve_templates(stage["cmd"], params)) if not touches(p, declared)]


# ---- params: what the stage reads -------------------------------------------------------------------------

class ParamsRead(BaseException):  # not an Exception: nothing in a stage may catch it
    """Raised at a stage's last read of params.yaml, so that nothing after it runs."""


def params_call_sites(paths: set[Path]) -> int:
    """How many calls to dllab.params' ``load``/``read_yaml`` the code holds (outside dllab.params)."""
    count = 0
    for path in paths:
        if path == REPO / "dllab" / "params.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local = {alias.asname or alias.name for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module == "dllab.params"
                 for alias in node.names if alias.name in ("load", "read_yaml")}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in local:
                count += 1
    return count


def params_read(stage: dict, monkeypatch) -> dict[str, set[str]]:
    """Run the stage's script up to its last params read; ``{section: fields}`` (``{ALL: {ALL}}`` for the file).

    A section's fields are those its model is built with: the ``only`` keys, or every field of the model."""
    import dllab.params

    closure = import_closure(stage_script(stage["cmd"]))
    calls_left = params_call_sites(closure)
    reads: dict[str, set[str]] = {}
    real_load, real_read = dllab.params.load, dllab.params.read_yaml

    def count_call():
        nonlocal calls_left
        calls_left -= 1
        if calls_left == 0:
            raise ParamsRead

    inside_load = False  # load reads the file through read_yaml: one read, not two

    def load(path, model, only=None):
        nonlocal inside_load
        reads.setdefault(model.section, set()).update(only if only is not None else model.model_fields)
        inside_load = True
        try:
            values = real_load(path, model, only=only)
        finally:
            inside_load = False
        count_call()
        return values

    def read_yaml(path):
        if inside_load:
            return real_read(path)
        reads.setdefault(ALL, set()).add(ALL)
        values = real_read(path)
        count_call()
        return values

    if calls_left == 0:
        return reads
    fakes = (("load", load, real_load), ("read_yaml", read_yaml, real_read))
    for module in list(sys.modules.values()):  # names bound by `from dllab.params import ...`
        for name, fake, real in fakes:
            if getattr(module, name, None) is real:
                monkeypatch.setattr(module, name, fake)
    words = shlex.split(stage["cmd"])
    script_at = next(i for i, w in enumerate(words) if w.endswith(".py"))
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "argv", words[script_at:])
    try:
        with pytest.raises(ParamsRead):
            runpy.run_path(str(REPO / words[script_at]), run_name="__main__")
    finally:  # modules first imported during the run bound the fakes: give them the real functions back
        for module in list(sys.modules.values()):
            for name, fake, real in fakes:
                if getattr(module, name, None) is fake:
                    setattr(module, name, real)
    return reads


def declared_params(stage: dict) -> dict[str, set[str]]:
    declared: dict[str, set[str]] = {}
    for item in stage.get("params") or []:
        if isinstance(item, dict):  # {file: [keys]} or {file: None} (the whole file)
            for keys in item.values():
                for key in keys or [ALL]:
                    section, _, rest = key.partition(".")
                    declared.setdefault(section, set()).add(rest or ALL)
        else:
            section, _, rest = item.partition(".")
            declared.setdefault(section, set()).add(rest or ALL)
    return declared


def missing_params(read: dict[str, set[str]], declared: dict[str, set[str]]) -> list[str]:
    if ALL in declared:
        return []
    missing = []
    for section, keys in read.items():
        have = declared.get(section, set())
        if ALL in have:
            continue
        missing += [section if key == ALL else f"{section}.{key}" for key in sorted(keys - have)]
    return missing


# ---- the tests ----------------------------------------------------------------------------------------

PIPELINE = load_pipeline()
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(PIPELINE["stages"]))
def test_every_module_a_stage_imports_is_a_dep(name):
    stage = PIPELINE["stages"][name]
    assert missing_code(stage, PARAMS) == [], f"dvc.yaml: stage {name} misses these deps"


@pytest.mark.parametrize("name", list(PIPELINE["stages"]))
def test_every_path_on_a_stage_command_line_is_declared(name):
    stage = PIPELINE["stages"][name]
    assert undeclared_cmd_paths(stage, PARAMS) == [], f"dvc.yaml: stage {name} reads or writes undeclared paths"


@pytest.mark.parametrize("name", list(PIPELINE["stages"]))
def test_every_params_key_a_stage_reads_is_declared(name, monkeypatch):
    stage = PIPELINE["stages"][name]
    read = params_read(stage, monkeypatch)
    assert missing_params(read, declared_params(stage)) == [], f"dvc.yaml: stage {name} misses these params"


def test_a_removed_dep_or_param_is_caught(monkeypatch):
    """The checks above fail on a dvc.yaml that lost one code dep, one param, one output: shown on a copy."""
    pipeline = copy.deepcopy(PIPELINE)
    stage = pipeline["stages"]["lstm_train"]
    stage["deps"].remove("dllab/runtime.py")
    assert missing_code(stage, PARAMS) == ["dllab/runtime.py"]
    stage["params"].remove("lstm.seed")
    assert missing_params(params_read(stage, monkeypatch), declared_params(stage)) == ["lstm.seed"]
    stage["outs"] = [o for o in stage["outs"] if o != "models/lstm/model.pt"]
    assert undeclared_cmd_paths(stage, PARAMS) == ["models/lstm/model.pt"]


def test_a_whole_section_or_file_declaration_covers_every_key():
    read = {"lstm": {"seed", "hidden"}, "rag": {"top_k"}}
    assert missing_params(read, declared_params({"params": ["lstm", "rag.top_k"]})) == []
    assert missing_params(read, declared_params({"params": [{"params.yaml": None}]})) == []
    assert missing_params(read, declared_params({"params": ["lstm.seed"]})) == ["lstm.hidden", "rag.top_k"]


def test_imports_inside_functions_and_package_inits_with_code_are_in_the_closure():
    closure = {str(p.relative_to(REPO)) for p in import_closure(REPO / "stages" / "serve.py")}
    assert "web/client.py" in closure  # imported inside main()
    assert "dllab/speech/__init__.py" not in closure and "dllab/__init__.py" not in closure  # docstrings only
    assert "dllab/speech/tts.py" in closure


def test_a_package_init_with_code_is_code(tmp_path):
    (tmp_path / "docstring.py").write_text('"""Only words."""\n')
    (tmp_path / "code.py").write_text('"""Words."""\nfrom dllab.speech.tts import Speaker\n')
    assert not has_code(tmp_path / "docstring.py") and has_code(tmp_path / "code.py")


def test_every_field_of_every_params_model_is_read_by_some_stage():
    """A field left out of a stage's ``only`` keys would keep its default whatever params.yaml says: each field
    of each section's model must be read by at least one stage (the report's view of the whole file aside)."""
    from tests.test_params import MODELS

    read: dict[str, set[str]] = {}
    for stage in PIPELINE["stages"].values():
        with pytest.MonkeyPatch.context() as monkeypatch:
            for section, keys in params_read(stage, monkeypatch).items():
                read.setdefault(section, set()).update(keys)
    unread = {model.section: sorted(set(model.model_fields) - read.get(model.section, set())) for model in MODELS}
    assert {section: keys for section, keys in unread.items() if keys} == {}
