"""Preprocessing steps of the runner's own that live inside saved pipelines.

Their import path is part of every saved model (skops records it), so this module is public
and stable: renaming a class here makes older models unreadable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin

# Output name suffix -> pandas accessor; weekday: Monday = 0.
DATE_PARTS = {"year": "year", "month": "month", "day": "day", "weekday": "day_of_week"}


def to_dates(values: pd.Series) -> pd.Series:
    """Parse a column as dates (naive, UTC for zoned input); what does not parse becomes NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    parsed = pd.to_datetime(values.astype(object), errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None)


def _as_frame(X: object) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)


class _Columnwise(TransformerMixin, BaseEstimator):
    """Remembers the input columns; stateless otherwise."""

    def fit(self, X: object, y: object = None) -> _Columnwise:
        frame = _as_frame(X)
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        return self

    def _names_in(self, input_features: object) -> list[str]:
        if input_features is not None:
            return [str(name) for name in input_features]  # type: ignore[union-attr]
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]


class TextCategories(OneToOneFeatureMixin, _Columnwise):
    """Turn category-like values (text, bool, numbers) into text; missing stays missing.

    One representation for training and prediction, so `True` and `"True"` are one category.
    """

    def transform(self, X: object) -> np.ndarray:
        frame = _as_frame(X)
        out = np.empty(frame.shape, dtype=object)
        for i, (_, column) in enumerate(frame.items()):
            values = column.astype(object)
            missing = column.isna().to_numpy()
            out[:, i] = [np.nan if gone else category_text(v) for v, gone in zip(values, missing, strict=True)]
        return out


def category_text(value: object) -> str:
    """A category's one spelling: 10115, 10115.0 and "10115" are one code, wherever a file
    put a blank that made pandas read the column as decimals."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class DateParts(_Columnwise):
    """Replace each date column by its year, month, day and weekday (Monday = 0)."""

    def transform(self, X: object) -> np.ndarray:
        frame = _as_frame(X)
        parts: list[np.ndarray] = []
        for _, column in frame.items():
            dates = to_dates(column)
            for accessor in DATE_PARTS.values():
                parts.append(getattr(dates.dt, accessor).to_numpy(dtype=float, na_value=np.nan))
        if not parts:
            return np.empty((len(frame), 0))
        return np.column_stack(parts)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = self._names_in(input_features)
        return np.asarray([f"{name}_{part}" for name in names for part in DATE_PARTS], dtype=object)
