"""Which model is best: one training job per candidate model, same split, same folds.

Every candidate is an ordinary training job (its own container, the fair queue, the caps), with
cross-validation on the same seed, so all share the test rows and the folds. The comparison
counts as one request for the waiting cap; its models count against the model quota, checked
for all of them before any starts. Candidates whose estimated time passes the limit are skipped
with the reason. The cheapest candidate goes last, carrying the others' scores, and its runner
draws the leaderboard chart (a container renders it; the host draws nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from config import Settings
from errors import CostError, JobError, TaskError
from controller._controller import Controller, JobHandle
from controller._cost import job_seconds, workload
from controller.task import Task, TrainRequest, build_spec
from runner.spec import (
    ColumnKind,
    DatasetSummary,
    LeaderboardEntry,
    ModelType,
    TaskType,
    TrainOutcome,
    TrainSpec,
    Validation,
    model_label,
    model_phrase,
)
from store import DatasetRecord

__all__ = ["CANDIDATES", "Candidate", "Comparison", "learning_task", "start_comparison"]

CANDIDATES: dict[TaskType, tuple[ModelType, ...]] = {
    TaskType.REGRESSION: (
        ModelType.LINEAR,
        ModelType.RIDGE,
        ModelType.LASSO,
        ModelType.ELASTICNET,
        ModelType.POLYNOMIAL,
        ModelType.RANDOM_FOREST,
        ModelType.GRADIENT_BOOSTING,
        ModelType.HIST_GRADIENT_BOOSTING,
        ModelType.SVM,
    ),
    TaskType.CLASSIFICATION: (
        ModelType.LOGISTIC,
        ModelType.SVM,
        ModelType.RANDOM_FOREST,
        ModelType.GRADIENT_BOOSTING,
        ModelType.HIST_GRADIENT_BOOSTING,
    ),
}
# A polynomial candidate only while its degree-2 terms stay few (the runner refuses past 5,000).
MAX_POLYNOMIAL_INPUTS = 40
# A whole-number target with at most this many values is classes (as the runner decides).
MAX_CLASS_NUMBERS = 10


@dataclass
class Candidate:
    """One model of a comparison: its job, then its outcome or why it has none."""

    model_type: ModelType
    task: Task
    estimate_seconds: float
    handle: JobHandle | None = None
    outcome: TrainOutcome | None = None
    model_id: str | None = None
    failure: str | None = None
    plots: list[Path] = field(default_factory=list)


@dataclass
class Comparison:
    """A started comparison; `run` waits for it (and starts the last candidate)."""

    controller: Controller
    target: str
    task_type: TaskType
    candidates: list[Candidate]
    skipped: list[tuple[ModelType, str]] = field(default_factory=list)

    @property
    def job_ids(self) -> list[str]:
        return [c.handle.job_id for c in self.candidates if c.handle is not None]

    async def run(self, on_done: Callable[[int, int], Awaitable[None]] | None = None) -> list[Candidate]:
        """Every candidate's outcome; `on_done(done, total)` after each one ends."""
        *first, last = self.candidates
        done = 0

        async def finish(candidate: Candidate) -> None:
            nonlocal done
            assert candidate.handle is not None
            try:
                outcome = await candidate.handle.result()
                candidate.outcome, candidate.model_id = outcome.result.train, outcome.result.model_id
                candidate.plots = list(outcome.plots)
            except JobError as error:
                candidate.failure = error.user_message
            done += 1
            if on_done is not None:
                await on_done(done, len(self.candidates))

        await asyncio.gather(*(finish(c) for c in first))
        entries = tuple(entry for c in first if (entry := _entry(c)) is not None)
        last.task = last.task.model_copy(update={"leaderboard": entries})
        last.handle = await self.controller.submit(last.task, new_request=not first)
        await finish(last)
        return self.candidates


def learning_task(summary: DatasetSummary, target: str) -> TaskType:
    """Regression for a quantity, classification for classes (as the runner would decide)."""
    column = next((c for c in summary.columns if c.name == target), None)
    if column is None:
        raise TaskError(f"no column {target!r}", user_message=f"The table has no column '{target}'.")
    numeric = column.kind is ColumnKind.NUMERIC
    return TaskType.REGRESSION if numeric and column.distinct > MAX_CLASS_NUMBERS else TaskType.CLASSIFICATION


async def start_comparison(
    controller: Controller,
    *,
    settings: Settings,
    user_id: str,
    dataset: DatasetRecord,
    target: str,
    include_neural_network: bool = False,
    models: Sequence[ModelType] = (),
    conversation_id: str = "",
) -> Comparison:
    """Check every candidate, the quota and the waiting cap, then queue all but the last.

    `models` names the candidates ("ridge vs lasso"); by default every model that suits the
    target is one, with the neural network only when `include_neural_network`.
    Raises TaskError (no such target, a named model unsuited to it, nothing fits) and QuotaError
    before any job is queued.
    """
    kind = learning_task(dataset.summary, target)
    models = list(dict.fromkeys(models)) or list(CANDIDATES[kind]) + (
        [ModelType.NEURAL_NETWORK] if include_neural_network else []
    )
    unsuited = [m for m in models if m not in CANDIDATES[kind] and m is not ModelType.NEURAL_NETWORK]
    if unsuited:
        what = "a quantity" if kind is TaskType.REGRESSION else "classes"
        raise TaskError(
            f"models unsuited to {kind.value}: {unsuited}",
            user_message=f"'{target}' is {what}, which "
            + ", ".join(map(model_phrase, unsuited))
            + (" does" if len(unsuited) == 1 else " do")
            + " not predict. These can: "
            + ", ".join(map(model_phrase, CANDIDATES[kind]))
            + ".",
        )
    candidates: list[Candidate] = []
    skipped: list[tuple[ModelType, str]] = []
    for model in models:
        task = TrainRequest(
            user_id=user_id,
            model_type=model,
            learning_task=kind,
            dataset_id=dataset.dataset_id,
            target_column=target,
            validation=Validation.CROSS_VALIDATION,
            conversation_id=conversation_id,
        )
        try:
            spec = build_spec(
                task,
                ml=settings.ml_engine,
                job_id="job_000000000000",
                model_id="model_00000000",
                summary=dataset.summary,
                time_limit_seconds=(
                    settings.container.train_timeout_seconds if settings.ml_engine.check_time_estimate else None
                ),
            )
        except CostError as error:
            skipped.append((model, error.user_message.splitlines()[0].removeprefix("⏱ ")))
            continue
        assert isinstance(spec, TrainSpec)
        load = workload(spec, dataset.summary)
        if model is ModelType.POLYNOMIAL and load.features > MAX_POLYNOMIAL_INPUTS:
            skipped.append((model, f"{load.features} inputs make too many polynomial terms"))
            continue
        candidates.append(Candidate(model_type=model, task=task, estimate_seconds=job_seconds(spec, load)))
    if not candidates:
        raise TaskError(
            "no candidate fits",
            user_message="No model fits this table within the time limit; "
            + "; ".join(f"{m.value}: {why}" for m, why in skipped),
        )
    # The cheapest goes last: it waits for the others, then draws the chart.
    candidates.sort(key=lambda c: -c.estimate_seconds)
    await controller.check_model_room(user_id=user_id, count=len(candidates))
    for index, candidate in enumerate(candidates[:-1]):
        candidate.handle = await controller.submit(candidate.task, new_request=index == 0)
    return Comparison(controller=controller, target=target, task_type=kind, candidates=candidates, skipped=skipped)


def _entry(candidate: Candidate) -> LeaderboardEntry | None:
    outcome = candidate.outcome
    if outcome is None:
        return None
    mean, std = cv_score(outcome)
    if mean is None or std is None:
        return None
    return LeaderboardEntry(label=model_label(candidate.model_type), mean=mean, std=std)


def cv_score(outcome: TrainOutcome) -> tuple[float | None, float | None]:
    """The cross-validated mean and standard deviation of the main metric."""
    cv = outcome.metrics.get("cross_validation") or {}
    metric = cv.get("metric")
    return cv.get(f"mean_{metric}"), cv.get(f"std_{metric}")
