"""After a crash: a running job no controller runs is interrupted, unless its model was saved."""

from __future__ import annotations

import json
from pathlib import Path

from controller._reconcile import interrupt_orphan_jobs
from store import ExitReason, JobKind, JobState, Store


def _running_training(store: Store, user_id: str) -> tuple[str, str]:
    model_id = store.new_model_id()
    job = store.create_job(
        user_id=user_id, kind=JobKind.TRAIN, spec={"command": "train"}, instance_id="ctl-dead", model_id=model_id
    )
    store.update_job(job.job_id, state=JobState.RUNNING)
    return job.job_id, model_id


def test_a_training_whose_model_was_saved_before_the_crash_succeeded(store: Store, tmp_path: Path) -> None:
    saved_job, model_id = _running_training(store, "una")
    lost_job, _ = _running_training(store, "una")
    folder = tmp_path / "output" / "model"
    folder.mkdir(parents=True)
    (folder / "model.skops").write_bytes(b"\x00" * 100)
    metadata = {
        "model_id": model_id,
        "model_type": "linear",
        "task_type": "regression",
        "target_column": "price",
        "feature_columns": ["age"],
        "hyperparameters": {},
        "metrics": {"train": {"r2": 0.5}, "test": {"r2": 0.4}},
    }
    (folder / "metadata.json").write_text(json.dumps(metadata))
    # The controller died while the container drew the plots: the model was taken already.
    store.install_model(user_id="una", model_id=model_id, job_id=saved_job, source_dir=folder, metadata=metadata)

    interrupted = interrupt_orphan_jobs(store, live=())

    assert [job.job_id for job in interrupted] == [lost_job]
    saved = store.get_job_admin(saved_job)
    assert (saved.state, saved.exit_reason) == (JobState.SUCCEEDED, ExitReason.SUCCESS)
    assert store.get_job_admin(lost_job).state == JobState.INTERRUPTED
    assert [m.model_id for m in store.list_models(user_id="una")] == [model_id]
