"""The offline parser: many phrasings, each checked field by field against a small table."""

from __future__ import annotations

from typing import Any

import pytest

from bot.parsing import Intent, OfflineParser, TableInfo
from bot.parsing._draft import asked
from parsing_data import BOSTON, HOUSES, MODEL_IDS


def case(
    text: str,
    intent: Intent,
    *,
    fields: dict[str, Any] | None = None,
    model_id: str | None = None,
    asks: list[str] | None = None,
    notes: list[str] | None = None,
) -> Any:
    return pytest.param(text, intent, fields or {}, model_id, asks or [], notes or [], id=text[:60])


PHRASINGS = [
    # -- The plan's scenarios (§10.2)
    case(
        "Train a linear regression model to predict price using age and size",
        Intent.TRAIN,
        fields={"model_type": "linear", "target_column": "price", "feature_columns": ["age", "size"]},
    ),
    case(
        "Train a random forest to classify outcome using all features",
        Intent.TRAIN,
        fields={"learning_task": "classification", "model_type": "random_forest", "target_column": "outcome"},
    ),
    case(
        "Train a linear regression model for price prediction",
        Intent.TRAIN,
        fields={"model_type": "linear", "target_column": "price"},
    ),
    # -- "all features", "everything except X", "all columns but X and Y"
    case(
        "train a random forest to predict price using all other columns",
        Intent.TRAIN,
        fields={"model_type": "random_forest", "target_column": "price"},
    ),
    case(
        "fit a gradient boosting model for price from everything except id",
        Intent.TRAIN,
        fields={
            "model_type": "gradient_boosting",
            "target_column": "price",
            "feature_columns": [
                "age",
                "size",
                "location",
                "prize",
                "Sale Price",
                "outcome",
                "Profit and Loss",
            ],
        },
    ),
    case(
        "Train an RF to predict price with all columns but id and location",
        Intent.TRAIN,
        fields={
            "model_type": "random_forest",
            "target_column": "price",
            "feature_columns": ["age", "size", "prize", "Sale Price", "outcome", "Profit and Loss"],
        },
    ),
    case(
        "predict price from age and size with a random forest, excluding location",
        Intent.TRAIN,
        fields={"model_type": "random_forest", "target_column": "price", "feature_columns": ["age", "size"]},
    ),
    # -- Column names: case, spaces, underscores, misspellings, ambiguity, names with 'and'
    case(
        "train a model to predict PRICE from Age and SIZE",
        Intent.TRAIN,
        fields={"target_column": "price", "feature_columns": ["age", "size"]},
        asks=["model_type"],
        notes=[
            "Matched 'PRICE' to column 'price'.",
            "Matched 'Age' to column 'age'.",
            "Matched 'SIZE' to column 'size'.",
        ],
    ),
    case(
        "predict sale_price using age with lasso",
        Intent.TRAIN,
        fields={"model_type": "lasso", "target_column": "Sale Price", "feature_columns": ["age"]},
        notes=["Matched 'sale_price' to column 'Sale Price'."],
    ),
    case(
        "Predict the sale price from AGE, Size using ridge regression",
        Intent.TRAIN,
        fields={"model_type": "ridge", "target_column": "Sale Price", "feature_columns": ["age", "size"]},
        notes=[
            "Matched 'sale price' to column 'Sale Price'.",
            "Matched 'AGE' to column 'age'.",
            "Matched 'Size' to column 'size'.",
        ],
    ),
    case(
        "Train a random forest to predict prise",
        Intent.TRAIN,
        fields={"model_type": "random_forest", "target_column": "prise"},
        asks=["column:prise"],
    ),
    case(
        "train a random forest to predict price using sise and aeg",
        Intent.TRAIN,
        fields={"model_type": "random_forest", "target_column": "price", "feature_columns": ["size", "aeg"]},
        asks=["column:aeg"],
        notes=["Matched 'sise' to column 'size'."],
    ),
    case(
        "train a random forest to predict price from profit and loss and age",
        Intent.TRAIN,
        fields={
            "model_type": "random_forest",
            "target_column": "price",
            "feature_columns": ["Profit and Loss", "age"],
        },
        notes=["Matched 'profit and loss' to column 'Profit and Loss'."],
    ),
    case(
        "train a linear regression to predict price using age and price",
        Intent.TRAIN,
        fields={"model_type": "linear", "target_column": "price", "feature_columns": ["age"]},
        notes=["'price' is the column to predict, so it is not used as a feature."],
    ),
    # -- Other ways of naming the target and the features
    # -- Model formulas: no model named means linear regression for numbers
    case(
        "price ~ age + size",
        Intent.TRAIN,
        fields={"target_column": "price", "feature_columns": ["age", "size"], "model_type": "linear"},
        notes=["No model named: 'price' holds numbers, so I will fit linear regression."],
    ),
    case(
        "lm(price ~ .)",
        Intent.TRAIN,
        fields={"model_type": "linear", "target_column": "price"},
    ),
    case(
        "fit a random forest with 300 trees: price ~ . - id - location",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"n_estimators": 300},
            "model_type": "random_forest",
            "target_column": "price",
            "feature_columns": ["age", "size", "prize", "Sale Price", "outcome", "Profit and Loss"],
        },
    ),
    case(
        "glm(outcome ~ age + size, family = binomial)",
        Intent.TRAIN,
        fields={"model_type": "logistic", "target_column": "outcome", "feature_columns": ["age", "size"]},
    ),
    case(
        "/train ridge `Sale Price` ~ age + `Profit and Loss`",
        Intent.TRAIN,
        fields={
            "model_type": "ridge",
            "target_column": "Sale Price",
            "feature_columns": ["age", "Profit and Loss"],
        },
    ),
    case(
        "regress price on age and size with an SVM",
        Intent.TRAIN,
        fields={
            "learning_task": "regression",
            "model_type": "svm",
            "target_column": "price",
            "feature_columns": ["age", "size"],
        },
    ),
    case(
        "use price as the target and age, size as features, model ridge",
        Intent.TRAIN,
        fields={"model_type": "ridge", "target_column": "price", "feature_columns": ["age", "size"]},
    ),
    case(
        "target: outcome, features: age, size, model: logistic regression",
        Intent.TRAIN,
        fields={"model_type": "logistic", "target_column": "outcome", "feature_columns": ["age", "size"]},
    ),
    # -- A missing or unfitting model, the kind of learning task
    case(
        "train a model to predict price", Intent.TRAIN, fields={"target_column": "price"}, asks=["model_type"]
    ),
    case(
        "train a random forest", Intent.TRAIN, fields={"model_type": "random_forest"}, asks=["target_column"]
    ),
    case(
        "Train a linear regression to predict outcome",
        Intent.TRAIN,
        fields={"model_type": "linear", "target_column": "outcome"},
        asks=["model_type"],
    ),
    case(
        "classify outcome with a random forest",
        Intent.TRAIN,
        fields={"learning_task": "classification", "model_type": "random_forest", "target_column": "outcome"},
    ),
    case(
        "predict whether outcome using logistic regression",
        Intent.TRAIN,
        fields={"learning_task": "classification", "model_type": "logistic", "target_column": "outcome"},
    ),
    case(
        "train a random forest or gradient boosting to predict price",
        Intent.TRAIN,
        fields={"target_column": "price"},
        asks=["model_type"],
        notes=[
            "You named more than one model (random forest, gradient boosting), so I am asking which one. To train "
            "each on the same folds and see which is best, write: random forest vs gradient boosting for price"
        ],
    ),
    case(
        "train a random forest regressor to predict price",
        Intent.TRAIN,
        fields={"learning_task": "regression", "model_type": "random_forest", "target_column": "price"},
    ),
    # -- Model names in common words
    case(
        "train a neural net to predict price",
        Intent.TRAIN,
        fields={"model_type": "neural_network", "target_column": "price"},
    ),
    case(
        "build a NN for price",
        Intent.TRAIN,
        fields={"model_type": "neural_network", "target_column": "price"},
    ),
    case(
        "train a deep learning model to predict price",
        Intent.TRAIN,
        fields={"model_type": "neural_network", "target_column": "price"},
    ),
    # -- Hyperparameters in words
    case(
        "train an SVM to predict outcome with kernel linear and C=10",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"C": 10.0, "kernel": "linear"},
            "model_type": "svm",
            "target_column": "outcome",
        },
    ),
    case(
        "train a support vector machine with an rbf kernel, C 0.5 and gamma auto to predict outcome",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"C": 0.5, "kernel": "rbf", "gamma": "auto"},
            "model_type": "svm",
            "target_column": "outcome",
        },
    ),
    case(
        "train a GBM to predict price, learning rate 0.05, 300 trees, max depth of 4, subsample 0.8",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"n_estimators": 300, "max_depth": 4, "learning_rate": 0.05, "subsample": 0.8},
            "model_type": "gradient_boosting",
            "target_column": "price",
        },
    ),
    case(
        "train boosted trees to predict price",
        Intent.TRAIN,
        fields={"model_type": "gradient_boosting", "target_column": "price"},
    ),
    case(
        "XGBoost-like model for price please",
        Intent.TRAIN,
        fields={"model_type": "gradient_boosting", "target_column": "price"},
        notes=["I do not have XGBoost; I will use gradient boosting, the closest I have."],
    ),
    case(
        "train a lasso with alpha 0.5 to predict price",
        Intent.TRAIN,
        fields={"hyperparameters": {"alpha": 0.5}, "model_type": "lasso", "target_column": "price"},
    ),
    case(
        "train a lasso with alpha 1e-3 to predict price",
        Intent.TRAIN,
        fields={"hyperparameters": {"alpha": 0.001}, "model_type": "lasso", "target_column": "price"},
    ),
    case(
        "train ridge regression with alpha 2 for price",
        Intent.TRAIN,
        fields={"hyperparameters": {"alpha": 2.0}, "model_type": "ridge", "target_column": "price"},
    ),
    case(
        "train an elastic net with alpha 0.5 and l1 ratio 0.3 to predict price",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"l1_ratio": 0.3, "alpha": 0.5},
            "model_type": "elasticnet",
            "target_column": "price",
        },
    ),
    case(
        "fit a polynomial of degree 3 to predict price from age",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"degree": 3},
            "model_type": "polynomial",
            "target_column": "price",
            "feature_columns": ["age"],
        },
    ),
    case(
        "fit a quadratic model to predict price from age",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"degree": 2},
            "model_type": "polynomial",
            "target_column": "price",
            "feature_columns": ["age"],
        },
    ),
    case(
        "train a random forest with 200 trees and depth 5 to predict price",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"n_estimators": 200, "max_depth": 5},
            "model_type": "random_forest",
            "target_column": "price",
        },
    ),
    case(
        "random forest for price, max_depth=8, min samples split 4, min samples leaf 2",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"max_depth": 8, "min_samples_split": 4, "min_samples_leaf": 2},
            "model_type": "random_forest",
            "target_column": "price",
        },
    ),
    case(
        "train a neural network to predict price with layers 128, 64, 50 epochs, batch size 64 and dropout 0.3",
        Intent.TRAIN,
        fields={
            "hyperparameters": {"epochs": 50, "batch_size": 64, "dropout": 0.3, "hidden_layers": [128, 64]},
            "model_type": "neural_network",
            "target_column": "price",
        },
    ),
    case(
        "train a neural net with 2 hidden layers of 32 neurons and 5-fold cross validation to predict price",
        Intent.TRAIN,
        fields={
            "validation": "cross_validation",
            "cv_folds": 5,
            "hyperparameters": {"hidden_layers": [32, 32]},
            "model_type": "neural_network",
            "target_column": "price",
        },
    ),
    # -- Validation and the test split
    case(
        "train a random forest to predict price with 5-fold cross validation",
        Intent.TRAIN,
        fields={
            "validation": "cross_validation",
            "cv_folds": 5,
            "model_type": "random_forest",
            "target_column": "price",
        },
    ),
    case(
        "train a lasso for price and cross-validate with 10 folds",
        Intent.TRAIN,
        fields={
            "validation": "cross_validation",
            "cv_folds": 10,
            "model_type": "lasso",
            "target_column": "price",
        },
    ),
    case(
        "train a random forest for price with cross validation",
        Intent.TRAIN,
        fields={"validation": "cross_validation", "model_type": "random_forest", "target_column": "price"},
    ),
    case(
        "train a random forest to predict price, hold out 30%",
        Intent.TRAIN,
        fields={"test_size": 0.3, "model_type": "random_forest", "target_column": "price"},
    ),
    case(
        "train ridge on price with test size 0.25",
        Intent.TRAIN,
        fields={"test_size": 0.25, "model_type": "ridge", "target_column": "price"},
    ),
    case(
        "train a random forest to predict price with an 80/20 split",
        Intent.TRAIN,
        fields={"test_size": 0.2, "model_type": "random_forest", "target_column": "price"},
    ),
    case(
        "train a random forest to predict price, train on 75% of the data",
        Intent.TRAIN,
        fields={"test_size": 0.25, "model_type": "random_forest", "target_column": "price"},
    ),
    # -- Preprocessing
    case(
        "train ridge to predict price, scale with minmax",
        Intent.TRAIN,
        fields={"preprocessing": {"scaling": "minmax"}, "model_type": "ridge", "target_column": "price"},
    ),
    case(
        "train ridge to predict price with no scaling",
        Intent.TRAIN,
        fields={"preprocessing": {"scaling": "none"}, "model_type": "ridge", "target_column": "price"},
    ),
    case(
        "train an svm to predict price with robust scaling",
        Intent.TRAIN,
        fields={"preprocessing": {"scaling": "robust"}, "model_type": "svm", "target_column": "price"},
    ),
    case(
        "train a random forest to predict price and fill missing with median",
        Intent.TRAIN,
        fields={
            "preprocessing": {"missing_strategy": "median"},
            "model_type": "random_forest",
            "target_column": "price",
        },
    ),
    case(
        "train a linear regression for price and drop rows with missing values",
        Intent.TRAIN,
        fields={
            "preprocessing": {"missing_strategy": "drop"},
            "model_type": "linear",
            "target_column": "price",
        },
    ),
    case(
        "train a logistic regression to predict outcome with max iterations 500",
        Intent.TRAIN,
        fields={"hyperparameters": {"max_iter": 500}, "model_type": "logistic", "target_column": "outcome"},
    ),
    # -- Leaving a column out in passing: never the opposite of what was said
    case(
        "train a random forest to predict price without using size",
        Intent.TRAIN,
        fields={
            "model_type": "random_forest",
            "target_column": "price",
            "feature_columns": ["age", "location", "id", "prize", "Sale Price", "outcome", "Profit and Loss"],
        },
    ),
    case(
        "train ridge to predict price using age, not size",
        Intent.TRAIN,
        fields={"model_type": "ridge", "target_column": "price", "feature_columns": ["age"]},
    ),
    # -- Predictions: model ids in words
    case("Use model model_1a2b3c4d to make predictions", Intent.PREDICT, model_id="model_1a2b3c4d"),
    case("/predict model_00ff00ff", Intent.PREDICT, model_id="model_00ff00ff"),
    case(
        "predict with my last model",
        Intent.PREDICT,
        model_id="model_1a2b3c4d",
        notes=["Using your latest model, model_1a2b3c4d."],
    ),
    case("predict", Intent.PREDICT, asks=["model_id"]),
    case(
        "make predictions with model_00ff00ff without probabilities",
        Intent.PREDICT,
        fields={"return_probabilities": False},
        model_id="model_00ff00ff",
    ),
    case("use model model_99999999 to predict", Intent.PREDICT, model_id="model_99999999", asks=["model_id"]),
    case(
        "score the new rows with my latest model",
        Intent.PREDICT,
        model_id="model_1a2b3c4d",
        notes=["Using your latest model, model_1a2b3c4d."],
    ),
    # -- Other intents
    case("list my models", Intent.LIST_MODELS),
    case("what models do I have?", Intent.LIST_MODELS),
    case("show model model_00ff00ff", Intent.SHOW_MODEL, model_id="model_00ff00ff"),
    case(
        "tell me about my last model",
        Intent.SHOW_MODEL,
        model_id="model_1a2b3c4d",
        notes=["Using your latest model, model_1a2b3c4d."],
    ),
    # A question about a model shows it; it does not start a prediction job.
    case(
        "how good is my last model?",
        Intent.SHOW_MODEL,
        model_id="model_1a2b3c4d",
        notes=["Using your latest model, model_1a2b3c4d."],
    ),
    case("what does model_00ff00ff do", Intent.SHOW_MODEL, model_id="model_00ff00ff"),
    # R's words for a fitted model's table
    *(
        case(words, Intent.SHOW_MODEL, model_id="model_1a2b3c4d", notes=["Using your latest model, model_1a2b3c4d."])
        for words in ("summary(lm)", "confint(fit)", "show me the regression output", "what were the model results?")
    ),
    case("delete model model_1a2b3c4d", Intent.DELETE_MODEL, model_id="model_1a2b3c4d"),
    case("delete my model", Intent.DELETE_MODEL, asks=["model_id"]),
    case("what's in my data", Intent.DATA_SUMMARY),
    case("describe the table", Intent.DESCRIBE),
    case("histogram of price", Intent.PLOT, fields={"plot": "histogram", "columns": ["price"]}),
    case("correlation between size and price", Intent.CORRELATE, fields={"columns": ["size", "price"]}),
    case("what is the relationship between age and price", Intent.CORRELATE, fields={"columns": ["age", "price"]}),
    case("how are size and price related?", Intent.CORRELATE, fields={"columns": ["size", "price"]}),
    case("does age relate to price", Intent.CORRELATE, fields={"columns": ["age", "price"]}),
    case(
        "is age or size more correlated with price?", Intent.CORRELATE, fields={"columns": ["age", "size", "price"]}
    ),
    case(
        "which is more strongly correlated with price: age or size",
        Intent.CORRELATE,
        fields={"columns": ["age", "size", "price"]},
    ),
    case("show price by location as a box plot", Intent.PLOT, fields={"plot": "box", "columns": ["price"], "by": "location"}),
    case("plot price by location", Intent.PLOT, fields={"plot": "box", "columns": ["price"], "by": "location"},
         notes=["'location' holds categories, so this is a box plot of 'price' by 'location'."]),
    case("show me my datasets", Intent.UNKNOWN),
    case("help", Intent.HELP),
    case("cancel", Intent.CANCEL),
    case(
        "/train predict price with rf",
        Intent.TRAIN,
        fields={"model_type": "random_forest", "target_column": "price"},
    ),
    case("/models", Intent.LIST_MODELS),
    case("tell me a joke", Intent.UNKNOWN),
]


@pytest.mark.parametrize(("text", "intent", "fields", "model_id", "asks", "notes"), PHRASINGS)
def test_phrasing(
    text: str, intent: Intent, fields: dict[str, Any], model_id: str | None, asks: list[str], notes: list[str]
) -> None:
    draft = OfflineParser().parse_now(text, table=HOUSES, model_ids=MODEL_IDS, user_id="42")
    assert draft.intent is intent
    assert asked(draft) == fields
    assert draft.model_id == model_id
    assert [q.field for q in draft.questions] == asks
    assert draft.notes == notes
    assert draft.excluded == []


@pytest.mark.parametrize(
    ("words", "intent", "fields", "asks"),
    [
        ("predict price with rf", Intent.TRAIN, {"model_type": "random_forest", "target_column": "price"}, []),
        ("price", Intent.TRAIN, {"target_column": "price"}, ["model_type"]),  # alone, not a request
        ("", Intent.TRAIN, {}, ["target_column", "model_type"]),
        ("price age", Intent.DESCRIBE, {"columns": ["price", "age"]}, []),
        ("", Intent.DESCRIBE, {}, []),
    ],
)
def test_a_command_fixes_the_intent_and_the_words_say_the_rest(
    words: str, intent: Intent, fields: dict[str, Any], asks: list[str]
) -> None:
    draft = OfflineParser().parse_now(words, table=HOUSES, model_ids=MODEL_IDS, user_id="42", intent=intent)
    assert (draft.intent, asked(draft), [q.field for q in draft.questions]) == (intent, fields, asks)


@pytest.mark.parametrize(
    ("text", "unsupported"),
    [
        ("log(price) ~ age", "`log(price)`"),
        ("price ~ I(age^2) + size", "`I(age^2)`"),
        ("price ~ age:size", "interactions"),
        ("lm(price ~ age * size)", "interactions"),
        ("glm(price ~ age, family = poisson)", "poisson family"),
        ("glm(price > 200000 ~ age, family = binomial)", "`price > 200000`"),
        ("logit of price>=1e5 on age and size", "`price>=1e5`"),
        ("logistic regression of price > 200000 on age and size", "`price > 200000`"),
    ],
)
def test_formula_parts_not_supported_yet_get_a_sentence(text: str, unsupported: str) -> None:
    draft = OfflineParser().parse_now(text, table=HOUSES, model_ids=MODEL_IDS, user_id="42")
    assert draft.intent is Intent.TRAIN
    assert draft.reply is not None and unsupported in draft.reply and "not supported yet" in draft.reply


def test_a_formula_for_a_two_class_number_fits_logistic_regression() -> None:
    table = TableInfo(
        columns=["survived", "age"], kinds={"survived": "numeric", "age": "numeric"}, distinct={"survived": 2}
    )
    draft = OfflineParser().parse_now("survived ~ age", table=table, model_ids=[], user_id="42")
    assert asked(draft)["model_type"] == "logistic" and not draft.questions
    assert draft.notes == ["No model named: 'survived' holds two classes, so I will fit logistic regression."]


def test_formula_words_never_become_code() -> None:
    draft = OfflineParser().parse_now("price ~ __import__('os').system('id')", table=HOUSES, model_ids=[], user_id="42")
    assert draft.reply is not None and asked(draft)["target_column"] == "price"


_LOO = (
    "Leave-one-out cross-validation is not supported yet; I can do k-fold cross-validation with "
    "2 to 20 folds (for example '10-fold cross-validation') or a hold-out split."
)
_REGRESS = "You said 'regress' and named no model, so I will fit linear regression."

STATISTICAL = [
    (
        "linear regression of medv on rm",
        {"model_type": "linear", "target_column": "medv", "feature_columns": ["rm"]},
    ),
    (
        "OLS medv on rm and lstat",
        {"model_type": "linear", "target_column": "medv", "feature_columns": ["rm", "lstat"]},
    ),
    (
        "regress medv on rm and lstat",
        {
            "learning_task": "regression",
            "model_type": "linear",
            "target_column": "medv",
            "feature_columns": ["rm", "lstat"],
        },
    ),
    (
        "random forest of medv as a function of rm and lstat",
        {"model_type": "random_forest", "target_column": "medv", "feature_columns": ["rm", "lstat"]},
    ),
    (
        "ridge: medv explained by rm, controlling for age",
        {"model_type": "ridge", "target_column": "medv", "feature_columns": ["rm", "age"]},
    ),
    (
        "lasso with response: medv, predictors: rm, lstat, age",
        {"model_type": "lasso", "target_column": "medv", "feature_columns": ["rm", "lstat", "age"]},
    ),
    (
        "svm, the outcome variable is medv and the covariates are rm and lstat",
        {"model_type": "svm", "target_column": "medv", "feature_columns": ["rm", "lstat"]},
    ),
    (
        "dependent variable medv, independent variables rm, lstat, linear model",
        {"model_type": "linear", "target_column": "medv", "feature_columns": ["rm", "lstat"]},
    ),
    (
        "random forest predicting medv with fifty trees",
        {"hyperparameters": {"n_estimators": 50}, "model_type": "random_forest", "target_column": "medv"},
    ),
    (
        "gradient boosting, target medv, two hundred trees",
        {
            "hyperparameters": {"n_estimators": 200},
            "model_type": "gradient_boosting",
            "target_column": "medv",
        },
    ),
    (
        "/train lasso medv alpha 0.1",
        {"hyperparameters": {"alpha": 0.1}, "model_type": "lasso", "target_column": "medv"},
    ),
    (
        "ridge to predict medv, hold out a quarter",
        {"test_size": 0.25, "model_type": "ridge", "target_column": "medv"},
    ),
    (
        "lasso for medv, hold out one third of the rows",
        {"test_size": 0.333333, "model_type": "lasso", "target_column": "medv"},
    ),
    (
        "ridge for medv with 10-fold cross-validation",
        {"validation": "cross_validation", "cv_folds": 10, "model_type": "ridge", "target_column": "medv"},
    ),
]


@pytest.mark.parametrize(("text", "fields"), STATISTICAL, ids=[t for t, _ in STATISTICAL])
def test_statistical_conventions(text: str, fields: dict[str, Any]) -> None:
    draft = OfflineParser().parse_now(text, table=BOSTON, model_ids=[], user_id="42")
    assert (draft.intent, asked(draft), draft.questions, draft.reply) == (Intent.TRAIN, fields, [], None)
    assert draft.notes == ([_REGRESS] if text.startswith("regress") else [])


def test_leave_one_out_is_refused_with_a_sentence() -> None:
    draft = OfflineParser().parse_now("ridge for medv with leave-one-out CV", table=BOSTON, model_ids=[], user_id="42")
    assert draft.reply == _LOO


ABBREVIATIONS = [
    ("GB for medv", "gradient_boosting"),
    ("GBM for medv", "gradient_boosting"),
    ("HGB for medv", "hist_gradient_boosting"),
    ("hist gradient boosting for medv", "hist_gradient_boosting"),
    ("HistGradientBoostingRegressor for medv", "hist_gradient_boosting"),
    ("RF for medv", "random_forest"),
    ("SVR for medv", "svm"),
    ("OLS for medv", "linear"),
    ("GLM for medv", "linear"),
    ("NN for medv", "neural_network"),
    ("MLP for medv", "neural_network"),
    ("elastic net for medv", "elasticnet"),
    ("ridge (L2) for medv", "ridge"),
    ("lasso (L1) for medv", "lasso"),
]


@pytest.mark.parametrize(("text", "model"), ABBREVIATIONS)
def test_abbreviations_of_models(text: str, model: str) -> None:
    draft = OfflineParser().parse_now(text, table=BOSTON, model_ids=[], user_id="42")
    assert asked(draft) == {"model_type": model, "target_column": "medv"} and not draft.questions


def test_typos_are_put_right_and_said() -> None:
    draft = OfflineParser().parse_now("trian a ranodm forrest to predcit medv", table=BOSTON, model_ids=[], user_id="42")
    assert asked(draft) == {"model_type": "random_forest", "target_column": "medv"}
    assert draft.notes == [
        "I read 'trian' as 'train', 'ranodm' as 'random', 'forrest' as 'forest' and 'predcit' as 'predict'."
    ]


def test_a_word_close_to_a_column_is_left_to_the_column_matcher() -> None:
    table = TableInfo(columns=["trains", "price"], kinds={"trains": "numeric", "price": "numeric"})
    draft = OfflineParser().parse_now("ridge for price using trainz", table=table, model_ids=[], user_id="42")
    assert asked(draft)["feature_columns"] == ["trains"]
    assert not any(n.startswith("I read") for n in draft.notes)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("fit a decision tree for medv", "I do not have a single decision tree yet; the closest I have is"),
        ("knn regression of medv on rm", "I do not have k-nearest neighbours yet; the closest I have is"),
    ],
)
def test_models_the_catalogue_lacks_are_named(text: str, note: str) -> None:
    draft = OfflineParser().parse_now(text, table=BOSTON, model_ids=[], user_id="42")
    assert draft.notes == [f"{note} random forest."] and [q.field for q in draft.questions] == ["model_type"]


_BODY = TableInfo(
    columns=["body_weight_kg", "height_cm", "age_years", "bill_length_mm", "flipper_length_mm", "wt", "mpg"],
    kinds={},
)


@pytest.mark.parametrize(
    ("written", "column"),
    [
        ("body weight", "body_weight_kg"),  # words of the column, the unit dropped
        ("age", "age_years"),
        ("heights", "height_cm"),  # a plural
        ("miles per gallon", "mpg"),  # a column abbreviating the words
        ("median value (mpg)", "mpg"),  # the name in parentheses
    ],
)
def test_columns_described_in_words_are_matched_and_the_match_said(written: str, column: str) -> None:
    draft = OfflineParser().parse_now(f"ridge to predict {written}", table=_BODY, model_ids=[], user_id="42")
    assert asked(draft)["target_column"] == column and not draft.questions
    assert draft.notes == ([] if "(" in written else [f"Matched '{written}' to column '{column}'."])


def test_a_description_fitting_two_columns_is_asked_about() -> None:
    draft = OfflineParser().parse_now("ridge to predict length", table=_BODY, model_ids=[], user_id="42")
    assert draft.questions[0].field == "column:length"
    assert draft.questions[0].options == ["bill_length_mm", "flipper_length_mm"]


def test_there_are_at_least_sixty_distinct_phrasings() -> None:
    assert len({p.values[0].casefold() for p in PHRASINGS}) >= 60
