"""StatAgent's configuration: one YAML file plus a few environment variables, read here only.

    settings = load_settings()            # config/config.yaml, or $STATAGENT_CONFIG
    settings.container.memory_mb          # typed, validated, passed down explicitly
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from errors import ConfigError
from runner.spec import (
    HYPERPARAMETERS,
    MODEL_HYPERPARAMETERS,
    Hyperparameter,
    HyperKind,
    HyperValue,
    ModelType,
    default_hyperparameters,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Settings",
    "SwarmSettings",
    "load_settings",
]

DEFAULT_CONFIG_PATH = Path(__file__).with_name("config.yaml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunnerSettings(_Section):
    image_repository: str = "statagent-runner"
    image: str | None = None
    user: str = Field(default="10001:10001", pattern=r"^[1-9][0-9]{4,}:[1-9][0-9]{4,}$")


# Keys someone might reach for to loosen a job container. They are named so the refusal
# says why; any other unknown key is refused by extra="forbid" all the same.
_FORBIDDEN_CONTAINER_KEYS = {
    "network": "job containers never get a network",
    "network_mode": "job containers never get a network",
    "network_disabled": "job containers never get a network",
    "read_only": "the root filesystem of a job container is always read-only",
    "privileged": "job containers are never privileged",
    "cap_add": "job containers keep no capabilities",
    "volumes": "a job container sees only its own input and output",
    "user": "job containers always run as the configured non-root runner user",
    "security_opt": "no-new-privileges is always set",
}


class ContainerSettings(_Section):
    """Limits of every job container (an allowlist: nothing else can be configured)."""

    train_timeout_seconds: int = Field(default=300, ge=1, le=86_400)
    predict_timeout_seconds: int = Field(default=120, ge=1, le=86_400)
    memory_mb: int = Field(default=2048, ge=64)
    cpus: float = Field(default=1.0, gt=0)
    pids: int = Field(default=256, ge=16)
    tmpfs_mb: int = Field(default=512, ge=16)
    max_open_files: int = Field(default=1024, ge=64, le=65_536)
    # auto: gVisor (runsc) when the engine lists it, else the engine's default (runc).
    runtime: str = Field(default="auto", min_length=1)
    # How long a job's own deadline (inside its container) outlasts the controller's timeout.
    deadline_margin_seconds: int = Field(default=10, ge=1, le=600)
    keep_failed_containers: bool = False

    @model_validator(mode="before")
    @classmethod
    def _refuse_loosening(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key, why in _FORBIDDEN_CONTAINER_KEYS.items():
                if key in data:
                    raise ValueError(f"container.{key} cannot be configured: {why}")
        return data


class QueueSettings(_Section):
    max_running: int | None = Field(default=None, ge=1)
    per_user_running: int = Field(default=1, ge=1)
    per_user_queued: int = Field(default=5, ge=0)
    reconcile_interval_seconds: float = Field(default=30, gt=0)

    @property
    def running_cap(self) -> int:
        """The global cap on running job containers (default: the number of cores)."""
        return self.max_running or os.cpu_count() or 1


class PoolSettings(_Section):
    """Pre-started single-use job containers (controller/_pool.py)."""

    size: int | None = Field(default=None, ge=0)  # None: queue.running_cap; 0: no pool
    # What one idle pool container holds (measured; see README): the pool is counted against
    # the host's memory next to running_cap full-size jobs and shrinks to fit.
    idle_memory_mb: int = Field(default=250, ge=16)


class QuotaSettings(_Section):
    max_models_per_user: int = Field(default=50, ge=1)
    max_model_size_mb: int = Field(default=100, ge=1)
    max_result_json_bytes: int = Field(default=1_048_576, ge=1024)
    max_metadata_bytes: int = Field(default=1_048_576, ge=1024)  # a model's metadata.json
    max_artifacts: int = Field(default=64, ge=1)
    max_artifacts_mb: int = Field(default=200, ge=1)
    max_stdout_lines: int = Field(default=5000, ge=10)
    # A user's storage: tables, models and the kept output of their jobs (plots, predictions).
    max_storage_mb: int = Field(default=500, ge=1)
    max_datasets_per_user: int = Field(default=20, ge=1)


class RetentionSettings(_Section):
    """How long finished jobs keep their output (plots, prediction files) on disk."""

    output_days: int = Field(default=7, ge=1)


class UploadSettings(_Section):
    """Uploads are read by an ingest job, in a container of its own with these budgets."""

    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_rows: int = Field(default=1_000_000, ge=1)
    max_columns: int = Field(default=500, ge=1)
    max_cells: int = Field(default=20_000_000, ge=1)
    max_column_name_chars: int = Field(default=256, ge=8)
    max_sheets: int = Field(default=50, ge=1)
    max_unpacked_mb: int = Field(default=512, ge=1)
    ingest_memory_mb: int = Field(default=1024, ge=64)
    ingest_timeout_seconds: int = Field(default=60, ge=1, le=3600)


class MLSettings(_Section):
    """The plan's ml_engine section. Hyperparameters' defaults, ranges and choices are built into
    runner.spec (HYPERPARAMETERS, MODEL_HYPERPARAMETER_DEFAULTS); the three dicts here override them."""

    min_training_samples: int = Field(default=10, ge=2)
    default_test_size: float = Field(default=0.2, gt=0, lt=1)
    default_cv_folds: int = Field(default=5, ge=2, le=20)
    # Refuse a training whose estimated time passes container.train_timeout_seconds, before it starts.
    check_time_estimate: bool = True
    # Settings a tuning job tries (the defaults among them), each cross-validated on the same folds.
    tune_candidates: int = Field(default=20, ge=2, le=200)
    default_missing_strategy: Literal["mean", "median", "drop"] = "mean"
    default_scaling: Literal["standard", "minmax", "robust", "none"] = "standard"
    default_hyperparameters: dict[ModelType, dict[str, HyperValue]] = Field(default_factory=dict)
    hyperparameter_ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    hyperparameter_choices: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _allowed_defaults(self) -> MLSettings:
        """Configured defaults must be settings of their model, with values the requests could give."""
        for model, defaults in self.default_hyperparameters.items():
            if unknown := sorted(set(defaults) - MODEL_HYPERPARAMETERS[model]):
                raise ValueError(f"a {model.value} model has no hyperparameter {', '.join(unknown)}")
            for name, value in defaults.items():
                if why := self.hyperparameter(name).refusal(value):
                    raise ValueError(f"default_hyperparameters.{model.value}.{name} = {value}: {why}")
        return self

    @field_validator("hyperparameter_ranges")
    @classmethod
    def _numeric_ranges(cls, given: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (low, high) in given.items():
            if _built_in(name).kind not in (HyperKind.INT, HyperKind.FLOAT):
                raise ValueError(f"{name} takes no range")
            if low > high:
                raise ValueError(f"the range of {name} is empty")
        return given

    @field_validator("hyperparameter_choices")
    @classmethod
    def _text_choices(cls, given: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, choices in given.items():
            if _built_in(name).kind is not HyperKind.STR:
                raise ValueError(f"{name} takes no choices")
            if not choices:
                raise ValueError(f"{name} needs at least one choice")
        return given

    def defaults(self, model_type: ModelType) -> dict[str, HyperValue]:
        """A model's default hyperparameters: the built-in ones under the configured ones."""
        return {**default_hyperparameters(model_type), **self.default_hyperparameters.get(model_type, {})}

    def hyperparameter(self, name: str) -> Hyperparameter:
        """A hyperparameter as runner.spec defines it, with the configured range or choices."""
        built_in = HYPERPARAMETERS[name]
        if name in self.hyperparameter_ranges:
            low, high = self.hyperparameter_ranges[name]
            return replace(built_in, low=low, high=high)
        if name in self.hyperparameter_choices:
            return replace(built_in, choices=self.hyperparameter_choices[name])
        return built_in


def _built_in(name: str) -> Hyperparameter:
    if name not in HYPERPARAMETERS:
        raise ValueError(f"there is no hyperparameter {name}")
    return HYPERPARAMETERS[name]


class TelegramSettings(_Section):
    token: SecretStr | None = None  # from TELEGRAM_BOT_TOKEN
    api_base: str | None = None
    allowed_user_ids: list[int] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=20, ge=1)


class AnthropicSettings(_Section):
    api_key: SecretStr | None = None  # from ANTHROPIC_API_KEY
    model: str = "claude-sonnet-4-5"
    base_url: str | None = None
    timeout_seconds: float = Field(default=20, gt=0)
    # Input plus output tokens one user may spend per UTC day; then the offline parser answers.
    daily_tokens_per_user: int = Field(default=50_000, ge=1)
    max_tokens: int = Field(default=1024, ge=256, le=4096)  # the answer of one call
    max_prompt_chars: int = Field(default=12_000, ge=2_000, le=200_000)  # system prompt plus message
    max_columns: int = Field(default=100, ge=1)  # listed in the prompt; the rest are named by the user
    max_column_name_chars: int = Field(default=64, ge=8)


class SwarmSettings(_Section):
    """The Docker Swarm cluster jobs run on when `backend: swarm`."""

    # A manager's engine API (unix:///var/run/docker.sock, tcp://host:2376); null: DOCKER_HOST or the local socket.
    manager_url: str | None = None
    # How long the start-up check waits for each node's test job.
    node_check_timeout_seconds: float = Field(default=60, gt=0, le=600)
    # A job whose task ended before any container ran it (rejected, say) runs again as a new
    # service this many times before it fails; a job that ran is never rerun by itself.
    resubmit_unstarted: int = Field(default=2, ge=0, le=10)
    # Reserve each job's CPUs as well as its memory. Off by default: engines without the fix of
    # moby/moby#52652 count finished job tasks' reservations and then reject new tasks.
    reserve_cpus: bool = False


class LoggingSettings(_Section):
    level: str = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(_Section):
    """The whole configuration, validated. Build it with `load_settings`."""

    data_dir: Path = Path("data")
    # docker: every job on one Docker engine; swarm: on a Docker Swarm cluster (see README).
    backend: Literal["docker", "swarm"] = "docker"
    swarm: SwarmSettings = SwarmSettings()
    runner: RunnerSettings = RunnerSettings()
    container: ContainerSettings = ContainerSettings()
    queue: QueueSettings = QueueSettings()
    pool: PoolSettings = PoolSettings()
    quotas: QuotaSettings = QuotaSettings()
    retention: RetentionSettings = RetentionSettings()
    uploads: UploadSettings = UploadSettings()
    ml_engine: MLSettings = MLSettings()
    telegram: TelegramSettings = TelegramSettings()
    anthropic: AnthropicSettings = AnthropicSettings()
    logging: LoggingSettings = LoggingSettings()


def load_settings(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the YAML file, apply the environment and `overrides` (nested dicts), validate.

    Raises ConfigError with the offending key when anything is wrong.
    """
    env = os.environ if env is None else env
    path = Path(path or env.get("STATAGENT_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration {path} must be a mapping at the top level")

    if data_dir := env.get("STATAGENT_DATA_DIR"):
        raw["data_dir"] = data_dir
    if token := env.get("TELEGRAM_BOT_TOKEN"):
        raw.setdefault("telegram", {})["token"] = token
    if key := env.get("ANTHROPIC_API_KEY"):
        raw.setdefault("anthropic", {})["api_key"] = key
    if overrides:
        raw = _merge(raw, overrides)

    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration {path}: {problems}") from exc
    return settings.model_copy(update={"data_dir": settings.data_dir.resolve()})


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
