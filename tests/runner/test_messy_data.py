"""Real tables are messy: gaps, text categories, dates, IDs, copies of the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runner.spec import ModelType

HOSTILE = [
    "__import__('os').system('id')",
    "$(rm -rf /); `reboot` && echo $HOME | cat > x",
    'it\'s "quoted" \\ back\\slash {0} %s',
    "prix € – 価格 🚀 naïve",
    "L" * 300,
]


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 80
    size = rng.uniform(30, 200, n)
    city = rng.choice(["north", "south", "east"], n).astype(object)
    sold = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    garden = rng.choice([True, False], n)
    price = 1000 * size + pd.Series(city).map({"north": 0, "south": 20000, "east": 50000}).to_numpy()
    price = price + 20 * (sold - sold.min()).days.to_numpy() + 15000 * garden + rng.normal(0, 5000, n)
    table = pd.DataFrame(
        {
            "row_id": np.arange(1000, 1000 + n),
            "customer": [f"C{i:05d}" for i in rng.permutation(n)],
            "size": size,
            "city": city,
            "sold_on": sold.strftime("%Y-%m-%d"),
            "listed": sold - pd.Timedelta(days=30),
            "garden": garden,
            "country": "NL",
            "price_in_cents": price * 100,
            "price": price,
        }
    )
    table.loc[[1, 5, 9], "size"] = np.nan
    table.loc[[2, 7], "city"] = None
    table.loc[[3, 11], "price"] = np.nan
    return table


def test_messy_table_trains_with_reasons(jobs, messy):
    trained = jobs.train(
        messy,
        target_column="price",
        model_type=ModelType.GRADIENT_BOOSTING,
        hyperparameters={"n_estimators": 50, "max_depth": 3},
    )
    assert trained.exit_code == 0, trained.result["error"]
    outcome = trained.result["train"]
    assert {d["column"]: d["reason"] for d in outcome["dropped_columns"]} == {
        "row_id": "it numbers the rows one by one, like an ID",
        "customer": "it has a different value in every row, like an ID",
        "country": "it has the same value in every row",
        "price_in_cents": "it is (almost) a copy of the column to predict",
    }
    assert outcome["rows_dropped"] == {"missing_target": 2}
    assert outcome["rows_used"] == 78
    assert outcome["feature_columns"] == ["size", "city", "sold_on", "listed", "garden"]
    preprocessing = trained.metadata["preprocessing"]
    assert preprocessing["numeric_columns"] == ["size"]
    assert preprocessing["categorical_columns"] == ["city", "garden"]
    assert preprocessing["date_columns"] == ["sold_on", "listed"]
    schema = {column["name"]: column for column in trained.metadata["input_schema"]}
    assert schema["city"]["categories"] == ["east", "north", "south"]
    assert schema["garden"]["categories"] == ["False", "True"]
    assert schema["sold_on"]["first"] < schema["sold_on"]["last"]
    assert 30 <= schema["size"]["min"] < schema["size"]["max"] <= 200
    assert outcome["metrics"]["test"]["r2"] > 0.8

    new = messy.drop(columns=["price"]).head(6)
    predicted = jobs.predict(trained, new)
    assert predicted.exit_code == 0, predicted.result["error"]
    assert set(predicted.result["predict"]["ignored_columns"]) == {
        "row_id",
        "customer",
        "country",
        "price_in_cents",
    }
    assert np.isfinite(predicted.predictions()["prediction"]).all()


def test_drop_strategy_removes_incomplete_rows(jobs, messy):
    trained = jobs.train(
        messy,
        target_column="price",
        model_type=ModelType.RIDGE,
        hyperparameters={"alpha": 1.0},
        preprocessing={"missing_strategy": "drop", "scaling": "robust"},
    )
    assert trained.exit_code == 0, trained.result["error"]
    with_target = messy[messy["price"].notna()]
    incomplete = int(with_target[["size", "city"]].isna().any(axis=1).sum())
    assert trained.result["train"]["rows_dropped"] == {"missing_target": 2, "missing_values": incomplete}
    assert trained.result["train"]["rows_used"] == len(with_target) - incomplete
    assert trained.metadata["preprocessing"]["scaler_type"] == "robust"


def test_infinities_and_a_column_with_values_only_in_test_rows(jobs):
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(8)
    n = 50
    table = pd.DataFrame({"x": rng.normal(size=n), "note": pd.Series([None] * n, dtype=object)})
    table["y"] = 3 * table["x"] + rng.normal(0, 1, n)
    table.loc[0, "x"], table.loc[1, "y"] = np.inf, -np.inf
    # The hold-out split the runner makes (seed 42, 20%) of the rows with a target:
    # "note" has values only in test rows.
    kept = np.delete(np.arange(n), 1)
    _, test_rows = train_test_split(kept, test_size=0.2, random_state=42)
    table.loc[test_rows[:2], "note"] = ["late", "early"]

    trained = jobs.train(table, target_column="y", model_type=ModelType.LINEAR)
    assert trained.exit_code == 0, trained.result["error"]
    outcome = trained.result["train"]
    assert outcome["feature_columns"] == ["x", "note"]
    assert outcome["rows_dropped"] == {"missing_target": 1}
    assert "Column 'x': 1 value(s) are infinite and were treated as missing." in outcome["warnings"]
    assert outcome["metrics"]["test"]["r2"] > 0.5


def test_hostile_column_names_come_back_verbatim(jobs):
    rng = np.random.default_rng(5)
    n = 60
    table = pd.DataFrame({name: rng.normal(size=n) for name in HOSTILE[:3]})
    table[HOSTILE[3]] = rng.choice(["a'; rm -rf ~", "b$(x)", "c"], n)
    table[HOSTILE[4]] = "constant"
    target = "y; DROP TABLE models; --"
    table[target] = (
        table[HOSTILE[0]] * 3 - table[HOSTILE[1]] + (table[HOSTILE[3]] == "c") + rng.normal(0, 0.1, n)
    )

    trained = jobs.train(
        table, target_column=target, model_type=ModelType.RANDOM_FOREST, hyperparameters={"n_estimators": 20}
    )
    assert trained.exit_code == 0, trained.result["error"]
    outcome = trained.result["train"]
    assert outcome["target_column"] == target
    assert outcome["feature_columns"] == HOSTILE[:4]
    assert set(outcome["feature_importance"]) == set(HOSTILE[:4])
    assert outcome["dropped_columns"] == [
        {"column": HOSTILE[4], "reason": "it has the same value in every row"}
    ]
    assert trained.metadata["feature_columns"] == HOSTILE[:4]
    schema = {column["name"]: column for column in trained.metadata["input_schema"]}
    assert schema[HOSTILE[3]]["categories"] == ["a'; rm -rf ~", "b$(x)", "c"]

    new = table.drop(columns=[target]).head(5)
    predicted = jobs.predict(trained, new)
    assert predicted.exit_code == 0, predicted.result["error"]
    assert predicted.result["predict"]["ignored_columns"] == [HOSTILE[4]]
    assert list(predicted.predictions().columns) == [*new.columns, "prediction"]
    as_csv = pd.read_csv(predicted.output / "predictions.csv")
    assert list(as_csv.columns) == [*new.columns, "prediction"]


def test_category_codes_read_as_decimals_at_prediction_are_the_codes_of_training(jobs):
    rng = np.random.default_rng(3)
    codes = rng.choice(["10115", "10117", "20095"], 120)
    train = pd.DataFrame({"zip": codes, "size": rng.uniform(30, 150, 120)})
    train.loc[0, "zip"] = "unknown"  # why the column is text in training
    train["price"] = train["size"] * 3 + train["zip"].map({"10115": 90, "10117": 60, "20095": 10}).fillna(0)
    model = jobs.train(train, target_column="price", model_type="linear")
    assert model.exit_code == 0, model.result["error"]

    # The new file has a blank, so pandas reads its codes as decimals: 10115.0.
    as_decimals = pd.DataFrame({"zip": [10115.0, np.nan, 20095.0, 10117.0], "size": [50.0, 60.0, 70.0, 80.0]})
    as_text = as_decimals.assign(zip=["10115", None, "20095", "10117"])
    scored, expected = jobs.predict(model, as_decimals), jobs.predict(model, as_text)
    assert scored.exit_code == 0, scored.result["error"]
    issues = {(f["column"], f["issue"]) for f in scored.result["predict"]["flags"]}
    assert ("zip", "unseen_category") not in issues
    assert np.allclose(scored.predictions()["prediction"], expected.predictions()["prediction"])
