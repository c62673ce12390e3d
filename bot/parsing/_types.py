"""The records a parser hands to the dialogue core."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.parsing._explore import ExploreAsk
    from controller.task import PredictRequest, TrainRequest
    from store import DatasetSummary


class Intent(str, Enum):
    """What a message asks for."""

    TRAIN = "train"
    PREDICT = "predict"
    LIST_MODELS = "list_models"
    SHOW_MODEL = "show_model"
    DELETE_MODEL = "delete_model"
    RETRAIN = "retrain"  # a saved model's training again on the current table, compared with it
    DATA_SUMMARY = "data_summary"
    DESCRIBE = "describe"  # statistics per column, in a job
    CORRELATE = "correlate"
    PLOT = "plot"
    HELP = "help"
    CANCEL = "cancel"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TableInfo:
    """The current table: its column names (verbatim) and what each holds.

    `kinds` maps a column to "numeric", "categorical", "datetime", "boolean" or "text";
    `distinct` to its number of distinct values (a 0/1 column is two-class).
    """

    columns: list[str]
    kinds: dict[str, str] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kinds, Mapping):
            raise TypeError("TableInfo.kinds maps each column name to its kind")
        unknown = set(self.kinds) - set(self.columns)
        if unknown:
            raise ValueError(f"TableInfo.kinds names columns not in the table: {sorted(unknown)}")

    @classmethod
    def from_summary(cls, summary: DatasetSummary) -> TableInfo:
        """The table as the store summarized it."""
        return cls(
            columns=[c.name for c in summary.columns],
            kinds={c.name: c.kind.value for c in summary.columns},
            distinct={c.name: c.distinct for c in summary.columns},
        )


@dataclass(frozen=True)
class Question:
    """Something missing or ambiguous, asked with buttons.

    `field` is "target_column", "feature_columns", "model_type", "model_id" or
    "column:<what the user wrote>"; `options` are the button labels.
    """

    field: str
    text: str
    options: list[str]


@dataclass(frozen=True)
class Draft:
    """A partly understood request.

    `request` is what is understood so far: a TrainRequest, a PredictRequest or an ExploreAsk
    (None for the other intents), with None where a question is still to fill it in; a column
    name the user wrote that is still in question stays there as written until `answer` settles
    it. `model_id` is the saved model named (predict, show, delete, retrain). `questions`
    are in the order to ask; none left means the draft is complete. `notes` say what was
    assumed. `excluded` are columns the user left out ("everything except X") that could not
    yet be turned into `feature_columns` (a question about them is open, or there is no table).
    `reply` is a short answer instead of a job or a question: what the bot cannot do yet (and the
    nearest thing it can), or an answer to small talk.
    """

    intent: Intent
    request: TrainRequest | PredictRequest | ExploreAsk | None = None
    questions: list[Question] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    model_id: str | None = None
    excluded: list[str] = field(default_factory=list)
    reply: str | None = None


class Parser(Protocol):
    """Turns one message into a draft, checked against the current table."""

    async def parse(
        self, text: str, *, table: TableInfo | None, model_ids: list[str], user_id: str, intent: Intent | None = None
    ) -> Draft:
        """`model_ids` are the user's saved models, newest first; `user_id` is whose message it is.

        `intent`, when given, is what the message asks for (a command said so); `text` says the rest.
        """
        ...
