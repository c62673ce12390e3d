"""The coefficient table of a model, laid out as R's summary(lm)/summary(glm) prints it.

Two texts: the table with its fit statistics (fixed-width, sent as a monospace block), then
what it was fitted on and its warnings in words. Pure functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from bot._messages import Text
from runner.spec import INTERCEPT, CoefficientRow, FitStatistics, Inference

__all__ = [
    "coefficient_replies",
    "coefficient_texts",
    "significance",
    "significant_terms",
    "stored_inference",
    "term_answers",
]

SIGNIF_CODES = "Signif. codes: 0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
_TERM_WIDTH = 20
# R's summary: 4 significant digits for estimates, 3 decimals for t/z, 3 for p-values.
_DIGITS = 4
_MAX_DECIMALS = 8
_SIGNIFICANCE = re.compile(r"\bsignifican|\bp[\s-]*values?\b", re.IGNORECASE)
_TINY_P = 2.2e-16  # R: .Machine$double.eps, printed "< 2e-16"
_STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."))
_METHODS = {"ols": "OLS", "logit": "logit", "penalized": "penalized fit"}


def coefficient_replies(inference: Inference | None) -> list[Text]:
    """The chat replies showing a model's coefficients: the table (monospace), then the notes."""
    if inference is None:
        return []
    block, notes = coefficient_texts(inference)
    replies = [Text(block, monospace=True)] if block else []
    return replies + ([Text(notes)] if notes else [])


def stored_inference(metadata: Mapping[str, Any] | None) -> Inference | None:
    """The coefficient table kept in a model's metadata; None for a model without one."""
    raw = (metadata or {}).get("inference")
    if not raw:
        return None
    try:
        return Inference.model_validate(raw)
    except ValidationError:
        return None


def coefficient_texts(inference: Inference) -> tuple[str | None, str]:
    """(the table block or None when there is no table, the notes in words)."""
    notes = [inference.note] if inference.note else []
    if inference.terms_total > len(inference.coefficients) and inference.coefficients:
        notes.append(
            f"The table shows the first {len(inference.coefficients)} of {inference.terms_total} terms."
        )
    if inference.zeroed:
        notes.append(f"Set to exactly zero by the penalty (left out of the model): {', '.join(inference.zeroed)}.")
    elif inference.method == "penalized" and any(r.estimate != 0 for r in inference.coefficients[1:]):
        notes.append("No coefficient was set to exactly zero.")
    notes += [f"⚠️ {w}" for w in inference.warnings]
    text = "\n".join(notes)
    if not inference.coefficients:
        return None, text
    return _block(inference), text


def term_answers(inference: Inference | None, text: str) -> str | None:
    """A sentence for each term of a column the words name ("is age significant?"); None: none named."""
    if inference is None or not text:
        return None
    named = [row for row in inference.coefficients if row.term != INTERCEPT and _names(text, _column_of(row.term))]
    missing = [term for term in inference.aliased if _names(text, _column_of(term))]
    lines = [_term_answer(inference, row) for row in named]
    lines += [f"{term}: not estimated, it is a linear combination of other terms (R shows NA)." for term in missing]
    return "\n".join(lines) or None


def significant_terms(inference: Inference | None, text: str) -> str | None:
    """Which terms pass at 5% when the words ask ("which predictors are significant?"); else None."""
    if inference is None or inference.method == "penalized" or not _SIGNIFICANCE.search(text):
        return None
    tested = [row for row in inference.coefficients if row.term != INTERCEPT and row.p_value is not None]
    if not tested:
        return None
    yes = [row.term for row in tested if row.p_value < 0.05]
    no = [row.term for row in tested if row.p_value >= 0.05]
    if not no:
        return f"At the 5% level every term is significant: {_and(yes)}."
    if not yes:
        return f"At the 5% level no term is significant ({_and(no)})."
    return (
        f"At the 5% level {_and(yes)} {'is' if len(yes) == 1 else 'are'} significant; "
        f"{_and(no)} {'is' if len(no) == 1 else 'are'} not."
    )


def _and(terms: Sequence[str]) -> str:
    return terms[0] if len(terms) == 1 else ", ".join(terms[:-1]) + f" and {terms[-1]}"


def _term_answer(inference: Inference, row: CoefficientRow) -> str:
    estimate = _sig(row.estimate)
    if inference.method == "penalized":
        if row.estimate == 0:
            return f"{row.term}: set to exactly zero by the penalty, so the model does not use it."
        return f"{row.term}: {estimate} per unit (penalized, so no p-value to test it)."
    if row.p_value is None:
        return f"{row.term}: {estimate}, no p-value (not estimable)."
    per_unit = f"{estimate} per unit" + (f" (odds × {_sig(math.exp(row.estimate))})" if inference.method == "logit" else "")
    stars = significance(row.p_value)
    verdict = "significant" if row.p_value < 0.05 else "not significant"
    p_is = "p < 2e-16" if row.p_value < _TINY_P else f"p = {_p_text(row.p_value)}"
    return (
        f"{row.term}: {per_unit}, {p_is}{' ' + stars if stars else ''}: "
        f"{verdict} at the 5% level."
    )


def _column_of(term: str) -> str:
    """`city[Lakeside]` belongs to `city`; any other term is its column."""
    column, bracket, _ = term.partition("[")
    return column if bracket and term.endswith("]") else term


def _names(text: str, column: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(column)}(?![\w.])", text, re.IGNORECASE) is not None


def significance(p_value: float | None) -> str:
    """R's stars: '***' below 0.001, '**' below 0.01, '*' below 0.05, '.' below 0.1."""
    if p_value is None:
        return ""
    return next((stars for limit, stars in _STARS if p_value < limit), "")


def _block(inference: Inference) -> str:
    rows = inference.coefficients
    title = f"Coefficients of {inference.response}: {_METHODS[inference.method]} on {inference.rows:,} rows"
    if inference.method == "penalized":
        return "\n".join([title, *_penalized_lines(rows)])
    name = "t" if inference.method == "ols" else "z"
    lines = [title, *_inference_lines(rows, name), "---", SIGNIF_CODES]
    if inference.aliased:
        lines.append(f"({len(inference.aliased)} not defined because of singularities)")
    if inference.fit is not None:
        lines += ["", *_fit_lines(inference.fit, inference.method)]
    lines += ["", "95% confidence intervals:", *_interval_lines(rows)]
    return "\n".join(lines)


def _inference_lines(rows: Sequence[CoefficientRow], name: str) -> list[str]:
    values = _joint([r.estimate for r in rows] + [r.std_error for r in rows])
    estimates, errors = values[: len(rows)], values[len(rows) :]
    statistics = ["NA" if r.statistic is None else f"{r.statistic:.3f}" for r in rows]
    p_values = _p_column([r.p_value for r in rows])
    stars = [significance(r.p_value) for r in rows]
    return _columns(
        [_term(r.term) for r in rows],
        {
            "Estimate": estimates,
            "Std.Error": errors,
            f"{name} value": statistics,
            f"Pr(>|{name}|)": p_values,
            "": [s.ljust(3) for s in stars],
        },
    )


def _penalized_lines(rows: Sequence[CoefficientRow]) -> list[str]:
    estimates = _joint([r.estimate for r in rows])
    shown = [e if r.estimate != 0 or r.term == "(Intercept)" else "." for e, r in zip(estimates, rows, strict=True)]
    return _columns([_term(r.term) for r in rows], {"Estimate": shown})


def _interval_lines(rows: Sequence[CoefficientRow]) -> list[str]:
    values = _joint([r.ci_low for r in rows] + [r.ci_high for r in rows])
    return _columns([_term(r.term) for r in rows], {"2.5 %": values[: len(rows)], "97.5 %": values[len(rows) :]})


def _fit_lines(fit: FitStatistics, method: str) -> list[str]:
    """The lines under R's table: residual error, R² and F (lm); deviances and AIC (glm)."""
    lines: list[str] = []
    df_resid = _whole(fit.df_resid)
    if method == "ols":
        if fit.residual_std_error is not None:
            lines.append(f"Residual standard error: {_sig(fit.residual_std_error)} on {df_resid} degrees of freedom")
        if fit.r_squared is not None and fit.adj_r_squared is not None:
            lines.append(f"Multiple R-squared: {_sig(fit.r_squared)}, Adjusted R-squared: {_sig(fit.adj_r_squared)}")
        if fit.f_statistic is not None:
            lines.append(
                f"F-statistic: {_sig(fit.f_statistic)} on {_whole(fit.df_model)} and {df_resid} DF, "
                f"p-value: {_p_text(fit.f_p_value, digits=4)}"
            )
        tests = []
        if fit.jarque_bera_p_value is not None:
            tests.append(f"Jarque-Bera p: {_p_text(fit.jarque_bera_p_value)}")
        if fit.breusch_pagan_p_value is not None:
            tests.append(f"Breusch-Pagan p: {_p_text(fit.breusch_pagan_p_value)}")
        if tests:
            lines.append(", ".join(tests))
    else:
        if fit.null_log_likelihood is not None:
            df_null = _whole(fit.df_model + fit.df_resid)
            lines.append(f"    Null deviance: {-2 * fit.null_log_likelihood:.3f} on {df_null} degrees of freedom")
        if fit.log_likelihood is not None:
            lines.append(f"Residual deviance: {-2 * fit.log_likelihood:.3f} on {df_resid} degrees of freedom")
        if fit.aic is not None:
            lines.append(f"AIC: {fit.aic:.3f}, BIC: {_sig(fit.bic)}" if fit.bic is not None else f"AIC: {fit.aic:.3f}")
        if fit.pseudo_r_squared is not None:
            lines.append(
                f"McFadden pseudo R-squared: {_sig(fit.pseudo_r_squared)}, "
                f"LLR p-value: {_p_text(fit.llr_p_value)}"
            )
    if fit.log_likelihood is not None and method == "ols":
        lines.append(f"Log-likelihood: {_sig(fit.log_likelihood)}, AIC: {_sig(fit.aic)}, BIC: {_sig(fit.bic)}")
    return lines


def _columns(terms: list[str], columns: dict[str, list[str]]) -> list[str]:
    """Terms left-aligned, each column right-aligned under its header."""
    width = max(len(t) for t in terms)
    widths = {h: max(len(h), *(len(v) for v in values)) for h, values in columns.items()}
    header = " " * width + "".join(f" {h:>{widths[h]}}" for h in columns)
    lines = [header.rstrip()]
    for i, term in enumerate(terms):
        cells = "".join(f" {values[i]:>{widths[h]}}" for h, values in columns.items())
        lines.append(f"{term:<{width}}{cells}".rstrip())
    return lines


def _joint(values: Sequence[float | None], *, digits: int = _DIGITS) -> list[str]:
    """One column formatted as R's format() does: one number of decimals for all, enough to show
    each value to `digits` significant digits; scientific when that is narrower (R's formatReal)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    decimals = max((_decimals_needed(v, digits) for v in finite), default=0)
    scientific = ["NA" if v is None else f"{v:.{digits - 1}e}" for v in values]
    if decimals > _MAX_DECIMALS:
        return scientific
    fixed = ["NA" if v is None else f"{v:.{decimals}f}" for v in values]
    return scientific if max(map(len, fixed), default=0) > max(map(len, scientific), default=0) else fixed


def _decimals_needed(value: float, digits: int) -> int:
    if value == 0:
        return 0
    exponent = math.floor(math.log10(abs(value)))
    places = max(0, digits - 1 - exponent)
    return len(f"{abs(value):.{places}f}".partition(".")[2].rstrip("0"))


def _p_column(values: Sequence[float | None]) -> list[str]:
    """R's format.pval(digits = 3): p >= 0.001 and smaller ones each formatted together,
    below machine precision '< 2e-16'."""
    large = [v for v in values if v is not None and v >= 1e-3]
    small = [v for v in values if v is not None and _TINY_P <= v < 1e-3]
    shown = dict(zip(large, _joint(large, digits=3), strict=True))
    shown |= dict(zip(small, _joint(small, digits=3), strict=True))
    return [shown[v] if v in shown else _p_text(v) for v in values]


def _p_text(value: float | None, *, digits: int = 3) -> str:
    """One p-value as R prints it: '< 2e-16' (a table) or '< 2.2e-16' (4 digits), '1.12e-06', '0.00145'."""
    if value is None:
        return "NA"
    if value < _TINY_P:
        return "< 2e-16" if digits < 4 else "< 2.2e-16"
    if value < 1e-3:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def _sig(value: float | None) -> str:
    """R's format(signif(x, 4)): 19740 rather than 1.974e+04, scientific only when narrower."""
    if value is None or not math.isfinite(value):
        return "NA"
    return _joint([float(f"{value:.{_DIGITS}g}")])[0]


def _whole(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _term(term: str) -> str:
    return term if len(term) <= _TERM_WIDTH else term[: _TERM_WIDTH - 1] + "…"
