"""'Which model is best?': recognising the request, and the leaderboard answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot._format import clip
from bot.parsing._words import read_settings
from controller._compare import Candidate, Comparison, cv_score
from runner.spec import ModelType, TaskType, model_label

# Simpler first: when the winner is not clearly better, the simplest close one is recommended.
SIMPLICITY = (
    ModelType.LINEAR,
    ModelType.LOGISTIC,
    ModelType.RIDGE,
    ModelType.LASSO,
    ModelType.ELASTICNET,
    ModelType.POLYNOMIAL,
    ModelType.RANDOM_FOREST,
    ModelType.HIST_GRADIENT_BOOSTING,
    ModelType.GRADIENT_BOOSTING,
    ModelType.SVM,
    ModelType.NEURAL_NETWORK,
)
_NEURAL = re.compile(r"\b(?:includ\w*|with|and|plus)\s+(?:the\s+|a\s+)?(?:neural\s+net(?:work)?s?|nns?)\b", re.I)
_ASK = re.compile(
    r"^\W*(?:(?:which|what)\s+(?:\w+\s+)?(?:model|algorithm|method)\s+(?:is|would\s+be|works)\s+(?:the\s+)?best"
    r"|(?:find\s+(?:me\s+)?|what(?:'s|\s+is)\s+|tell\s+me\s+|show\s+me\s+)?(?:the\s+)?best\s+(?:model|algorithm)"
    r"|compare\s+(?:the\s+|all\s+|different\s+)?(?:models?|algorithms?))"
    r"(?:\s+(?:for|on|to\s+predict|at\s+predicting|predicting|of)\s+(?P<target>.*?))?\W*$",
    re.IGNORECASE,
)


_TUNE = re.compile(
    r"^\W*(?:tune|optimi[sz]e|find\s+the\s+best\s+settings\s+(?:of|for))\s+(?P<rest>.*?)\W*$", re.IGNORECASE
)
_TRAILING = re.compile(r"\W+$")
_TUNE_TARGET = re.compile(r"\s+(?:for|on|to\s+predict|predicting)\s+(?P<target>.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class TuneRequest:
    model: ModelType | None
    target: str | None  # as the user wrote it


def tune_request(text: str) -> TuneRequest | None:
    """'tune the random forest for price', 'optimise lasso', 'find the best settings for the SVM'."""
    match = _TUNE.match(text.strip())
    return None if match is None else tune_command(match["rest"])


def tune_command(text: str) -> TuneRequest:
    """The words after /tune, or after 'tune': 'random_forest price', 'the random forest for price'."""
    rest = _TRAILING.sub("", text.strip())
    target = None
    if (found_target := _TUNE_TARGET.search(rest)) is not None:
        target = found_target["target"].strip().strip("'\"`?") or None
        rest = rest[: found_target.start()]
    found, leftover = read_settings(rest)
    if target is None:  # `/tune random_forest price`: what follows the model names the target
        words = [w for w in leftover.split(";")[-1].split() if w.lower() not in ("the", "a", "my", "model")]
        target = " ".join(words) or None if found.models else None
    return TuneRequest(model=found.models[0] if found.models else None, target=target)


def format_tuning(tuning: dict[str, object], *, model_id: str) -> str:
    """What a tuning job found: the best settings and the CV score against the defaults'."""
    name = "R²" if tuning.get("metric") == "r2" else str(tuning.get("metric"))
    best = tuning.get("best_settings") or {}
    settings = ", ".join(f"{k} = {v}" for k, v in best.items()) if isinstance(best, dict) and best else "the defaults"
    return (
        f"🎛 Tuned: tried {tuning.get('tried')} settings on the same folds. Best: {settings}.\n"
        f"Cross-validated {name}: {_num(tuning.get('best_cv'))} against {_num(tuning.get('default_cv'))} "
        f"with the default settings. The tuned model is {model_id}."
    )


@dataclass(frozen=True)
class CompareRequest:
    target: str | None  # as the user wrote it
    include_neural_network: bool
    models: tuple[ModelType, ...] = ()  # the candidates the user named; () for every suitable one
    notes: tuple[str, ...] = ()  # a named model the catalogue lacks, and what stands in


# "which model predicts price best?", "what algorithm classifies species best"
_ASK_VERB = re.compile(
    r"^\W*(?:which|what)\s+(?:\w+\s+)?(?:model|algorithm|method)\s+(?:would\s+|will\s+|can\s+)?"
    r"(?:predicts?|classif(?:y|ies)|forecasts?|explains?)\s+(?P<target>.+?)\s+(?:the\s+)?best\W*$",
    re.IGNORECASE,
)


_FOR = r"(?:for|on|to\s+predict|at\s+predicting|predicting)"
_BETTER = r"(?:which(?:\s+one)?\s+(?:is|works|would\s+be)\s+(?:better|best)|what(?:'s|\s+is)\s+better)"
# Named candidates: "compare ridge, lasso and elastic net for price", "random forest vs svm on
# species", "which is better for price: ridge or lasso?", "is ridge or lasso better for price?".
_NAMED = [
    re.compile(rf"^\W*compare\s+(?P<models>.+?)(?:\s+{_FOR}\s+(?P<target>.+?))?\W*$", re.I),
    re.compile(rf"^\W*(?P<models>.+?\s(?:vs\.?|versus)\s.+?)(?:\s+{_FOR}\s+(?P<target>.+?))?\W*$", re.I),
    re.compile(rf"^\W*{_BETTER}(?:\s+{_FOR}\s+(?P<target>[^:,]+?))?\s*[:,]\s*(?P<models>.+?)\W*$", re.I),
    re.compile(rf"^\W*(?P<models>.+?)\s*[:,]?\s+{_BETTER}(?:\s+{_FOR}\s+(?P<target>.+?))?\W*$", re.I),
    re.compile(rf"^\W*(?:is|are)\s+(?P<models>.+?)\s+better(?:\s+{_FOR}\s+(?P<target>.+?))?\W*$", re.I),
]
# What may stand between the model names of a list.
_JOINERS = re.compile(r"^(?:and|or|vs\.?|versus|with|the|a|an|models?|[,;:&/+])$", re.IGNORECASE)


def compare_request(text: str) -> CompareRequest | None:
    """The comparison `text` asks for, or None.

    Either every model that suits the target ("which model is best for price?") or the ones
    named ("ridge vs lasso for price"; after /compare, "price ridge lasso").
    """
    neural = bool(_NEURAL.search(text))
    asked = _NEURAL.sub("", text).strip()
    match = _ASK.match(asked) or _ASK_VERB.match(asked)
    if match is not None:
        return _compare_for(match["target"] or "", neural)
    for pattern in _NAMED:
        if (match := pattern.match(asked)) is not None and (named := _named_models(match["models"], neural)):
            models, notes, _ = named
            target = (match["target"] or "").strip().strip("'\"`") or None
            return CompareRequest(target=target, include_neural_network=neural, models=models, notes=notes)
    return None


def compare_command(words: str) -> CompareRequest:
    """The words after /compare: the target, or the models to compare and the target ("price ridge lasso")."""
    neural = bool(_NEURAL.search(words))
    return _compare_for(_TRAILING.sub("", _NEURAL.sub("", words).strip()), neural)


def _compare_for(target: str, neural: bool) -> CompareRequest:
    """Every suitable model for `target` (as written), or the models it names, the rest being the target."""
    target = target.strip().strip("'\"`")
    if target and (named := _named_models(target, neural, rest_is_target=True)) is not None:
        models, notes, target = named
        return CompareRequest(target=target or None, include_neural_network=neural, models=models, notes=notes)
    return CompareRequest(target=target or None, include_neural_network=neural)


def _named_models(
    text: str, neural: bool, *, rest_is_target: bool = False
) -> tuple[tuple[ModelType, ...], tuple[str, ...], str] | None:
    """Two or more models named in `text`, the notes on stand-ins, and what is left of the text.

    None when fewer than two are named, or (unless the rest is the target) when other words
    stand between the names: then the text is not a list of models.
    """
    found, rest = read_settings(text)
    models = tuple(dict.fromkeys([*found.models, *([ModelType.NEURAL_NETWORK] if neural else [])]))
    if len(models) < 2 or found.fields.get("hyperparameters"):
        return None
    words = [w for w in re.split(r"\s+|(?=[,:&/+])|(?<=[,:&/+])", rest.replace(";", " ")) if w.strip()]
    if not rest_is_target and not all(_JOINERS.match(w) for w in words):
        return None
    target = " ".join(w for w in words if not _JOINERS.match(w)) if rest_is_target else ""
    return models, tuple(found.notes), target.strip("'\"`")


def status_line(done: int, total: int) -> str:
    return f"⚙️ {done} of {total} candidates done"


def format_leaderboard(comparison: Comparison) -> str:
    """Model, CV mean ± std, test metric, training time; the baseline; skips; the winner sentence."""
    regression = comparison.task_type is TaskType.REGRESSION
    metric, name = ("r2", "R²") if regression else ("accuracy", "accuracy")
    ranked = sorted(
        (c for c in comparison.candidates if c.outcome is not None),
        key=lambda c: -(cv_score(c.outcome)[0] or float("-inf")),  # type: ignore[arg-type]
    )
    first = ranked[0].outcome if ranked else None
    lines = [f"🏆 Which model is best for '{clip(comparison.target)}'?"]
    if first is not None and first.split is not None:
        split = first.split
        lines.append(
            f"Same {split.cv_folds}-fold cross-validation on the same {split.train_rows:,} training rows; "
            f"tested on the same {split.test_rows:,} rows. Score: {name}."
        )
    lines.append("")
    for place, candidate in enumerate(ranked, start=1):
        outcome = candidate.outcome
        assert outcome is not None
        mean, std = cv_score(outcome)
        lines.append(
            f"{place}. {model_label(candidate.model_type.value)}: CV {_num(mean)} ± {_num(std)}, "
            f"test {_num(outcome.metrics['test'].get(metric))}, {outcome.training_time_seconds:.1f} s — "
            f"{candidate.model_id}"
        )
    if first is not None:
        baseline = first.metrics["baseline"].get(metric)
        what = "always the average" if regression else "always the most common class"
        lines.append(f"–. Baseline ({what}): test {_num(baseline)}")
    for candidate in comparison.candidates:
        if candidate.failure is not None:
            lines.append(f"✖ {model_label(candidate.model_type.value)} failed: {candidate.failure}")
    for model, why in comparison.skipped:
        lines.append(f"⏭ {model_label(model.value)} skipped: {why}")
    if ranked:
        lines += ["", verdict(ranked, name)]
    return "\n".join(lines)


def verdict(ranked: list[Candidate], name: str) -> str:
    """The winner and whether it is clearly better than the runner-up, against the folds' spread."""
    winner = ranked[0]
    mean, std = cv_score(winner.outcome)  # type: ignore[arg-type]
    label = model_label(winner.model_type.value)
    if len(ranked) == 1 or mean is None or std is None:
        return f"Best: {label} ({name} {_num(mean)})."
    second = ranked[1]
    mean2, std2 = cv_score(second.outcome)  # type: ignore[arg-type]
    spread = max(std, std2 or 0.0)
    if mean2 is None or mean - mean2 > spread:
        return (
            f"Best: {label} ({name} {_num(mean)} ± {_num(std)}), clearly better than "
            f"{model_label(second.model_type.value)} ({_num(mean2)}): the gap is larger than the folds' spread."
        )
    close = [
        c for c in ranked
        if (m := cv_score(c.outcome)[0]) is not None  # type: ignore[arg-type]
        and mean - m <= max(std, cv_score(c.outcome)[1] or 0.0)  # type: ignore[arg-type]
    ]
    simplest = min(close, key=lambda c: SIMPLICITY.index(c.model_type))
    advice = (
        f" so the simpler {model_label(simplest.model_type.value)} ({simplest.model_id}) is the one I recommend."
        if simplest is not winner
        else f" {label} is also the simplest of them."
    )
    return (
        f"Best mean score: {label} ({name} {_num(mean)} ± {_num(std)}), but it is not clearly better than "
        f"{model_label(second.model_type.value)} ({_num(mean2)} ± {_num(std2)}): the gap is within the "
        f"folds' spread,{advice}"
    )


def _num(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and value != float("-inf") else "—"
