"""Benchmark: one language model of the workspace (say after `dvc exp run -S lstm.hidden=512`) against the same
model of a baseline revision (default HEAD, e.g. hidden 256), at equal training steps and at equal training time.

Trains nothing: reads each run's validation history (reports/lm/<model>_history.csv) and the times of its
training stage (reports/pipeline/<model>_train.json), the baseline's from DVC's cache through `dvc.api`.
Writes reports/bench/lm_compare.json with the machine description.

    dvc exp run -S lstm.hidden=512 && python bench/lm_compare.py --model lstm
"""
import argparse
import json
from pathlib import Path

import dvc.api

from dllab.files import write_json
from dllab.runtime import machine_description
from dllab.text.compare import Run, at_equal_steps, at_equal_time, run_from_files


def load_run(model: str, rev: str | None) -> tuple[Run, dict, dict]:
    """The run's curve and timing, and its params section; ``rev`` None is the workspace. The section stays the
    mapping DVC shows, not a model: a baseline revision may hold keys that today's model refuses."""
    def read(path: str) -> str:
        if rev is None:
            return Path(path).read_text(encoding="utf-8")
        return dvc.api.read(path, rev=rev, encoding="utf-8")

    record = read(f"reports/pipeline/{model}_train.json")
    params = dvc.api.params_show(rev=rev)[model] if rev else dvc.api.params_show()[model]
    return run_from_files(read(f"reports/lm/{model}_history.csv"), record), json.loads(record), params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lstm", choices=["lstm", "transformer"])
    parser.add_argument("--baseline", default="HEAD", help="git revision of the baseline run")
    parser.add_argument("--out", default="reports/bench/lm_compare.json")
    args = parser.parse_args()
    baseline, baseline_record, baseline_params = load_run(args.model, args.baseline)
    workspace, workspace_record, workspace_params = load_run(args.model, None)
    runs = {"baseline": baseline, "workspace": workspace}
    step, by_step = at_equal_steps(runs)
    timed = at_equal_time(runs)
    changed = {k: [baseline_params[k], workspace_params[k]] for k in workspace_params
               if baseline_params.get(k) != workspace_params[k]}
    report = {
        "benchmark": "lm_compare", "model": args.model, "baseline_rev": args.baseline, "params_changed": changed,
        "train_seconds": {"baseline": baseline_record["train_seconds"], "workspace": workspace_record["train_seconds"]},
        "steps": {"baseline": baseline.steps[-1], "workspace": workspace.steps[-1]},
        "equal_steps": {"step": step, "val_bpc": by_step, "better": min(by_step, key=by_step.get)},
        "equal_time": None if timed is None else {"seconds": round(timed[0], 1), "val_bpc": timed[1],
                                                  "better": min(timed[1], key=timed[1].get)},
        "machine": machine_description(),
    }
    write_json(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
