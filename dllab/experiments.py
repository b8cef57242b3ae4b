"""The models of `dvc exp run` experiments, read from the local DVC cache at their revision, for the lab's page.

An experiment is a Git commit that DVC keeps under ``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>``; its
``dvc.lock`` names each output's content hash, and the content is in the cache when the experiment ran here.
Nothing is checked out over the workspace: each experiment gets a private *view*, a folder whose
``models/…`` and ``reports/…`` paths are links to the cache files its ``dvc.lock`` names (the ones the lab
needs), so that ``LabFiles.under(view)`` and a ``Lab`` over it work as for the workspace.

Refs and files are read with Git (``git for-each-ref``, ``git show rev:path``), not through ``dvc.repo.Repo``'s
experiment commands: those take the repository's lock, which a running ``dvc repro`` holds.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from pathlib import Path

import yaml

from dllab.errors import UserError

EXPERIMENT_REFS = "refs/exps"
# The pipeline's outputs the lab reads (the paths in dvc.yaml), by the LabFiles field they fill.
LAB_OUTPUTS = {"mnist_model": "models/mnist/model.pt", "lstm": "models/lstm/model.pt",
               "transformer": "models/transformer/model.pt", "tokenizer": "models/tokenizer",
               "mnist_metrics": "reports/mnist/metrics.json", "lm_metrics": "reports/lm/metrics.json"}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def _show(root: Path, rev: str, path: str) -> str | None:
    result = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def flat(params: dict, prefix: str = "") -> dict:
    """``{"lstm": {"hidden": 512}}`` → ``{"lstm.hidden": 512}`` (lists are values, as `dvc exp run -S` sets them)."""
    items = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        items.update(flat(value, f"{name}.") if isinstance(value, dict) else {name: value})
    return items


def locked_outputs(lock: dict) -> dict[str, str]:
    """Each output path of a ``dvc.lock`` → its md5 (a directory's ends with ``.dir``)."""
    outputs = {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if "md5" in out:
                outputs[out["path"]] = out["md5"]
    return outputs


class Experiments:
    """The experiments of the repository at ``root`` whose lab outputs are in its local DVC cache."""

    def __init__(self, root: str | Path, cache_dir: str | Path | None = None):
        self.root = Path(root)
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._views = Path(tempfile.mkdtemp(prefix="dllab-experiments-"))
        self._labs: dict = {}
        self._lock = threading.Lock()

    @property
    def cache_dir(self) -> Path:
        """``…/files/md5``: where DVC 3 keeps content by hash (``.dvc/config.local`` may move it)."""
        if self._cache_dir is None:
            from dvc.repo import Repo

            with Repo(str(self.root)) as repo:  # reads the config only: takes no lock
                self._cache_dir = Path(repo.cache.local.path)
        return self._cache_dir

    def cached(self, md5: str) -> Path:
        return self.cache_dir / md5[:2] / md5[2:]

    def refs(self) -> list[tuple[str, str, str]]:
        """``(name, rev, baseline rev prefix)`` of each experiment, newest first."""
        try:
            listed = _git(self.root, "for-each-ref", "--sort=-committerdate", "--format=%(refname) %(objectname)",
                          EXPERIMENT_REFS)
        except (OSError, subprocess.CalledProcessError):  # no Git, or not a Git repository (an unpacked archive)
            return []
        found = []
        for line in listed.splitlines():
            ref, rev = line.split()
            parts = ref.split("/")  # refs, exps, baseline[:2], baseline[2:], name
            if len(parts) == 5:
                found.append((parts[4], rev, parts[2] + parts[3]))
        return found

    def files_at(self, rev: str) -> dict[str, Path | None]:
        """For each LAB_OUTPUTS key, the cache file (for the tokenizer: a folder of links) that ``rev``'s
        dvc.lock names, or None when it names none or the cache does not hold it."""
        hashes = self.hashes_at(rev)
        files = {}
        for key, path in LAB_OUTPUTS.items():
            md5 = hashes.get(path)
            if md5 is None:
                files[key] = None
            elif md5.endswith(".dir"):
                files[key] = self._folder(rev, path, md5)
            else:
                files[key] = self.cached(md5) if self.cached(md5).is_file() else None
        return files

    def _folder(self, rev: str, path: str, md5: str) -> Path | None:
        """A directory output as a folder of links to its files in the cache (None if any is missing)."""
        listing = self.cached(md5)
        if not listing.is_file():
            return None
        folder = self._views / rev / "dirs" / path
        for entry in json.loads(listing.read_text(encoding="utf-8")):
            source = self.cached(entry["md5"])
            if not source.is_file():
                return None
            link = folder / entry["relpath"]
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(source)
        return folder

    def hashes_at(self, rev: str) -> dict[str, str]:
        """Each output path → md5, as ``rev``'s dvc.lock names them (empty when it has none)."""
        return locked_outputs(yaml.safe_load(_show(self.root, rev, "dvc.lock") or "{}") or {})

    def list(self) -> list[dict]:
        """``GET /experiments``: each experiment with its changed params (against its baseline commit), the
        lab outputs the cache holds for it (``available``), those of them it trained itself, unlike its
        baseline (``own``: a tab offers an experiment only for the models it changed), and its test metrics."""
        answer = []
        for name, rev, baseline in self.refs():
            params = flat(yaml.safe_load(_show(self.root, rev, "params.yaml") or "{}") or {})
            before = flat(yaml.safe_load(_show(self.root, baseline, "params.yaml") or "{}") or {})
            changed = {key: value for key, value in params.items() if before.get(key) != value}
            files = self.files_at(rev)
            metrics = {}
            for section in ("mnist", "lm"):
                path = files[f"{section}_metrics"]
                metrics[section] = json.loads(path.read_text(encoding="utf-8")) if path else None
            available = [key for key in ("mnist_model", "lstm", "transformer")
                         if files[key] and (key == "mnist_model" or files["tokenizer"])]
            mine, before_hashes = self.hashes_at(rev), self.hashes_at(baseline)
            own = [key for key in available if mine.get(LAB_OUTPUTS[key]) != before_hashes.get(LAB_OUTPUTS[key])
                   or (key != "mnist_model" and mine.get(LAB_OUTPUTS["tokenizer"])
                       != before_hashes.get(LAB_OUTPUTS["tokenizer"]))]
            answer.append({"name": name, "rev": rev, "baseline": baseline, "changed": changed,
                           "available": available, "own": own,
                           "metrics": metrics, "run": "dvc exp run " + " ".join(
                               f"-S '{key}={json.dumps(value)}'" for key, value in changed.items())})
        return answer

    def view(self, rev: str) -> Path:
        """A folder laid out like the repository (``models/…``, ``reports/…``) whose files are links to the
        cache files ``rev``'s dvc.lock names; what the cache lacks is absent (the Lab then says which
        `dvc exp run` makes it)."""
        root = self._views / rev / "repo"
        for key, source in self.files_at(rev).items():
            link = root / LAB_OUTPUTS[key]
            if source is not None and not link.is_symlink():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(source, target_is_directory=source.is_dir())
        return root

    def lab(self, rev: str):
        """The Lab over experiment ``rev`` (one per experiment, loaded on use); UserError if ``rev`` is not one."""
        from dllab.lab import Lab, LabFiles

        with self._lock:
            if rev not in self._labs:
                known = {found: name for name, found, _ in self.refs()}
                if rev not in known:
                    raise UserError(f"experiment = {rev[:60]!r} is not one of this repository's experiments; "
                                    "GET /experiments lists them (their rev)")
                described = next((e for e in self.list() if e["rev"] == rev), None)
                build = described["run"] if described else None
                self._labs[rev] = Lab(LabFiles.under(self.view(rev)), build=build)
            return self._labs[rev]
