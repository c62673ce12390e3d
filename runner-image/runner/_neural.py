"""Neural networks (Keras) as a scikit-learn estimator: the final step of a model's Pipeline.

TensorFlow is imported only here, and only when a network is fitted or loaded (it costs seconds).
A fitted network is not pickled: its Keras file is saved, and its other learned numbers go
into metadata.json beside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from runner._artifacts import Format, Saved
from runner._errors import JobError
from runner.spec import ErrorCode, TaskType

NETWORK_FILE = "network.keras"
# Early stopping watches a validation split only when there are enough rows to spare one.
VALIDATION_SHARE = 0.2
MIN_ROWS_FOR_VALIDATION = 20
PREDICT_BATCH = 1024

EpochCallback = Callable[[int, int, float], None]  # (epoch, epochs, loss)


def _keras() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


class NeuralNetwork(BaseEstimator):
    """A dense network on preprocessed (all-numeric) columns; `on_epoch` hears each epoch's end.

    The settings have no defaults here: runner._estimators.resolve_hyperparameters gives them all.
    """

    # Whose versions a saved network depends on, beyond the runner's usual libraries.
    libraries = ("tensorflow-cpu", "tensorflow", "keras")

    def __init__(
        self,
        *,
        task: TaskType,
        hidden_layers: list[int],
        dropout: float,
        epochs: int,
        batch_size: int,
        learning_rate: float,
        patience: int,
        seed: int = 0,
        on_epoch: EpochCallback | None = None,
    ) -> None:
        self.task = task
        self.hidden_layers = hidden_layers
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.seed = seed
        self.on_epoch = on_epoch

    def fit(self, X: Any, y: Any) -> NeuralNetwork:
        keras = _keras()
        keras.utils.set_random_seed(self.seed)
        features = np.asarray(X, dtype="float32")
        if self.task is TaskType.CLASSIFICATION:
            self.classes_ = np.unique(np.asarray(y))
            target = np.searchsorted(self.classes_, np.asarray(y)).astype("float32")
            outputs = len(self.classes_)
        else:
            values = np.asarray(y, dtype=float)
            self.target_mean_ = float(values.mean())
            self.target_scale_ = float(values.std()) or 1.0
            target = ((values - self.target_mean_) / self.target_scale_).astype("float32")
            outputs = 0
        self.network_ = self._build(keras, features.shape[1], outputs)
        validation = VALIDATION_SHARE if len(features) >= MIN_ROWS_FOR_VALIDATION else 0.0
        epochs = int(self.epochs)
        callbacks = [
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if validation else "loss",
                patience=int(self.patience),
                restore_best_weights=True,
            )
        ]
        if self.on_epoch is not None:
            callbacks.append(_progress_callback(keras, self.on_epoch, epochs))
        fitted = self.network_.fit(
            features,
            target,
            epochs=epochs,
            batch_size=int(self.batch_size),
            validation_split=validation,
            callbacks=callbacks,
            verbose=0,
        )
        self.history_ = {
            name: [float(v) for v in fitted.history[name]]
            for name in ("loss", "val_loss")
            if name in fitted.history
        }
        return self

    def _build(self, keras: Any, inputs: int, classes: int) -> Any:
        """The network: `classes` outputs for a classifier (one for two), one number for a regressor."""
        layers: list[Any] = [keras.Input(shape=(inputs,))]
        dropout = float(self.dropout)
        for units in self.hidden_layers:
            layers.append(keras.layers.Dense(int(units), activation="relu"))
            if dropout > 0:
                layers.append(keras.layers.Dropout(dropout))
        if self.task is TaskType.REGRESSION:
            layers.append(keras.layers.Dense(1))
            loss = "mse"
        elif classes == 2:
            layers.append(keras.layers.Dense(1, activation="sigmoid"))
            loss = "binary_crossentropy"
        else:
            layers.append(keras.layers.Dense(classes, activation="softmax"))
            loss = "sparse_categorical_crossentropy"
        network = keras.Sequential(layers)
        network.compile(optimizer=keras.optimizers.Adam(learning_rate=float(self.learning_rate)), loss=loss)
        return network

    def _outputs(self, X: Any) -> np.ndarray:
        features = np.asarray(X, dtype="float32")
        return np.asarray(self.network_.predict(features, batch_size=PREDICT_BATCH, verbose=0), dtype=float)

    def predict_proba(self, X: Any) -> np.ndarray:
        outputs = self._outputs(X)
        if len(self.classes_) == 2:
            positive = outputs[:, 0]
            return np.column_stack([1.0 - positive, positive])
        return outputs

    def predict(self, X: Any) -> np.ndarray:
        if self.task is TaskType.CLASSIFICATION:
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._outputs(X)[:, 0] * self.target_scale_ + self.target_mean_

    def save(self, folder: Path) -> tuple[Saved, dict[str, Any]]:
        """Write the Keras file; returns it and the other learned numbers, for metadata.json."""
        self.network_.save(folder / NETWORK_FILE)
        classifier = self.task is TaskType.CLASSIFICATION
        state = {
            "classes": self.classes_.tolist() if classifier else [],
            "target_mean": 0.0 if classifier else self.target_mean_,
            "target_scale": 1.0 if classifier else self.target_scale_,
            "history": self.history_,
        }
        return Saved(file=NETWORK_FILE, format=Format.KERAS, trusted_types=[]), state

    @classmethod
    def load(
        cls, folder: Path, saved: Saved, state: dict[str, Any], *, task: TaskType, **hyperparameters: Any
    ) -> NeuralNetwork:
        """What `save` wrote, fitted again (Keras safe mode: no code in the file is run)."""
        keras = _keras()
        try:
            network = keras.saving.load_model(folder / saved.file, safe_mode=True)
        except Exception as exc:
            raise JobError(
                ErrorCode.MODEL_UNREADABLE,
                "The saved neural network could not be read; it may be damaged.",
                details={"reason": str(exc)[:500]},
            ) from exc
        model = cls(task=task, **hyperparameters)
        model.network_ = network
        if task is TaskType.CLASSIFICATION:
            model.classes_ = np.asarray(state["classes"])
        else:
            model.target_mean_ = float(state["target_mean"])
            model.target_scale_ = float(state["target_scale"])
        model.history_ = state.get("history", {})
        return model


def _progress_callback(keras: Any, on_epoch: EpochCallback, epochs: int) -> Any:
    class _Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            on_epoch(epoch + 1, epochs, float((logs or {}).get("loss", float("nan"))))

    return _Progress()
