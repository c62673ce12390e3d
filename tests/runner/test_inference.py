"""Coefficient tables from training jobs in containers equal statsmodels' and R's own numbers.

mtcars (R's datasets, public domain) ships in tests/runner/data with R's printed summaries of
lm(mpg ~ wt + hp) and glm(am ~ wt + hp, family = binomial) as reference values. longley (public
domain) and spector ship there too, as statsmodels distributes them, with the certified results
statsmodels tests itself against: NIST's StRD values for longley, Stata's logit for spector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.outliers_influence import variance_inflation_factor

from runner.spec import Inference, ModelType, PredictSpec, TrainSpec

pytestmark = pytest.mark.docker

MTCARS = pd.read_csv(Path(__file__).parent / "data" / "mtcars.csv")
LONGLEY = pd.read_csv(Path(__file__).parent / "data" / "longley.csv")
SPECTOR = pd.read_csv(Path(__file__).parent / "data" / "spector.csv")
TOLERANCE = 1e-6

# summary(lm(mpg ~ wt + hp, data = mtcars)) in R, as printed: (value, printed decimals).
R_LM = {
    "(Intercept)": {"estimate": (37.22727, 5), "std_error": (1.59879, 5), "statistic": (23.285, 3)},
    "wt": {"estimate": (-3.87783, 5), "std_error": (0.63273, 5), "statistic": (-6.129, 3), "p_value": (1.12e-06, 8)},
    "hp": {"estimate": (-0.03177, 5), "std_error": (0.00903, 5), "statistic": (-3.519, 3), "p_value": (0.00145, 5)},
}
R_LM_FIT = {
    "r_squared": (0.8268, 4),
    "adj_r_squared": (0.8148, 4),
    "f_statistic": (69.21, 2),
    "f_p_value": (9.109e-12, 15),
    "residual_std_error": (2.593, 3),
    "df_resid": (29, 0),
    "df_model": (2, 0),
}
# summary(glm(am ~ wt + hp, data = mtcars, family = binomial)) in R, as printed.
R_GLM = {
    "(Intercept)": {"estimate": (18.86630, 5), "std_error": (7.44356, 5), "statistic": (2.535, 3), "p_value": (0.01126, 5)},
    "wt": {"estimate": (-8.08348, 5), "std_error": (3.06868, 5), "statistic": (-2.634, 3), "p_value": (0.00843, 5)},
    "hp": {"estimate": (0.03626, 5), "std_error": (0.01773, 5), "statistic": (2.044, 3), "p_value": (0.04091, 5)},
}
R_GLM_AIC = (16.059, 3)
R_GLM_DEVIANCE = {"null": (43.230, 3), "residual": (10.059, 3)}
# NIST StRD certified values for Longley (statsmodels' regression/tests/results/results_regression.py).
LONGLEY_FEATURES = ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]
NIST_LONGLEY = {
    "params": [15.0618722713733, -0.358191792925910e-01, -2.02022980381683, -1.03322686717359,
               -0.511041056535807e-01, 1829.15146461355, -3482258.63459582],
    "bse": [84.9149257747669, 0.334910077722432e-01, 0.488399681651699, 0.214274163161675,
            0.226073200069370, 455.478499142212, 890420.383607373],
    "residual_std_error": 92936.0061673238**0.5,
    "r_squared": 0.995479004577296,
    "f_statistic": 330.285339234588,
}
# Stata's logit GRADE ~ GPA + TUCE + PSI on spector (statsmodels' discrete/tests/results/results_discrete.py).
SPECTOR_FEATURES = ["GPA", "TUCE", "PSI"]
STATA_SPECTOR = {
    "params": [2.82611297201, 0.0951576702557, 2.37868772835, -13.0213483201],
    "bse": [1.26294114526, 0.141554207662, 1.06456430165, 4.93132462871],
    "log_likelihood": -12.8896334653335,
    "null_log_likelihood": -20.5917296966173,
    "pseudo_r_squared": 0.374038332124624,
    "llr_p_value": 0.00150187761112892,
    "aic": 33.779266930667,
    "bic": 39.642210541866,
}


def _as_printed(value: float, printed: tuple[float, int]) -> bool:
    """`value` rounds to what R printed (to its decimals, or its significant digits when tiny)."""
    reference, decimals = printed
    return abs(value - reference) <= 0.5 * 10.0**-decimals + 1e-12


@pytest.fixture
def train(container_job, job_ids):
    """Train in a job container; the outcome's table, checked to be the one kept with the model."""

    def run(frame: pd.DataFrame, **fields) -> tuple[Inference | None, object]:
        trained = container_job("train", TrainSpec(**{**job_ids(), **fields}), frame)
        assert trained.exit_code == 0, trained.result["error"]
        raw = trained.result["train"]["inference"]
        assert trained.metadata["inference"] == raw  # kept in the model's record
        return (Inference.model_validate(raw) if raw else None), trained

    return run


def _rows(inference: Inference) -> dict[str, dict[str, float | None]]:
    return {row.term: row.model_dump(exclude={"term"}) for row in inference.coefficients}


def _assert_equals_statsmodels(inference: Inference, fit, names: dict[str, str]) -> None:
    """Each row equals statsmodels' estimate, standard error, t/z, p-value and 95% interval."""
    rows = _rows(inference)
    interval = fit.conf_int(0.05)
    assert sorted(rows) == sorted(names.get(term, term) for term in fit.params.index)
    for term in fit.params.index:
        row = rows[names.get(term, term)]
        expected = {
            "estimate": fit.params[term],
            "std_error": fit.bse[term],
            "statistic": fit.tvalues[term],
            "p_value": fit.pvalues[term],
            "ci_low": interval.loc[term, 0],
            "ci_high": interval.loc[term, 1],
        }
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=TOLERANCE, abs=1e-12), (term, key)


def test_ols_table_equals_statsmodels_and_r_on_mtcars(train):
    inference, _ = train(MTCARS, target_column="mpg", feature_columns=["wt", "hp"], model_type=ModelType.LINEAR)

    fit = sm.OLS(MTCARS["mpg"], sm.add_constant(MTCARS[["wt", "hp"]])).fit()
    _assert_equals_statsmodels(inference, fit, {"const": "(Intercept)"})
    stats = inference.fit
    assert stats.nobs == 32 and inference.rows == 32 and inference.rows_missing == 0
    for key, value in {
        "r_squared": fit.rsquared,
        "adj_r_squared": fit.rsquared_adj,
        "f_statistic": fit.fvalue,
        "f_p_value": fit.f_pvalue,
        "residual_std_error": np.sqrt(fit.scale),
        "log_likelihood": fit.llf,
        "aic": fit.aic,
        "bic": fit.bic,
    }.items():
        assert getattr(stats, key) == pytest.approx(value, rel=TOLERANCE), key

    rows = _rows(inference)
    for term, printed in R_LM.items():
        for key, reference in printed.items():
            assert _as_printed(rows[term][key], reference), (term, key, rows[term][key])
    assert rows["(Intercept)"]["p_value"] < 2.2e-16  # R: < 2e-16
    for key, reference in R_LM_FIT.items():
        assert _as_printed(getattr(stats, key), reference), (key, getattr(stats, key))
    assert inference.note.startswith("Fitted on all 32 usable rows, as R's lm does")
    assert inference.warnings == []  # wt and hp: no collinearity, normal-looking residuals


def test_logit_table_equals_statsmodels_and_r_on_mtcars(train):
    inference, _ = train(MTCARS, target_column="am", feature_columns=["wt", "hp"], model_type=ModelType.LOGISTIC)

    fit = sm.Logit(MTCARS["am"], sm.add_constant(MTCARS[["wt", "hp"]])).fit(disp=0)
    _assert_equals_statsmodels(inference, fit, {"const": "(Intercept)"})
    stats = inference.fit
    for key, value in {
        "pseudo_r_squared": fit.prsquared,
        "log_likelihood": fit.llf,
        "null_log_likelihood": fit.llnull,
        "aic": fit.aic,
        "bic": fit.bic,
        "llr_p_value": fit.llr_pvalue,
    }.items():
        assert getattr(stats, key) == pytest.approx(value, rel=TOLERANCE), key
    assert inference.response == "log-odds(am = 1)"

    rows = _rows(inference)
    for term, printed in R_GLM.items():
        for key, reference in printed.items():
            assert _as_printed(rows[term][key], reference), (term, key, rows[term][key])
    assert _as_printed(stats.aic, R_GLM_AIC)
    assert _as_printed(-2 * stats.null_log_likelihood, R_GLM_DEVIANCE["null"])
    assert _as_printed(-2 * stats.log_likelihood, R_GLM_DEVIANCE["residual"])
    assert inference.note.startswith("Fitted on all 32 usable rows, as R's glm does")


def test_ols_table_equals_nist_certified_values_on_longley(train):
    inference, _ = train(
        LONGLEY, target_column="TOTEMP", feature_columns=LONGLEY_FEATURES, model_type=ModelType.LINEAR
    )

    fit = sm.OLS(LONGLEY["TOTEMP"], sm.add_constant(LONGLEY[LONGLEY_FEATURES], prepend=False)).fit()
    _assert_equals_statsmodels(inference, fit, {"const": "(Intercept)"})
    rows = _rows(inference)
    terms = [*LONGLEY_FEATURES, "(Intercept)"]
    for term, estimate, error in zip(terms, NIST_LONGLEY["params"], NIST_LONGLEY["bse"], strict=True):
        assert rows[term]["estimate"] == pytest.approx(estimate, rel=TOLERANCE), term
        assert rows[term]["std_error"] == pytest.approx(error, rel=TOLERANCE), term
    for key in ("residual_std_error", "r_squared", "f_statistic"):
        assert getattr(inference.fit, key) == pytest.approx(NIST_LONGLEY[key], rel=TOLERANCE), key
    # Longley is the textbook case of collinear columns: the answer says so, naming them.
    assert any(w.startswith("Strong collinearity") and "GNP" in w for w in inference.warnings)


def test_logit_table_equals_stata_on_spector(train):
    inference, _ = train(
        SPECTOR, target_column="GRADE", feature_columns=SPECTOR_FEATURES, model_type=ModelType.LOGISTIC
    )

    fit = sm.Logit(SPECTOR["GRADE"], sm.add_constant(SPECTOR[SPECTOR_FEATURES], prepend=False)).fit(disp=0)
    _assert_equals_statsmodels(inference, fit, {"const": "(Intercept)"})
    rows = _rows(inference)
    terms = [*SPECTOR_FEATURES, "(Intercept)"]
    for term, estimate, error in zip(terms, STATA_SPECTOR["params"], STATA_SPECTOR["bse"], strict=True):
        assert rows[term]["estimate"] == pytest.approx(estimate, rel=TOLERANCE), term
        assert rows[term]["std_error"] == pytest.approx(error, rel=TOLERANCE), term
    for key in ("log_likelihood", "null_log_likelihood", "pseudo_r_squared", "llr_p_value", "aic", "bic"):
        assert getattr(inference.fit, key) == pytest.approx(STATA_SPECTOR[key], rel=TOLERANCE), key
    assert inference.fit.nobs == 32 and inference.response == "log-odds(GRADE = 1)"


def test_categories_are_treatment_coded_against_the_first_level_like_r(train, houses):
    features = ["age", "size", "rooms", "city"]
    inference, _ = train(houses, target_column="price", feature_columns=features, model_type=ModelType.LINEAR)

    # statsmodels' formula interface drops rows with a missing value, as R's lm does.
    fit = smf.ols("price ~ age + size + rooms + C(city)", data=houses).fit()
    levels = sorted(houses["city"].dropna().unique())
    names = {"Intercept": "(Intercept)"} | {f"C(city)[T.{level}]": f"city[{level}]" for level in levels[1:]}
    _assert_equals_statsmodels(inference, fit, names)
    assert f"city[{levels[0]}]" not in _rows(inference)  # the reference level
    missing = len(houses) - int(fit.nobs)
    assert missing > 0 and inference.rows_missing == missing and inference.rows == int(fit.nobs)
    assert f"({missing} rows with a missing value left out, as R's na.omit)" in inference.note
    assert inference.fit.r_squared == pytest.approx(fit.rsquared, rel=TOLERANCE)


def test_collinear_columns_are_named_and_an_exact_copy_is_not_estimated(train):
    rng = np.random.default_rng(3)
    x1 = rng.normal(size=200)
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": x1 + rng.normal(scale=0.05, size=200),  # nearly a copy of x1
            "x3": rng.normal(size=200),
            "x1_again": x1 * 2.0,  # exactly a multiple of x1
        }
    )
    frame["y"] = 1.0 + frame["x1"] + frame["x3"] + rng.normal(size=200)
    inference, _ = train(frame, target_column="y", model_type=ModelType.LINEAR)

    assert inference.aliased == ["x1_again"]
    assert "x1_again" not in _rows(inference)
    assert any("'x1_again' is an exact linear combination" in w and "R shows NA" in w for w in inference.warnings)
    design = sm.add_constant(frame[["x1", "x2", "x3"]])
    vif = {name: variance_inflation_factor(design.to_numpy(), i) for i, name in enumerate(design.columns) if i}
    assert vif["x1"] > 10 and vif["x2"] > 10 and vif["x3"] < 10
    collinearity = next(w for w in inference.warnings if w.startswith("Strong collinearity"))
    assert f"x1 (VIF {vif['x1']:,.1f})" in collinearity and f"x2 (VIF {vif['x2']:,.1f})" in collinearity
    assert "x3" not in collinearity
    _assert_equals_statsmodels(inference, sm.OLS(frame["y"], design).fit(), {"const": "(Intercept)"})


def test_perfect_separation_is_said_in_words(train):
    rng = np.random.default_rng(5)
    score = rng.normal(size=120)
    frame = pd.DataFrame({"score": score, "noise": rng.normal(size=120), "passed": (score > 0).astype(int)})
    inference, trained = train(frame, target_column="passed", model_type=ModelType.LOGISTIC)

    said = " ".join([inference.note, *inference.warnings])
    assert "separat" in said and "'score'" in said and "'noise'" not in said
    assert trained.result["train"]["metrics"]["test"]["accuracy"] > 0.9  # the model itself is kept


def test_lasso_reports_zeros_and_coefficients_on_the_original_scale(train, container_job, job_ids, houses):
    features = ["age", "size", "rooms", "city"]
    fields = {
        "target_column": "price",
        "feature_columns": features,
        "model_type": ModelType.LASSO,
        "hyperparameters": {"alpha": 5000.0, "max_iter": 5000},
    }
    inference, trained = train(houses, **fields)

    assert inference.method == "penalized" and inference.fit is None
    assert all(row.std_error is None and row.p_value is None for row in inference.coefficients)
    assert "no standard errors or p-values" in inference.note.lower()
    rows = {row.term: row.estimate for row in inference.coefficients}
    assert inference.zeroed and all(rows[term] == 0.0 for term in inference.zeroed)
    assert all(value != 0.0 for term, value in rows.items() if term not in inference.zeroed)

    # On the columns' own units: the coefficients reproduce the saved model's predictions.
    complete = houses[features].dropna().reset_index(drop=True)
    predicted = container_job(
        "predict",
        PredictSpec(**{**job_ids(), "model_id": trained.result["model_id"]}),
        complete,
        model_dir=trained.model_dir,
    )
    assert predicted.exit_code == 0, predicted.result["error"]
    by_hand = np.full(len(complete), rows["(Intercept)"])
    for term, value in rows.items():
        if term in ("age", "size", "rooms"):
            by_hand += value * complete[term].to_numpy(dtype=float)
        elif term.startswith("city["):
            by_hand += value * (complete["city"] == term[5:-1]).to_numpy(dtype=float)
    np.testing.assert_allclose(predicted.predictions()["prediction"], by_hand, rtol=1e-9)


def test_models_without_coefficients_report_none_and_many_classes_say_why(train, houses):
    table, _ = train(houses, target_column="price", model_type=ModelType.RANDOM_FOREST, hyperparameters={"n_estimators": 10})
    assert table is None

    lengths = np.r_[np.linspace(1, 2, 20), np.linspace(1.5, 3, 20), np.linspace(2.5, 4, 20)]
    flowers = pd.DataFrame({"length": lengths, "kind": ["a"] * 20 + ["b"] * 20 + ["c"] * 20})
    inference, _ = train(flowers, target_column="kind", model_type=ModelType.LOGISTIC)
    assert inference.coefficients == [] and "two classes" in inference.note and "3 classes" in inference.note
