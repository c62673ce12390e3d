"""Measure the constants of the training-time estimate (`controller/_cost.py`, SECONDS_PER_UNIT).

    .venv/bin/python bench/cost_calibration.py [--models svm,random_forest] [--runtime runsc]

One runner container (the checkout's image, 1 CPU, 2 GB, no network, the configured runtime)
fits each model type with the configured default settings on synthetic tables of 10 numeric
columns at two sizes, timing what the runner does with the rows: the fit plus predicting the
training and test rows. Printed per model and task: rows, seconds, the model's work units
(`work_units`) and seconds per unit; the larger size's figure is the constant to put in the
table. Figures only; nothing is asserted. Takes about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import docker

from config import load_settings
from controller._cost import SECONDS_PER_UNIT, Workload, work_units
from controller.image import runner_image_tag
from runner.spec import ModelType, TaskType

FEATURES = 10
CLASSES = 2
EPOCHS = 10  # a neural network's epochs while measuring (its units count epochs)
# Rows per size: a few seconds of fitting each on one core.
SIZES: dict[ModelType, tuple[int, int]] = {
    ModelType.LINEAR: (50_000, 200_000),
    ModelType.RIDGE: (50_000, 200_000),
    ModelType.LASSO: (50_000, 200_000),
    ModelType.ELASTICNET: (50_000, 200_000),
    ModelType.POLYNOMIAL: (10_000, 40_000),
    ModelType.LOGISTIC: (20_000, 100_000),
    ModelType.SVM: (4_000, 12_000),
    ModelType.RANDOM_FOREST: (5_000, 20_000),
    ModelType.GRADIENT_BOOSTING: (5_000, 20_000),
    ModelType.HIST_GRADIENT_BOOSTING: (20_000, 100_000),
    ModelType.NEURAL_NETWORK: (5_000, 20_000),
}

# Runs inside the container: argv[1] is a JSON list of cases; prints one JSON line per case.
IN_CONTAINER = r"""
import json, sys, time
import numpy as np, pandas as pd
from runner import _evaluate
from runner._train import _new_model
from runner.pipeline import prepare_training
from runner._estimators import resolve_hyperparameters
from runner.spec import TrainSpec, TaskType

for case in json.loads(sys.argv[1]):
    rng = np.random.default_rng(0)
    rows, features = case["rows"], case["features"]
    frame = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"x{i}" for i in range(features)])
    signal = frame.to_numpy() @ rng.normal(size=features) + rng.normal(0, 1, rows)
    frame["y"] = signal if case["task"] == "regression" else np.where(signal > 0, "yes", "no")
    spec = TrainSpec(job_id="job_000000000001", model_id="model_00000001", user_id="bench",
                     target_column="y", model_type=case["model"], task_type=case["task"],
                     hyperparameters=case["params"])
    data = prepare_training(spec=spec, frame=frame)
    X_train, X_test, y_train, y_test = _evaluate.split(data.X, data.y, spec=spec, task=data.task)
    params = resolve_hyperparameters(spec.model_type, spec.hyperparameters)
    model = _new_model(spec, data, params)
    began = time.perf_counter()
    model.fit(X_train, y_train)
    _evaluate.score(model, X_train, y_train, data.task)
    _evaluate.score(model, X_test, y_test, data.task)
    print(json.dumps({**case, "train_rows": len(X_train), "seconds": time.perf_counter() - began}), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(m.value for m in SIZES), help="model types, comma-separated")
    parser.add_argument("--runtime", default="runsc", help="container runtime (runsc: gVisor, runc)")
    args = parser.parse_args()
    settings = load_settings()
    cases = []
    for name in args.models.split(","):
        model = ModelType(name)
        params = settings.ml_engine.defaults(model)
        if model is ModelType.NEURAL_NETWORK:
            params.update(epochs=EPOCHS, patience=EPOCHS)
        for task in sorted({t for (m, t) in SECONDS_PER_UNIT if m is model}, key=lambda t: t.value):
            for rows in SIZES[model]:
                cases.append({"model": model.value, "task": task.value, "rows": rows,
                              "features": FEATURES, "params": params})
    image = runner_image_tag(root=Path(__file__).resolve().parent.parent)
    client = docker.from_env()
    output = client.containers.run(
        image,
        entrypoint=["python", "-c", IN_CONTAINER, json.dumps(cases)],
        runtime=args.runtime,
        nano_cpus=1_000_000_000,
        mem_limit="2g",
        memswap_limit="2g",
        network_disabled=True,
        read_only=True,
        tmpfs={"/tmp": "size=512m"},
        remove=True,
        stderr=False,
    )
    print(f"{'model':<24}{'task':<16}{'rows':>9}{'seconds':>10}{'units':>12}{'s/unit':>11}{'in table':>11}")
    for line in output.decode().splitlines():
        case = json.loads(line)
        model, task = ModelType(case["model"]), TaskType(case["task"])
        load = Workload(task=task, rows=case["rows"], features=FEATURES, classes=CLASSES)
        units = work_units(model, load, rows=case["train_rows"], params=case["params"])
        print(
            f"{model.value:<24}{task.value:<16}{case['rows']:>9,}{case['seconds']:>10.2f}{units:>12.3g}"
            f"{case['seconds'] / units:>11.3g}{SECONDS_PER_UNIT[model, task]:>11.3g}"
        )


if __name__ == "__main__":
    main()
