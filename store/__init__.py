"""Per-user datasets, jobs and models: records in one SQLite file, files under DATA_DIR/users/<user_id>/.

    with Store.from_settings(settings) as store:
        dataset = store.add_dataset(user_id="42", filename="sales.csv", file_format=..., source=parquet, summary=...)
        job = store.create_job(user_id="42", kind=JobKind.TRAIN, spec=spec, instance_id=iid, ...)
        model = store.install_model(user_id="42", model_id=..., job_id=job.job_id, ...)

Layout: DATA_DIR/statagent.db; DATA_DIR/users/<user_id>/datasets/<dataset_id>.parquet,
.../models/<model_id>/ (the runner's model folder), .../jobs/<job_id>/ (a job's input/ and output/).
Uploads are never parsed here: an ingest job (a container) turns them into the Parquet `add_dataset` keeps.
Errors are `errors` types (NotFoundError, QuotaError, UploadError, InputError).
"""

from store._records import (
    ColumnKind,
    ColumnSummary,
    DataFormat,
    DatasetRecord,
    DatasetSummary,
    ExitReason,
    JobKind,
    JobRecord,
    JobState,
    ModelRecord,
)
from store._files import copy_file, human_size
from store._files import remove as remove_path
from store._store import Store

__all__ = [
    "ColumnKind",
    "ColumnSummary",
    "DataFormat",
    "DatasetRecord",
    "DatasetSummary",
    "ExitReason",
    "JobKind",
    "JobRecord",
    "JobState",
    "ModelRecord",
    "Store",
    "copy_file",
    "human_size",
    "remove_path",
]
