"""A small table and a user's models, shared by the parser tests (a module: parametrize needs them)."""

from __future__ import annotations

from bot.parsing import TableInfo

HOUSES = TableInfo(
    columns=["price", "age", "size", "location", "id", "prize", "Sale Price", "outcome", "Profit and Loss"],
    kinds={
        "price": "numeric",
        "age": "numeric",
        "size": "numeric",
        "location": "categorical",
        "id": "numeric",
        "prize": "numeric",
        "Sale Price": "numeric",
        "outcome": "categorical",
        "Profit and Loss": "numeric",
    },
)
MODEL_IDS = ["model_1a2b3c4d", "model_00ff00ff"]  # newest first, as the store lists them

_BOSTON_COLUMNS = "crim zn indus chas nox rm age dis rad tax ptratio b lstat medv".split()
BOSTON = TableInfo(
    columns=_BOSTON_COLUMNS, kinds={c: "numeric" for c in _BOSTON_COLUMNS}, distinct={"chas": 2, "rad": 9}
)
