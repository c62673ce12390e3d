"""Neural networks (Keras) behind the same fit/predict/predict_proba face as a Pipeline.

TensorFlow is imported only here, and only when a job needs a network (it costs seconds).
The fitted preprocessing ColumnTransformer is saved beside the Keras file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner._artifacts import Format, Saved, load_fitted, save_fitted
from runner._errors import JobError
from runner.spec import ErrorCode, TaskType

NETWORK_FILE = "network.keras"
PREPROCESSOR_STEM = "preprocessor"
# Early stopping watches a validation split only when there are enough rows to spare one.
VALIDATION_SHARE = 0.2
MIN_ROWS_FOR_VALIDATION = 20
PREDICT_BATCH = 1024

EpochCallback = Callable[[int, int, float], None]


def _keras() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


class NeuralNetwork:
    """A dense network on the output of a scikit-learn preprocessor."""

    def __init__(
        self,
        *,
        preprocessor: Any,
        task: TaskType,
        params: dict[str, Any],
        seed: int,
        on_epoch: EpochCallback | None = None,
    ) -> None:
        self.preprocessor = preprocessor
        self.task = task
        self.params = params
        self.seed = seed
        self.on_epoch = on_epoch
        self.network: Any = None
        self.classes_: np.ndarray = np.array([])
        self.target_mean = 0.0
        self.target_scale = 1.0
        self.history: dict[str, list[float]] = {}

    def fit(self, X: pd.DataFrame, y: pd.Series) -> NeuralNetwork:
        keras = _keras()
        keras.utils.set_random_seed(self.seed)
        features = np.asarray(self.preprocessor.fit_transform(X), dtype="float32")
        if self.task is TaskType.CLASSIFICATION:
            self.classes_ = np.unique(y.to_numpy())
            target = np.searchsorted(self.classes_, y.to_numpy()).astype("float32")
        else:
            values = y.to_numpy(dtype=float)
            self.target_mean = float(values.mean())
            self.target_scale = float(values.std()) or 1.0
            target = ((values - self.target_mean) / self.target_scale).astype("float32")
        self.network = self._build(keras, features.shape[1])
        validation = VALIDATION_SHARE if len(features) >= MIN_ROWS_FOR_VALIDATION else 0.0
        epochs = int(self.params["epochs"])
        callbacks = [
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if validation else "loss",
                patience=int(self.params["patience"]),
                restore_best_weights=True,
            )
        ]
        if self.on_epoch is not None:
            callbacks.append(_progress_callback(keras, self.on_epoch, epochs))
        fitted = self.network.fit(
            features,
            target,
            epochs=epochs,
            batch_size=int(self.params["batch_size"]),
            validation_split=validation,
            callbacks=callbacks,
            verbose=0,
        )
        self.history = {
            name: [float(v) for v in fitted.history[name]]
            for name in ("loss", "val_loss")
            if name in fitted.history
        }
        return self

    def _build(self, keras: Any, inputs: int) -> Any:
        layers: list[Any] = [keras.Input(shape=(inputs,))]
        dropout = float(self.params["dropout"])
        for units in self.params["hidden_layers"]:
            layers.append(keras.layers.Dense(int(units), activation="relu"))
            if dropout > 0:
                layers.append(keras.layers.Dropout(dropout))
        if self.task is TaskType.REGRESSION:
            layers.append(keras.layers.Dense(1))
            loss = "mse"
        elif len(self.classes_) == 2:
            layers.append(keras.layers.Dense(1, activation="sigmoid"))
            loss = "binary_crossentropy"
        else:
            layers.append(keras.layers.Dense(len(self.classes_), activation="softmax"))
            loss = "sparse_categorical_crossentropy"
        network = keras.Sequential(layers)
        network.compile(
            optimizer=keras.optimizers.Adam(learning_rate=float(self.params["learning_rate"])), loss=loss
        )
        return network

    def _outputs(self, X: pd.DataFrame) -> np.ndarray:
        features = np.asarray(self.preprocessor.transform(X), dtype="float32")
        return np.asarray(self.network.predict(features, batch_size=PREDICT_BATCH, verbose=0), dtype=float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        outputs = self._outputs(X)
        if len(self.classes_) == 2:
            positive = outputs[:, 0]
            return np.column_stack([1.0 - positive, positive])
        return outputs

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.task is TaskType.CLASSIFICATION:
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._outputs(X)[:, 0] * self.target_scale + self.target_mean

    def save(self, folder: Path, *, check: pd.DataFrame) -> tuple[dict[str, Saved], dict[str, Any]]:
        """Write the network and the preprocessor; returns the files and the state to record."""
        self.network.save(folder / NETWORK_FILE)
        preprocessor = save_fitted(self.preprocessor, folder, PREPROCESSOR_STEM, check=check)
        files = {
            "network": Saved(file=NETWORK_FILE, format=Format.KERAS, trusted_types=[]),
            "preprocessor": preprocessor,
        }
        state = {
            "classes": self.classes_.tolist(),
            "target_mean": self.target_mean,
            "target_scale": self.target_scale,
            "history": self.history,
        }
        return files, state


def load_network(
    folder: Path, *, files: dict[str, Saved], state: dict[str, Any], task: TaskType
) -> NeuralNetwork:
    """Rebuild a saved NeuralNetwork (Keras safe mode: no code in the file is run)."""
    keras = _keras()
    try:
        network = keras.saving.load_model(folder / files["network"].file, safe_mode=True)
    except Exception as exc:
        raise JobError(
            ErrorCode.MODEL_UNREADABLE,
            "The saved neural network could not be read; it may be damaged.",
            details={"reason": str(exc)[:500]},
        ) from exc
    model = NeuralNetwork(
        preprocessor=load_fitted(folder, files["preprocessor"]), task=task, params={}, seed=0
    )
    model.network = network
    model.classes_ = np.asarray(state["classes"])
    model.target_mean = float(state["target_mean"])
    model.target_scale = float(state["target_scale"])
    model.history = state.get("history", {})
    return model


def _progress_callback(keras: Any, on_epoch: EpochCallback, epochs: int) -> Any:
    class _Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            on_epoch(epoch + 1, epochs, float((logs or {}).get("loss", float("nan"))))

    return _Progress()
