"""The configuration loader: defaults from the plan, environment overrides, fail-closed container settings."""

from pathlib import Path

import pytest

from config import load_settings
from errors import ConfigError
from runner.spec import HYPERPARAMETERS, ModelType


def test_plan_defaults_are_the_shipped_values() -> None:
    settings = load_settings(env={})
    assert settings.container.train_timeout_seconds == 300
    assert settings.container.memory_mb == 2048
    assert settings.quotas.max_models_per_user == 50
    assert settings.quotas.max_model_size_mb == 100
    assert settings.ml_engine.min_training_samples == 10
    assert settings.ml_engine.defaults(ModelType.RANDOM_FOREST) == {
        "n_estimators": 100,
        "max_depth": 10,
        "min_samples_split": 2,
    }
    n_estimators = settings.ml_engine.hyperparameter("n_estimators")
    assert (n_estimators.low, n_estimators.high) == (10, 500)
    assert settings.telegram.token is None and settings.anthropic.api_key is None


def test_hyperparameter_overrides_go_over_the_built_in_table() -> None:
    ml = load_settings(
        env={},
        overrides={
            "ml_engine": {
                "default_hyperparameters": {"random_forest": {"n_estimators": 300}},
                "hyperparameter_ranges": {"n_estimators": [10, 1000]},
                "hyperparameter_choices": {"kernel": ["linear", "rbf"]},
            }
        },
    ).ml_engine
    assert ml.defaults(ModelType.RANDOM_FOREST) == {"n_estimators": 300, "max_depth": 10, "min_samples_split": 2}
    assert ml.defaults(ModelType.GRADIENT_BOOSTING)["n_estimators"] == 100
    assert ml.hyperparameter("n_estimators").refusal(1000) is None
    assert ml.hyperparameter("kernel").refusal("sigmoid") == "choose one of linear, rbf"
    # The built-in table itself is untouched.
    assert HYPERPARAMETERS["n_estimators"].high == 500 and "sigmoid" in HYPERPARAMETERS["kernel"].choices


@pytest.mark.parametrize(
    ("ml_engine", "why"),
    [
        ({"default_hyperparameters": {"ridge": {"n_estimators": 10}}}, "a ridge model has no hyperparameter n_est"),
        ({"default_hyperparameters": {"random_forest": {"n_estimators": 5}}}, "the allowed range is 10 to 500"),
        ({"default_hyperparameters": {"boosted_trees": {}}}, "default_hyperparameters.boosted_trees"),
        ({"hyperparameter_ranges": {"trees": [1, 2]}}, "there is no hyperparameter trees"),
        ({"hyperparameter_ranges": {"kernel": [1, 2]}}, "kernel takes no range"),
        ({"hyperparameter_ranges": {"alpha": [2, 1]}}, "the range of alpha is empty"),
        ({"hyperparameter_choices": {"alpha": ["big"]}}, "alpha takes no choices"),
    ],
)
def test_hyperparameter_overrides_are_checked_against_the_table(ml_engine, why) -> None:
    with pytest.raises(ConfigError, match=why):
        load_settings(env={}, overrides={"ml_engine": ml_engine})


def test_environment_supplies_secrets_and_data_dir(tmp_path: Path) -> None:
    settings = load_settings(
        env={
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "ANTHROPIC_API_KEY": "sk-test",
            "STATAGENT_DATA_DIR": str(tmp_path / "d"),
        }
    )
    assert settings.telegram.token.get_secret_value() == "123:abc"
    assert settings.anthropic.api_key.get_secret_value() == "sk-test"
    assert settings.data_dir == tmp_path / "d"
    assert "123:abc" not in repr(settings)


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("network_mode", "bridge", "never get a network"),
        ("network", "host", "never get a network"),
        ("read_only", False, "always read-only"),
        ("privileged", True, "never privileged"),
        ("cap_add", ["SYS_ADMIN"], "no capabilities"),
        ("volumes", {"/": {"bind": "/host"}}, "only its own input and output"),
    ],
)
def test_container_settings_that_would_loosen_a_job_are_refused(key, value, why) -> None:
    with pytest.raises(ConfigError, match=why):
        load_settings(env={}, overrides={"container": {key: value}})


def test_unknown_keys_are_refused_not_ignored() -> None:
    with pytest.raises(ConfigError, match="container.shm_size"):
        load_settings(env={}, overrides={"container": {"shm_size": "1g"}})


def test_runner_user_must_be_unprivileged() -> None:
    with pytest.raises(ConfigError, match="runner.user"):
        load_settings(env={}, overrides={"runner": {"user": "0:0"}})


def test_another_config_file_by_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("container:\n  memory_mb: 512\n")
    assert load_settings(env={"STATAGENT_CONFIG": str(path)}).container.memory_mb == 512


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml", env={})
