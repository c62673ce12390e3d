"""Coefficient tables with inference, as R's summary(lm)/summary(glm) give them (statsmodels).

Linear and logistic models are refitted with statsmodels on every usable row, with R's
semantics: treatment-coded categories against their first level, numbers unscaled, rows with a
missing value left out, terms that copy other terms not estimated. Penalized models (ridge,
lasso, elastic net) report the saved pipeline's coefficients on the columns' own scale.
The design matrix is built from column names as data; no formula is ever evaluated.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runner._columns import Kind
from runner._prepare import TrainingData
from runner.pipeline import level_term, output_terms
from runner.spec import (
    INTERCEPT,
    MAX_INFERENCE_TERMS,
    CoefficientRow,
    FitStatistics,
    Inference,
    ModelType,
)
from runner.transformers import DATE_PARTS, DateParts, category_text

# A term whose share of its own length left after the earlier terms is below this is a copy
# of them (R's lm: tol = 1e-7); it gets no estimate, as R prints NA for it.
ALIAS_TOLERANCE = 1e-7
# Variance inflation above this is called strong collinearity (the usual rule of thumb).
VIF_LIMIT = 10.0
# A residual test below this p-value is reported.
TEST_LEVEL = 0.05
# A design of more cells than this (rows x terms) is not refitted: memory of a job is capped.
MAX_DESIGN_CELLS = 20_000_000
# statsmodels' own rule (BinaryResults.summary): a fitted probability this close to the outcome
# is a perfect prediction; more than QUASI_SHARE of them suggests quasi-separation.
PERFECT_PREDICTION = 1e-4
QUASI_SHARE = 0.1

PENALIZED = frozenset({ModelType.RIDGE, ModelType.LASSO, ModelType.ELASTICNET})
# The model types that get a coefficient table.
TABLE_MODELS = frozenset({ModelType.LINEAR, ModelType.LOGISTIC}) | PENALIZED
NO_STANDARD_ERRORS = (
    "No standard errors or p-values: a penalty pulls the estimates toward zero on purpose, "
    "and the classical formulas for their uncertainty do not hold for such estimates."
)


@dataclass(frozen=True)
class Design:
    """A model matrix as R's model.matrix makes it: intercept first, then each column's terms."""

    matrix: np.ndarray
    terms: list[str]
    rows: np.ndarray  # which rows of the training data it holds (the complete ones)


def coefficient_table(
    *, model_type: ModelType, data: TrainingData, model: Any, train_rows: int
) -> Inference | None:
    """The model's coefficient table, or None for a model type that has none.

    `model` is the fitted pipeline (penalized models report its coefficients; it was fitted on
    `train_rows` rows); linear and logistic models are refitted on all of `data`.
    """
    if model_type not in TABLE_MODELS:
        return None
    if model_type is ModelType.LINEAR:
        return _ols(data)
    if model_type is ModelType.LOGISTIC:
        return _logit(data)
    return penalized_table(
        model, response=str(data.y.name), rows=train_rows, sparse=model_type is not ModelType.RIDGE
    )


def design_matrix(data: TrainingData) -> Design:
    """The model matrix of the rows with no missing feature value."""
    columns: list[np.ndarray] = []
    terms: list[str] = []
    for name in data.features:
        kind = data.kinds[name]
        values = data.X[name]
        if kind is Kind.NUMERIC:
            columns.append(values.to_numpy(dtype=float, na_value=np.nan))
            terms.append(name)
        elif kind is Kind.CATEGORICAL:
            levels = _levels(values)
            text = values.map(category_text, na_action="ignore")
            missing = values.isna().to_numpy()
            for level in levels[1:]:  # the first level is the reference, as R's contr.treatment
                column = (text == level).to_numpy(dtype=float)
                column[missing] = np.nan
                columns.append(column)
                terms.append(level_term(name, level))
        else:
            parts = DateParts().fit_transform(values.to_frame())
            columns.extend(parts.T)
            terms.extend(f"{name}_{part}" for part in DATE_PARTS)
    matrix = np.column_stack([np.ones(len(data.X)), *columns])
    rows = np.flatnonzero(~np.isnan(matrix).any(axis=1))
    return Design(matrix=matrix[rows], terms=[INTERCEPT, *terms], rows=rows)


def _levels(values: pd.Series) -> list[str]:
    """A factor's levels: a categorical column's own order, else sorted, as R's factor()."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().map(category_text))
        return [c for c in map(category_text, values.dtype.categories) if c in present]
    return sorted(set(values.dropna().map(category_text)))


def aliased_terms(matrix: np.ndarray) -> np.ndarray:
    """True for each column that is (numerically) a linear combination of the columns before it."""
    norms = np.linalg.norm(matrix, axis=0)
    r = np.linalg.qr(matrix, mode="r")
    return np.abs(np.diag(r)) <= ALIAS_TOLERANCE * np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class _Prepared:
    design: Design
    kept: np.ndarray  # bool per term: estimable
    missing: int
    warnings: list[str]


def _prepare(data: TrainingData) -> _Prepared | Inference:
    """The design of the complete rows with aliased terms out; an Inference saying why not, if not."""
    design = design_matrix(data)
    missing = len(data.X) - len(design.rows)
    n, p = design.matrix.shape
    if n * p > MAX_DESIGN_CELLS:
        return Inference(
            method="ols",
            response=str(data.y.name),
            rows=n,
            rows_missing=missing,
            terms_total=p,
            note=f"No coefficient table: {n:,} rows × {p:,} terms is more than a job refits "
            f"({MAX_DESIGN_CELLS:,} cells); use fewer columns or a sample of the rows.",
        )
    kept = ~aliased_terms(design.matrix)
    warnings = []
    if not kept.all():
        copies = [t for t, k in zip(design.terms, kept, strict=True) if not k]
        warnings.append(
            f"{_listed(copies)} {'is' if len(copies) == 1 else 'are'} an exact linear combination of "
            "the terms before (a copy of another column, or categories that add up to one), so "
            "there is no estimate of their own: left out of the fit, where R shows NA."
        )
    return _Prepared(design=design, kept=kept, missing=missing, warnings=warnings)


def _ols(data: TrainingData) -> Inference:
    from statsmodels.regression.linear_model import OLS
    from statsmodels.stats.diagnostic import het_breuschpagan
    from statsmodels.stats.stattools import jarque_bera

    prepared = _prepare(data)
    if isinstance(prepared, Inference):
        return prepared
    design, kept = prepared.design, prepared.kept
    y = data.y.to_numpy(dtype=float)[design.rows]
    X = design.matrix[:, kept]
    n, p = X.shape
    if n <= p:
        return _too_few(data, "ols", prepared, n, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = OLS(y, X).fit()
        jb_p = float(jarque_bera(fit.resid)[1])
        bp_p = float(het_breuschpagan(fit.resid, X)[1]) if p > 1 else None
    notes = list(prepared.warnings)
    vif_warning, condition = _collinearity(X, [t for t, k in zip(design.terms, kept, strict=True) if k])
    notes += [vif_warning] if vif_warning else []
    if jb_p < TEST_LEVEL:
        notes.append(
            f"The residuals are more heavy-tailed or skewed than a normal distribution "
            f"(Jarque-Bera p = {jb_p:.2g}): p-values and intervals lean on normality, so read them "
            "with care (less so with many rows)."
        )
    if bp_p is not None and bp_p < TEST_LEVEL:
        notes.append(
            f"The spread of the residuals changes with the predictors (Breusch-Pagan p = {bp_p:.2g}): "
            "the standard errors may be off; robust (HC3) standard errors would be safer."
        )
    statistics = FitStatistics(
        nobs=int(fit.nobs),
        df_model=float(fit.df_model),
        df_resid=float(fit.df_resid),
        r_squared=float(fit.rsquared),
        adj_r_squared=float(fit.rsquared_adj),
        f_statistic=_finite(fit.fvalue),
        f_p_value=_finite(fit.f_pvalue),
        residual_std_error=float(np.sqrt(fit.scale)),
        log_likelihood=float(fit.llf),
        aic=float(fit.aic),
        bic=float(fit.bic),
        condition_number=condition,
        jarque_bera_p_value=jb_p,
        breusch_pagan_p_value=bp_p,
    )
    return _table(
        method="ols",
        response=str(data.y.name),
        fit=fit,
        prepared=prepared,
        statistics=statistics,
        note=_fitted_on(n, prepared.missing, "lm"),
        warnings=notes,
    )


def _logit(data: TrainingData) -> Inference:
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    classes = sorted(data.y.unique().tolist())
    target = str(data.y.name)
    if len(classes) != 2:
        return Inference(
            method="logit",
            response=target,
            rows=len(data.X),
            note=f"A coefficient table with p-values is given for a yes/no target (two classes); "
            f"'{target}' has {len(classes)} classes, and a multinomial table is not offered yet.",
        )
    positive = classes[1]  # as R's glm: the first level is "failure"
    response = f"log-odds({target} = {category_text(positive)})"
    prepared = _prepare(data)
    if isinstance(prepared, Inference):
        return prepared.model_copy(update={"method": "logit", "response": response})
    design, kept = prepared.design, prepared.kept
    y = (data.y.to_numpy()[design.rows] == positive).astype(float)
    X = design.matrix[:, kept]
    n, p = X.shape
    kept_terms = [t for t, k in zip(design.terms, kept, strict=True) if k]
    if n <= p:
        return _too_few(data, "logit", prepared, n, p).model_copy(update={"response": response})
    notes = list(prepared.warnings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = Logit(y, X).fit(disp=0, maxiter=200)
        except np.linalg.LinAlgError:
            separating = _separating(X, y, kept_terms)
            return Inference(
                method="logit",
                response=response,
                rows=n,
                rows_missing=prepared.missing,
                terms_total=len(design.terms),
                note="No coefficient table: the logistic fit has no finite solution "
                + (f"because {_listed(separating)} separate the two classes perfectly. " if separating else "")
                + "(perfect separation, or columns that copy each other); the test metrics still hold.",
                warnings=notes,
            )
    warned = {item.category for item in caught}
    probabilities = np.asarray(fit.predict(X))
    perfect = float(np.mean(np.abs(y - probabilities) < PERFECT_PREDICTION))
    separated = PerfectSeparationWarning in warned or perfect == 1.0
    if separated or perfect > QUASI_SHARE or ConvergenceWarning in warned:
        separating = _separating(X, y, kept_terms)
        by = f" by {_listed(separating)}" if separating else ""
        if separated:
            notes.append(
                f"Perfect separation{by}: every row is predicted with certainty, so the estimates "
                "run off toward infinity and their standard errors and p-values mean nothing "
                "(R warns: fitted probabilities numerically 0 or 1)."
            )
        else:
            notes.append(
                f"Possible quasi-separation{by}: {perfect:.0%} of the rows are predicted with near "
                "certainty, so some estimates and their standard errors may be inflated."
            )
    vif_warning, condition = _collinearity(X, kept_terms)
    notes += [vif_warning] if vif_warning else []
    statistics = FitStatistics(
        nobs=int(fit.nobs),
        df_model=float(fit.df_model),
        df_resid=float(fit.df_resid),
        pseudo_r_squared=_finite(fit.prsquared),
        log_likelihood=_finite(fit.llf),
        null_log_likelihood=_finite(fit.llnull),
        aic=_finite(fit.aic),
        bic=_finite(fit.bic),
        llr_p_value=_finite(fit.llr_pvalue),
        condition_number=condition,
    )
    return _table(
        method="logit",
        response=response,
        fit=fit,
        prepared=prepared,
        statistics=statistics,
        note=_fitted_on(n, prepared.missing, "glm"),
        warnings=notes,
    )


def _table(
    *,
    method: str,
    response: str,
    fit: Any,
    prepared: _Prepared,
    statistics: FitStatistics,
    note: str,
    warnings: list[str],
) -> Inference:
    design, kept = prepared.design, prepared.kept
    terms = [t for t, k in zip(design.terms, kept, strict=True) if k]
    interval = np.asarray(fit.conf_int(0.05))
    rows = [
        CoefficientRow(
            term=term,
            estimate=float(fit.params[i]),
            std_error=_finite(fit.bse[i]),
            statistic=_finite(fit.tvalues[i]),
            p_value=_finite(fit.pvalues[i]),
            ci_low=_finite(interval[i, 0]),
            ci_high=_finite(interval[i, 1]),
        )
        for i, term in enumerate(terms)
    ]
    aliased = [t for t, k in zip(design.terms, kept, strict=True) if not k]
    return Inference(
        method=method,  # type: ignore[arg-type]
        response=response,
        rows=int(fit.nobs),
        rows_missing=prepared.missing,
        coefficients=rows[:MAX_INFERENCE_TERMS],
        terms_total=len(rows),
        aliased=aliased[:MAX_INFERENCE_TERMS],
        fit=statistics,
        note=note,
        warnings=warnings,
    )


def penalized_table(model: Any, *, response: str, rows: int, sparse: bool) -> Inference:
    """A fitted ridge/lasso/elastic-net Pipeline's coefficients in the columns' own units:
    each column's scaling (z = a·x + b) is undone, so a coefficient is per unit of the column."""
    preprocessor = model.named_steps["preprocess"]
    estimator = model.named_steps["model"]
    slope, shift = _scaling(preprocessor)
    coef = np.asarray(estimator.coef_, dtype=float).ravel()
    original = coef * slope
    intercept = float(estimator.intercept_) + float(np.sum(coef * shift))
    outputs = output_terms(preprocessor)
    terms = [term for _, term in outputs]
    table = [CoefficientRow(term=INTERCEPT, estimate=intercept)]
    table += [CoefficientRow(term=term, estimate=float(v) + 0.0) for term, v in zip(terms, original, strict=True)]
    zeroed = [term for term, v in zip(terms, coef, strict=True) if v == 0.0] if sparse else []
    levels = any(column != term and term.startswith(f"{column}[") for column, term in outputs)
    note = (
        f"The saved model's coefficients (fitted on its {rows:,} training rows), per unit of each "
        "column: the scaling was undone. "
        + ("Each category level has its own coefficient (no reference level). " if levels else "")
        + NO_STANDARD_ERRORS
    )
    return Inference(
        method="penalized",
        response=response,
        rows=rows,
        coefficients=table[:MAX_INFERENCE_TERMS],
        terms_total=len(table),
        zeroed=zeroed[:MAX_INFERENCE_TERMS],
        note=note,
    )


def _scaling(preprocessor: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per output column of the preprocessor, a and b of its scaling z = a·x + b (1 and 0 when unscaled)."""
    slopes: list[np.ndarray] = []
    shifts: list[np.ndarray] = []
    for _, step, _ in preprocessor.transformers_:
        if step == "drop":
            continue
        width = _width(step)
        scaler = step.named_steps.get("scale", "passthrough")
        if scaler == "passthrough":
            slopes.append(np.ones(width))
            shifts.append(np.zeros(width))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fitted on arrays or frames: either way the same numbers
            zero = np.asarray(scaler.transform(np.zeros((1, width))), dtype=float)[0]
            one = np.asarray(scaler.transform(np.ones((1, width))), dtype=float)[0]
        slopes.append(one - zero)
        shifts.append(zero)
    return np.concatenate(slopes), np.concatenate(shifts)


def _width(step: Any) -> int:
    last = step.steps[-1][1]
    if hasattr(last, "categories_"):
        return sum(len(c) for c in last.categories_)
    scaler = step.named_steps.get("scale")
    if scaler is not None and scaler != "passthrough":
        return int(scaler.n_features_in_)
    return len(step.named_steps["impute"].statistics_)


def _collinearity(X: np.ndarray, terms: list[str]) -> tuple[str | None, float | None]:
    """A warning naming the terms with VIF above the limit, and the design's condition number
    with each column scaled to unit length (Belsley's; above 30 is strong)."""
    norms = np.linalg.norm(X, axis=0)
    singular = np.linalg.svd(X / np.where(norms > 0, norms, 1.0), compute_uv=False)
    condition = float(singular[0] / singular[-1]) if singular[-1] > 0 else None
    if X.shape[1] < 3:  # the intercept and one term: nothing to be collinear with
        return None, condition
    vif = _vif(X[:, 1:])
    high = [(t, v) for t, v in zip(terms[1:], vif, strict=True) if v > VIF_LIMIT]
    if not high:
        return None, condition
    high.sort(key=lambda item: -item[1])
    listed = ", ".join(f"{t} (VIF {v:,.1f})" for t, v in high[:8])
    more = f" and {len(high) - 8} more" if len(high) > 8 else ""
    cond = f"; condition number {condition:,.0f}" if condition else ""
    return (
        f"Strong collinearity: {listed}{more} are largely explained by the other columns{cond}. "
        "Their estimates and standard errors are unstable; consider dropping one of each related group.",
        condition,
    )


def _vif(X: np.ndarray) -> np.ndarray:
    """Variance inflation factors: the diagonal of the inverse correlation matrix (the same as
    regressing each column on the others with an intercept, as statsmodels' variance_inflation_factor)."""
    with np.errstate(all="ignore"):
        corr = np.corrcoef(X, rowvar=False)
        try:
            return np.diag(np.linalg.inv(np.atleast_2d(corr)))
        except np.linalg.LinAlgError:
            return np.full(X.shape[1], np.inf)


def _separating(X: np.ndarray, y: np.ndarray, terms: list[str]) -> list[str]:
    """Terms that on their own split the classes: one class's values all at or below the other's."""
    found = []
    for i, term in enumerate(terms[1:], start=1):
        yes, no = X[y == 1, i], X[y == 0, i]
        if yes.max() <= no.min() or no.max() <= yes.min():
            found.append(term)
    return found


def _too_few(data: TrainingData, method: str, prepared: _Prepared, n: int, p: int) -> Inference:
    return Inference(
        method=method,  # type: ignore[arg-type]
        response=str(data.y.name),
        rows=n,
        rows_missing=prepared.missing,
        terms_total=p,
        note=f"No coefficient table: {n} complete rows cannot estimate {p} terms.",
        warnings=prepared.warnings,
    )


def _fitted_on(rows: int, missing: int, like: str) -> str:
    text = f"Fitted on all {rows:,} usable rows, as R's {like} does"
    if missing:
        text += f" ({missing:,} rows with a missing value left out, as R's na.omit)"
    return text + "; the test metrics come from the train/test split."


def _listed(terms: list[str]) -> str:
    shown = ", ".join(f"'{t}'" for t in terms[:8])
    return shown + (f" and {len(terms) - 8} more" if len(terms) > 8 else "")


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
