"""Estimators built from the model catalogue's hyperparameter names, and nothing else."""

from __future__ import annotations

from typing import Any

from runner._errors import JobError, quoted
from runner.spec import (
    HYPERPARAMETERS,
    MODEL_HYPERPARAMETERS,
    ErrorCode,
    HyperKind,
    HyperValue,
    ModelType,
    TaskType,
    default_hyperparameters,
    model_phrase,
)

# Folds the SVM classifier uses to turn its scores into probabilities.
SVM_CALIBRATION_FOLDS = 3


def resolve_hyperparameters(model_type: ModelType, given: dict[str, HyperValue]) -> dict[str, HyperValue]:
    """The settings a model is built with: the built-in defaults under the given ones, known names
    only, whole numbers where needed."""
    allowed = MODEL_HYPERPARAMETERS[model_type]
    unknown = sorted(set(given) - allowed)
    if unknown:
        choices = quoted(sorted(allowed)) if allowed else "none"
        raise JobError(
            ErrorCode.BAD_SPEC,
            f"Unknown setting {quoted(unknown)} for a {model_phrase(model_type)} model; allowed: {choices}.",
        )
    resolved = default_hyperparameters(model_type)
    for name, value in given.items():
        if HYPERPARAMETERS[name].kind is HyperKind.INT and isinstance(value, float) and value.is_integer():
            value = int(value)
        resolved[name] = value
    return resolved


def model_steps(
    model_type: ModelType, task: TaskType, params: dict[str, Any], *, seed: int
) -> list[tuple[str, Any]]:
    """The pipeline steps after preprocessing: the model (a polynomial's feature expansion first)."""
    regression = task is TaskType.REGRESSION
    if model_type is ModelType.LINEAR:
        from sklearn.linear_model import LinearRegression

        return [("model", LinearRegression())]
    if model_type is ModelType.RIDGE:
        from sklearn.linear_model import Ridge

        return [("model", Ridge(**params, random_state=seed))]
    if model_type is ModelType.LASSO:
        from sklearn.linear_model import Lasso

        return [("model", Lasso(**params, random_state=seed))]
    if model_type is ModelType.ELASTICNET:
        from sklearn.linear_model import ElasticNet

        return [("model", ElasticNet(**params, random_state=seed))]
    if model_type is ModelType.POLYNOMIAL:
        from sklearn.linear_model import LinearRegression, Ridge
        from sklearn.preprocessing import PolynomialFeatures

        poly = PolynomialFeatures(degree=params["degree"], include_bias=False)
        final = Ridge(alpha=params["alpha"], random_state=seed) if "alpha" in params else LinearRegression()
        return [("poly", poly), ("model", final)]
    if model_type is ModelType.LOGISTIC:
        from sklearn.linear_model import LogisticRegression

        return [("model", LogisticRegression(**params, random_state=seed))]
    if model_type is ModelType.SVM:
        from sklearn.svm import SVC, SVR

        # epsilon only means something to the regressor.
        names = {"C", "kernel", "gamma"} | ({"epsilon"} if regression else set())
        svm_params = {k: v for k, v in params.items() if k in names}
        if regression:
            from sklearn.compose import TransformedTargetRegressor
            from sklearn.preprocessing import StandardScaler

            # SVR's epsilon and C assume a target of unit scale (prices are not): fit on a
            # standardised target, predict in the user's units.
            return [
                (
                    "model",
                    TransformedTargetRegressor(regressor=SVR(**svm_params), transformer=StandardScaler()),
                )
            ]
        from sklearn.calibration import CalibratedClassifierCV

        svc = SVC(**svm_params, random_state=seed)
        return [("model", CalibratedClassifierCV(svc, ensemble=False, cv=SVM_CALIBRATION_FOLDS))]
    if model_type is ModelType.RANDOM_FOREST:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        forest = RandomForestRegressor if regression else RandomForestClassifier
        return [("model", forest(**params, random_state=seed))]
    if model_type is ModelType.GRADIENT_BOOSTING:
        from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

        boosting = GradientBoostingRegressor if regression else GradientBoostingClassifier
        return [("model", boosting(**params, random_state=seed))]
    if model_type is ModelType.HIST_GRADIENT_BOOSTING:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        histogram = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        return [("model", histogram(**params, random_state=seed))]
    if model_type is ModelType.NEURAL_NETWORK:
        from runner._neural import NeuralNetwork

        return [("model", NeuralNetwork(task=task, **params, seed=seed))]
    raise JobError(ErrorCode.UNSUPPORTED_MODEL, f"No estimator is built for a {model_type.value} model.")
