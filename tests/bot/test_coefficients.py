"""The coefficient table in chat reads like R's summary(lm)/summary(glm) on the same data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bot import Text
from bot._coefficients import (
    coefficient_replies,
    coefficient_texts,
    significance,
    significant_terms,
    stored_inference,
    term_answers,
)
from runner._inference import coefficient_table
from runner.pipeline import build_pipeline, prepare_training
from runner.spec import MAX_INFERENCE_TERMS, CoefficientRow, Inference, ModelType, TrainSpec

DATA = Path(__file__).parents[1] / "runner" / "data"
MTCARS = pd.read_csv(DATA / "mtcars.csv")
LONGLEY = pd.read_csv(DATA / "longley.csv")
PHONE_WIDTH = 60

# R 4.x, summary(lm(mpg ~ wt + hp, data = mtcars)) and summary(glm(am ~ wt + hp, binomial)):
# the coefficient rows as printed, split into words.
R_LM_ROWS = [
    "(Intercept) 37.22727 1.59879 23.285 < 2e-16 ***",
    "wt -3.87783 0.63273 -6.129 1.12e-06 ***",
    "hp -0.03177 0.00903 -3.519 0.00145 **",
]
R_LM_LINES = [
    "Residual standard error: 2.593 on 29 degrees of freedom",
    "F-statistic: 69.21 on 2 and 29 DF, p-value: 9.109e-12",
]
R_GLM_ROWS = [
    "(Intercept) 18.86630 7.44356 2.535 0.01126 *",
    "wt -8.08348 3.06868 -2.634 0.00843 **",
    "hp 0.03626 0.01773 2.044 0.04091 *",
]


def _table(target: str, model_type: ModelType, frame: pd.DataFrame = MTCARS, features=("wt", "hp")) -> Inference:
    spec = TrainSpec(
        job_id="job_000000000001",
        model_id="model_00000001",
        user_id="tester",
        target_column=target,
        feature_columns=list(features),
        model_type=model_type,
    )
    data = prepare_training(spec=spec, frame=frame)
    model = build_pipeline(spec=spec, data=data).fit(data.X, data.y)
    inference = coefficient_table(model_type=model_type, data=data, model=model, train_rows=len(data.X))
    assert inference is not None
    return inference


def _words(lines: list[str]) -> list[str]:
    return [" ".join(line.split()) for line in lines]


def test_ols_table_prints_like_r_summary_lm():
    block, notes = coefficient_texts(_table("mpg", ModelType.LINEAR))
    lines = block.splitlines()
    assert lines[0] == "Coefficients of mpg: OLS on 32 rows"
    assert _words(lines[1].split()) == ["Estimate", "Std.Error", "t", "value", "Pr(>|t|)"]
    assert _words(lines[2:5]) == R_LM_ROWS
    assert "Signif. codes: 0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1" in lines
    assert all(line in lines for line in R_LM_LINES)
    assert "Multiple R-squared: 0.8268, Adjusted R-squared: 0.8148" in lines
    # Fixed-width columns: each number column ends at the same place on every row.
    ends = {len(line.rstrip(" *.")) for line in lines[2:5]}
    assert len({line.index("Pr(>|t|)") + len("Pr(>|t|)") for line in lines[1:2]} | ends) == 1
    assert max(len(line) for line in lines if not line.startswith(("F-statistic", "Signif", "Fitted"))) <= PHONE_WIDTH
    assert notes.startswith("Fitted on all 32 usable rows, as R's lm does")


def test_numbers_too_wide_to_print_fixed_are_scientific_as_r_prints_longley():
    features = ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]
    block, _ = coefficient_texts(_table("TOTEMP", ModelType.LINEAR, LONGLEY, features))
    rows = _words(block.splitlines()[2:9])
    # R: (Intercept) -3.482e+06 8.904e+05 -3.911 0.00356 ** (estimates and errors share a format)
    assert rows[0] == "(Intercept) -3.482e+06 8.904e+05 -3.911 0.00356 **"
    assert rows[4] == "ARMED -1.033e+00 2.143e-01 -4.822 0.000944 ***"  # p < 0.001: formatted apart
    assert max(len(line) for line in block.splitlines()[:9]) <= PHONE_WIDTH


def test_logit_table_prints_like_r_summary_glm():
    block, _ = coefficient_texts(_table("am", ModelType.LOGISTIC))
    lines = block.splitlines()
    assert lines[0] == "Coefficients of log-odds(am = 1): logit on 32 rows"
    assert "z value" in lines[1] and "Pr(>|z|)" in lines[1]
    assert _words(lines[2:5]) == R_GLM_ROWS
    assert "    Null deviance: 43.230 on 31 degrees of freedom" in lines
    assert "Residual deviance: 10.059 on 29 degrees of freedom" in lines
    assert any(line.startswith("AIC: 16.059") for line in lines)
    assert "95% confidence intervals:" in lines


def test_stars_follow_r_signif_codes():
    assert [significance(p) for p in (0.0005, 0.005, 0.03, 0.07, 0.5, None)] == ["***", "**", "*", ".", "", ""]


def test_penalized_table_shows_zeros_as_dots_and_says_why_no_p_values():
    inference = Inference(
        method="penalized",
        response="price",
        rows=96,
        coefficients=[
            CoefficientRow(term="(Intercept)", estimate=-1074300.68),
            CoefficientRow(term="age", estimate=0.0),
            CoefficientRow(term="size", estimate=2440.39),
            CoefficientRow(term="city[Riverton]", estimate=0.0),
        ],
        terms_total=4,
        zeroed=["age", "city[Riverton]"],
        note="No standard errors or p-values: a penalty pulls the estimates toward zero on purpose.",
    )
    block, notes = coefficient_texts(inference)
    rows = _words(block.splitlines()[2:])
    assert rows == ["(Intercept) -1074301", "age .", "size 2440", "city[Riverton] ."]  # 4 digits, as R
    assert "Std.Error" not in block and "Signif. codes" not in block
    assert "Set to exactly zero by the penalty (left out of the model): age, city[Riverton]." in notes
    assert "No standard errors or p-values" in notes


def test_a_capped_table_says_how_many_terms_it_leaves_out_and_replies_are_monospace():
    rows = [CoefficientRow(term=f"x{i}", estimate=i + 0.5, std_error=1.0, statistic=i + 0.5, p_value=0.5)
            for i in range(MAX_INFERENCE_TERMS)]
    inference = Inference(method="ols", response="y", rows=500, coefficients=rows, terms_total=75, note="Fitted.")
    table, notes = coefficient_replies(inference)
    assert table == Text(table.text, monospace=True) and notes.monospace is False
    assert f"The table shows the first {MAX_INFERENCE_TERMS} of 75 terms." in notes.text
    assert coefficient_replies(None) == []


def test_a_table_without_rows_is_its_reason_in_words_and_old_records_have_none():
    reason = Inference(method="logit", response="kind", rows=60, note="A coefficient table ... 3 classes.")
    assert [r.text for r in coefficient_replies(reason)] == [reason.note]
    assert stored_inference({"model_id": "model_00000001"}) is None
    assert stored_inference({"inference": {"method": "nonsense"}}) is None
    assert stored_inference({"inference": reason.model_dump(mode="json")}) == reason


def test_a_question_naming_columns_gets_a_sentence_per_term():
    ols = _table("mpg", ModelType.LINEAR)
    assert term_answers(ols, "is hp significant?") == (
        "hp: -0.03177 per unit, p = 0.00145 **: significant at the 5% level."
    )
    assert term_answers(ols, "what are the coefficients?") is None  # no column named
    assert term_answers(ols, "is WT significant, and hp?").splitlines()[0].startswith("wt: -3.878 per unit, p = 1.12e-06 ***")
    logit = _table("am", ModelType.LOGISTIC)
    assert term_answers(logit, "is hp significant?").startswith("hp: 0.03626 per unit (odds × 1.037), p = 0.0409 *")
    inference = Inference(
        method="penalized", response="price", rows=96,
        coefficients=[CoefficientRow(term="(Intercept)", estimate=3.0), CoefficientRow(term="city[Riverton]", estimate=0.0),
                      CoefficientRow(term="size", estimate=2440.39)],
        zeroed=["city[Riverton]"], note="",
    )
    assert term_answers(inference, "is city significant? and size") == (
        "city[Riverton]: set to exactly zero by the penalty, so the model does not use it.\n"
        "size: 2440 per unit (penalized, so no p-value to test it)."
    )


def test_a_question_on_significance_names_the_terms_that_pass_at_five_percent():
    ols = _table("mpg", ModelType.LINEAR)  # R: wt 1.12e-06, hp 0.00145
    assert significant_terms(ols, "which predictors are significant?") == (
        "At the 5% level every term is significant: wt and hp."
    )
    assert significant_terms(ols, "what are the coefficients?") is None  # not asked
    rows = [
        CoefficientRow(term="(Intercept)", estimate=1.0, p_value=0.9),
        CoefficientRow(term="poverty", estimate=0.4, p_value=0.005),
        CoefficientRow(term="single", estimate=0.6, p_value=1e-11),
        CoefficientRow(term="urban", estimate=0.01, p_value=0.48),
    ]
    mixed = Inference(method="ols", response="murder", rows=51, coefficients=rows, note="")
    assert significant_terms(mixed, "show the p-values") == (
        "At the 5% level poverty and single are significant; urban is not."
    )
    penalized = mixed.model_copy(update={"method": "penalized"})
    assert significant_terms(penalized, "which are significant?") is None  # no p-values to test
