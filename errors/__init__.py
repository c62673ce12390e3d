"""The one error tree of the host side (bot, controller, store, config).

Every error carries `user_message`: one friendly sentence that says what to do next, which
the dialogue core shows as it is. `str(error)` is the technical detail, for the logs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ExitReason(StrEnum):
    """How a job ended: success, or the `reason` of the JobError it failed with (a StrEnum, so
    logs and messages show the value)."""

    SUCCESS = "success"
    BAD_INPUT = "bad_input"
    TRAINING_FAILED = "training_failed"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    KILLED = "killed"  # SIGKILL from outside the product (not the engine's OOM killer)
    OUTPUT_OVER_QUOTA = "output_over_quota"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"


class StatAgentError(Exception):
    """Root of every error StatAgent raises on the host."""

    default_user_message = "Something went wrong on our side. Please try again in a moment."

    def __init__(self, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or user_message or self.default_user_message)
        self.user_message = user_message or self.default_user_message


class ConfigError(StatAgentError):
    """The configuration file or environment is invalid."""

    default_user_message = "The service is misconfigured; an administrator has to fix it."


class InputError(StatAgentError):
    """Something the user sent cannot be used (bad file, bad request). Theirs to fix."""

    default_user_message = "I could not use that input."


class UploadError(InputError):
    """An uploaded table cannot be read or breaks a limit."""

    default_user_message = "I could not read that file as a table."


class TaskError(InputError):
    """A request is incomplete or invalid: unknown model, hyperparameter out of range, ..."""

    default_user_message = "I could not understand that request."


class CostError(TaskError):
    """A training would pass the job's time limit; `offers` are what would fit.

    Each offer is (a label for the user, the Task fields to change), e.g.
    ("svm on 9,000 sampled rows (~3 min)", {"sample_rows": 9000}).
    """

    def __init__(
        self, detail: str, *, user_message: str, offers: tuple[tuple[str, dict[str, Any]], ...] = ()
    ) -> None:
        super().__init__(detail, user_message=user_message)
        self.offers = offers


class NotFoundError(InputError):
    """No such model, dataset or job for this user (another user's looks the same)."""

    default_user_message = "I could not find that. Use /models to see your models."


class QuotaError(InputError):
    """A per-user limit is reached: models, queued jobs, storage."""

    default_user_message = "You have reached a limit of your account."


class RunnerImageMissing(StatAgentError):
    """The pinned runner image is not on the Docker engine."""

    def __init__(self, expected: str) -> None:
        super().__init__(
            f"runner image {expected} is not on the Docker engine; build it with `make runner-image`",
            user_message="The training service is not ready yet. Please try again later.",
        )
        self.expected = expected


class BackendUnavailable(StatAgentError):
    """The container engine cannot be reached."""

    default_user_message = "The training service is unavailable right now. Please try again later."


class JobError(StatAgentError):
    """A job ended without a result. Carries what an admin needs to see why."""

    default_user_message = "The job failed unexpectedly. Please try again."
    reason: ExitReason = ExitReason.CRASHED

    def __init__(
        self,
        detail: str = "",
        *,
        user_message: str | None = None,
        job_id: str | None = None,
        exit_code: int | None = None,
        error_code: str | None = None,
        details: dict[str, Any] | None = None,
        logs: str = "",
    ) -> None:
        super().__init__(detail, user_message=user_message)
        self.job_id = job_id
        self.exit_code = exit_code
        self.error_code = error_code
        self.details = details or {}
        self.logs = logs

    def __str__(self) -> str:
        text = super().__str__()
        parts = [f"job {self.job_id}" if self.job_id else "", f"exit {self.exit_code}" if self.exit_code is not None else ""]
        head = ", ".join(p for p in parts if p)
        tail = f"\n--- container log tail ---\n{self.logs}" if self.logs else ""
        return f"{text} ({head}){tail}" if head else f"{text}{tail}"


class JobBadInput(JobError):
    """The runner refused the data or the spec (exit 2); the message is the runner's own."""

    default_user_message = "The data does not fit this request."
    reason = ExitReason.BAD_INPUT


class JobTrainingFailed(JobError):
    """Fitting or evaluating failed (exit 3)."""

    default_user_message = "Training failed on this data. Try another model or check the data."
    reason = ExitReason.TRAINING_FAILED


class JobTimeout(JobError):
    default_user_message = (
        "Training took too long and was stopped. Try less data or a simpler model."
    )
    reason = ExitReason.TIMEOUT


class JobOutOfMemory(JobError):
    default_user_message = (
        "The job ran out of memory and was stopped. Try less data, fewer columns or a simpler model."
    )
    reason = ExitReason.OUT_OF_MEMORY


class JobKilled(JobError):
    """SIGKILL from outside the product (an operator, the host), not the engine's OOM killer."""

    default_user_message = "The job was stopped from outside the service before it finished. Try again."
    reason = ExitReason.KILLED


class JobOutputTooLarge(JobError):
    default_user_message = (
        "The job produced more output than your storage allows, so nothing of it was kept."
    )
    reason = ExitReason.OUTPUT_OVER_QUOTA


class JobCancelled(JobError):
    default_user_message = "The job was cancelled."
    reason = ExitReason.CANCELLED


class JobInterrupted(JobError):
    default_user_message = (
        "The job was interrupted by a restart of the service. Please start it again."
    )
    reason = ExitReason.INTERRUPTED


class JobCrashed(JobError):
    """The runner died without a usable result (any exit code other than 0, 2, 3)."""

    reason = ExitReason.CRASHED
