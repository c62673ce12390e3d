"""What each column is (number, category, date) and which columns cannot help a model."""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from runner.spec import TaskType
from runner.transformers import to_dates

# A text column with more distinct values than this is not used as categories.
MAX_CATEGORIES = 100
# Beyond this many distinct values, a text column must also repeat its values to count as categories.
FEW_CATEGORIES = 20
# Distinct whole numbers spanning at most this many times the row count number the rows.
RUNNING_NUMBER_SLACK = 1.1
# Whole numbers all within these years count time (a yearly series), not rows: R's lm uses them.
YEARS = (1800, 2100)
# A numeric column whose correlation with the target is at least this is taken as a copy of it.
COPY_CORRELATION = 0.999
# Share of rows on which a column and a class target must map one-to-one to be a copy.
COPY_AGREEMENT = 0.99
# Share of sampled text values that must look like and parse as dates.
DATE_SHARE = 0.9
_SAMPLE = 1000
# Integer-valued targets with at most this many values (and at most half as many as rows)
# are taken as classes.
MAX_INFERRED_CLASSES = 10

_DATE_TEXT = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?\s*$"
)


class Kind(str, Enum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    DATE = "date"


def is_number_column(values: pd.Series) -> bool:
    """Numbers proper: bool columns are categories, not numbers."""
    return ptypes.is_numeric_dtype(values.dtype) and not ptypes.is_bool_dtype(values.dtype)


def column_kind(values: pd.Series) -> Kind | None:
    """Numeric, categorical or date; None for values the runner cannot use (lists, bytes, ...)."""
    dtype = values.dtype
    if ptypes.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return Kind.CATEGORICAL
    if ptypes.is_numeric_dtype(dtype):
        return Kind.NUMERIC
    if ptypes.is_datetime64_any_dtype(dtype):
        return Kind.DATE
    if not (ptypes.is_string_dtype(dtype) or ptypes.is_object_dtype(dtype)):
        return None
    sample = values.dropna().head(_SAMPLE)
    if sample.map(lambda v: isinstance(v, (dt.date, pd.Timestamp))).all() and len(sample):
        return Kind.DATE
    if not sample.map(lambda v: isinstance(v, (str, bool, int, float, np.generic))).all():
        return None
    if len(sample) and _looks_like_dates(sample):
        return Kind.DATE
    return Kind.CATEGORICAL


def _looks_like_dates(sample: pd.Series) -> bool:
    text = sample.astype(str)
    if text.map(lambda v: bool(_DATE_TEXT.match(v))).mean() < DATE_SHARE:
        return False
    return bool(to_dates(text).notna().mean() >= DATE_SHARE)


def drop_reason(values: pd.Series, kind: Kind, *, target: pd.Series, task: TaskType) -> str | None:
    """Why a feature column cannot help predict `target` (None: keep it)."""
    present = values.dropna()
    if present.empty:
        return "it is empty"
    distinct = int(present.nunique())
    if distinct <= 1:
        return "it has the same value in every row"
    if reason := id_reason(values, kind):
        return reason
    if kind is Kind.CATEGORICAL and not _is_flag_or_category(values):
        if distinct > MAX_CATEGORIES or (distinct > FEW_CATEGORIES and distinct > len(present) / 2):
            return f"it has too many different values ({distinct}) to use as categories"
    if kind is not Kind.DATE and _is_copy_of_target(values, kind, target=target, task=task):
        return "it is (almost) a copy of the column to predict"
    return None


def id_reason(values: pd.Series, kind: Kind) -> str | None:
    """Why a column names or numbers the rows rather than measuring anything (None: it does not)."""
    if values.isna().any() or values.nunique() != len(values):
        return None
    if kind is Kind.CATEGORICAL and not _is_flag_or_category(values):
        return "it has a different value in every row, like an ID"
    if kind is Kind.NUMERIC and _is_running_number(values):
        return "it numbers the rows one by one, like an ID"
    return None


def _is_flag_or_category(values: pd.Series) -> bool:
    return ptypes.is_bool_dtype(values.dtype) or isinstance(values.dtype, pd.CategoricalDtype)


def _is_running_number(present: pd.Series) -> bool:
    """Distinct whole numbers filling (nearly) a whole range: 1..n with a few rows gone (not years)."""
    numbers = present.to_numpy(dtype=float)
    if not np.all(numbers == np.round(numbers)):
        return False
    if YEARS[0] <= numbers.min() and numbers.max() <= YEARS[1]:
        return False
    return bool(numbers.max() - numbers.min() + 1 <= RUNNING_NUMBER_SLACK * len(numbers))


def _is_copy_of_target(values: pd.Series, kind: Kind, *, target: pd.Series, task: TaskType) -> bool:
    if task is TaskType.REGRESSION:
        if kind is not Kind.NUMERIC:
            return False
        pairs = pd.DataFrame({"f": values.astype(float), "t": target.astype(float)}).dropna()
        if len(pairs) < 3 or pairs["f"].nunique() < 2:
            return False
        return bool(abs(pairs["f"].corr(pairs["t"])) >= COPY_CORRELATION)
    pairs = pd.DataFrame({"f": values.astype(object), "t": target.astype(object)}).dropna()
    if len(pairs) < 2:
        return False
    counts = pairs.groupby(["f", "t"]).size()
    forward = counts.groupby(level=0).max().sum() / len(pairs)
    backward = counts.groupby(level=1).max().sum() / len(pairs)
    return bool(forward >= COPY_AGREEMENT and backward >= COPY_AGREEMENT)


def infer_task(target: pd.Series) -> TaskType:
    """Classification for text, bool or a few distinct whole numbers; regression otherwise."""
    if not is_number_column(target):
        return TaskType.CLASSIFICATION
    numbers = target.to_numpy(dtype=float)
    distinct = int(target.nunique())
    if (
        np.all(numbers == np.round(numbers))
        and distinct <= MAX_INFERRED_CLASSES
        and distinct <= len(target) / 2
    ):
        return TaskType.CLASSIFICATION
    return TaskType.REGRESSION
