"""Tables for tests that need a stored dataset but do not test reading uploads.

The product reads every upload in an ingest job's container; tests of training, prediction and
the store put a DataFrame in place directly, with the summary an ingest job would give its kinds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from store import ColumnKind, ColumnSummary, DataFormat, DatasetRecord, DatasetSummary, Store


def store_table(store: Store, *, user_id: str, frame: pd.DataFrame, filename: str = "table.parquet") -> DatasetRecord:
    """Keep `frame` as the user's current table, as an ingest job's result would be kept."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "data.parquet"
        frame.to_parquet(source, index=False)
        return store.add_dataset(
            user_id=user_id,
            filename=filename,
            file_format=DataFormat.PARQUET,
            source=source,
            summary=summarize(frame),
        )


def summarize(frame: pd.DataFrame) -> DatasetSummary:
    """A plain summary of `frame`: kinds from the dtypes, as the ingester names them."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        present = column.dropna()
        distinct = present.drop_duplicates()
        if pd.api.types.is_bool_dtype(column.dtype):
            kind = ColumnKind.BOOLEAN
        elif pd.api.types.is_numeric_dtype(column.dtype):
            kind = ColumnKind.NUMERIC
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            kind = ColumnKind.DATETIME
        elif 0 < len(distinct) <= 50 and len(distinct) <= len(present) / 2:
            kind = ColumnKind.CATEGORICAL
        else:
            kind = ColumnKind.TEXT
        columns.append(
            ColumnSummary(
                name=str(name),
                kind=kind,
                dtype=str(column.dtype),
                missing=int(column.isna().sum()),
                distinct=len(distinct),
                examples=tuple(str(v) for v in distinct.head(3)),
            )
        )
    return DatasetSummary(rows=len(frame), columns=tuple(columns))
