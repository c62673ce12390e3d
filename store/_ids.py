"""Id formats. Every id is checked here before it becomes part of a path."""

from __future__ import annotations

import re
import secrets

from errors import InputError, NotFoundError
from runner.spec import JOB_ID_RE, MODEL_ID_RE

USER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DATASET_ID_RE = re.compile(r"^ds_[0-9a-f]{12}$")


def _shown(value: object) -> str:
    """An id as it may be echoed back: short, one line."""
    text = str(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."


def check_user_id(user_id: str) -> str:
    if not isinstance(user_id, str) or not USER_ID_RE.fullmatch(user_id):
        raise InputError(
            f"invalid user id {user_id!r}",
            user_message="That user id is not valid: use 1 to 64 letters, digits, '_' or '-'.",
        )
    return user_id


def model_not_found(model_id: str) -> NotFoundError:
    """The one answer for a model that is missing, another user's, or not a model id at all."""
    return NotFoundError(
        f"model {model_id!r} not found",
        user_message=f"Model '{_shown(model_id)}' not found. Use /models to see your available models.",
    )


def dataset_not_found(dataset_id: str) -> NotFoundError:
    return NotFoundError(
        f"dataset {dataset_id!r} not found",
        user_message=f"Table '{_shown(dataset_id)}' not found. Upload a table (CSV, XLSX or Parquet) first.",
    )


def job_not_found(job_id: str) -> NotFoundError:
    return NotFoundError(
        f"job {job_id!r} not found",
        user_message=f"Job '{_shown(job_id)}' not found. Use /jobs to see your jobs.",
    )


def check_model_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not MODEL_ID_RE.fullmatch(model_id):
        raise model_not_found(model_id)
    return model_id


def check_dataset_id(dataset_id: str) -> str:
    if not isinstance(dataset_id, str) or not DATASET_ID_RE.fullmatch(dataset_id):
        raise dataset_not_found(dataset_id)
    return dataset_id


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not JOB_ID_RE.fullmatch(job_id):
        raise job_not_found(job_id)
    return job_id


def random_job_id() -> str:
    return f"job_{secrets.token_hex(6)}"


def random_model_id() -> str:
    return f"model_{secrets.token_hex(4)}"


def random_dataset_id() -> str:
    return f"ds_{secrets.token_hex(6)}"
