"""Everything in a request that is not a column name: model names, settings, validation, preprocessing.

`read_settings` finds these phrases, returns what they mean as Task fields and cuts them out of
the text, so that what is left holds only the column names and the words around them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runner.spec import (
    HYPERPARAMETERS,
    MODEL_TASKS,
    HyperKind,
    MissingStrategy,
    ModelType,
    Scaling,
    TaskType,
    Validation,
    model_phrase,
)

CUT = " ; "  # what a recognised phrase is replaced with: it ends a stretch of column names
_N = r"(?P<n>(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?)"  # 200, 0.5, .5, 1e-3
_PCT = r"\s*(?P<pct>%|percent\b|per\s*cent\b)?"
_TO = r"\s*(?:of|=|:|to|at|is)?\s*"
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"hundred": 100, "thousand": 1000}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES, "a"])
_SPELLED = re.compile(rf"\b(?:{_NUMBER_WORD})(?:(?:\s+|-|\s+and\s+)(?:{_NUMBER_WORD}))*\b", re.IGNORECASE)
_PARTS = {"half": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5, "tenth": 10}
_SHARE = re.compile(
    rf"\b(?P<n>a|an|one|two|three)[\s-]+(?P<part>{'|'.join(_PARTS)})s?\b|\bhalf\b", re.IGNORECASE
)


@dataclass
class Found:
    """What the phrases of one message say (Task fields) and the models they name."""

    fields: dict[str, Any] = field(default_factory=dict)
    models: list[ModelType] = field(default_factory=list)
    tasks: set[TaskType] = field(default_factory=set)  # what "classifier", "regressor"... said
    unsupported: list[str] = field(default_factory=list)  # sentences: asked for, not offered yet
    notes: list[str] = field(default_factory=list)  # a model the catalogue lacks, and what stands in

    def hyper(self, name: str, value: Any) -> None:
        self.fields.setdefault("hyperparameters", {})[name] = value

    def preprocessing(self, name: str, value: str) -> None:
        self.fields.setdefault("preprocessing", {})[name] = value


def spell_numbers(text: str) -> str:
    """Number words as digits: "fifty trees" -> "50 trees", "a quarter" -> "25%" (a lone "one" stays)."""
    text = _SHARE.sub(_share, text)
    return _SPELLED.sub(_spelled, text)


def _share(match: re.Match[str]) -> str:
    if match["part"] is None:
        return "50%"
    count = {"a": 1, "an": 1}.get(match["n"].lower()) or _UNITS[match["n"].lower()]
    return f"{round(100 * count / _PARTS[match['part'].lower()], 4)}%"


def _spelled(match: re.Match[str]) -> str:
    words = [w for w in re.split(r"[\s-]+", match[0].lower()) if w != "and"]
    if words[0] == "a" and len(words) > 1 and words[1] in _SCALES:
        words[0] = "one"
    if "a" in words or words in (["one"],):
        return match[0]
    total = current = 0
    for word in words:
        if word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if word == "thousand":
                total, current = total + current, 0
        else:
            current += _UNITS.get(word, 0) + _TENS.get(word, 0)
    return str(total + current)


def _number(text: str, *, kind: HyperKind, percent: bool) -> int | float:
    value = float(text)
    if percent:
        return round(value / 100, 6)
    if kind is HyperKind.FLOAT:
        return value
    return int(value) if value.is_integer() else value


def _fraction(match: re.Match[str]) -> float:
    """A share of the rows: "30%", "30 percent" and "0.3" are all 0.3."""
    value = float(match["n"])
    return round(value / 100, 6) if match["pct"] or value >= 1 else value


Rule = tuple[re.Pattern[str], Callable[[Found, re.Match[str]], None]]


def _rule(pattern: str, action: Callable[[Found, re.Match[str]], None], *, case: bool = False) -> Rule:
    return re.compile(pattern, 0 if case else re.IGNORECASE), action


def _set_hyper(name: str) -> Callable[[Found, re.Match[str]], None]:
    """Sets the hyperparameter `name` (runner.spec.HYPERPARAMETERS) to the phrase's number, of its kind."""
    kind = HYPERPARAMETERS[name].kind

    def action(found: Found, match: re.Match[str]) -> None:
        found.hyper(name, _number(match["n"], kind=kind, percent=bool(match.groupdict().get("pct"))))

    return action


# Words for an SVM's kernels besides the names themselves.
_KERNEL_SYNONYMS = {"polynomial": "poly", "gaussian": "rbf"}
_KERNEL = "|".join([*HYPERPARAMETERS["kernel"].choices, *_KERNEL_SYNONYMS])
_GAMMA = "|".join(HYPERPARAMETERS["gamma"].choices)


def _kernel(found: Found, match: re.Match[str]) -> None:
    word = (match["w"] or match["w2"]).lower()
    found.hyper("kernel", _KERNEL_SYNONYMS.get(word, word))


def _layers(found: Found, match: re.Match[str]) -> None:
    found.hyper("hidden_layers", [int(n) for n in re.findall(r"\d+", match["list"])])


def _repeated_layers(found: Found, match: re.Match[str]) -> None:
    count = match["count"].lower()
    found.hyper("hidden_layers", [int(match["size"])] * int(_WORD_NUMBERS.get(count, count)))


def _folds(found: Found, match: re.Match[str]) -> None:
    found.fields["validation"] = Validation.CROSS_VALIDATION.value
    if match.groupdict().get("k"):
        found.fields["cv_folds"] = int(match["k"])


def _test_size(found: Found, match: re.Match[str]) -> None:
    found.fields["test_size"] = _fraction(match)


def _train_size(found: Found, match: re.Match[str]) -> None:
    found.fields["test_size"] = round(1 - _fraction(match), 6)


def _split(found: Found, match: re.Match[str]) -> None:
    train, test = float(match["a"] or match["a2"]), float(match["b"] or match["b2"])
    found.fields["test_size"] = round(test / (train + test), 6)


def _fields(**values: Any) -> Callable[[Found, re.Match[str]], None]:
    def action(found: Found, match: re.Match[str]) -> None:
        found.fields.update(values)

    return action


def _scaling(value: Scaling | None = None) -> Callable[[Found, re.Match[str]], None]:
    def action(found: Found, match: re.Match[str]) -> None:
        word = re.sub(r"[\s-]", "", match.groupdict().get("kind") or "").lower()
        chosen = value or {"minmax": Scaling.MINMAX, "robust": Scaling.ROBUST}.get(word, Scaling.STANDARD)
        found.preprocessing("scaling", chosen.value)

    return action


def _missing(value: MissingStrategy | None = None) -> Callable[[Found, re.Match[str]], None]:
    def action(found: Found, match: re.Match[str]) -> None:
        word = (match.groupdict().get("s") or "").lower()
        chosen = value or (MissingStrategy.MEDIAN if word == "median" else MissingStrategy.MEAN)
        found.preprocessing("missing_strategy", chosen.value)

    return action


def _model(model: ModelType, degree: int | None = None) -> Callable[[Found, re.Match[str]], None]:
    def action(found: Found, match: re.Match[str]) -> None:
        if model not in found.models:
            found.models.append(model)
        if len(MODEL_TASKS[model]) > 1:  # "random forest classifier"; not "logistic regression"
            found.tasks.update(_tasks_in(match[0]))
        if degree is not None:
            found.hyper("degree", degree)

    return action


def _lacking(name: str, closest: ModelType, *, used: bool) -> Callable[[Found, re.Match[str]], None]:
    """A model the catalogue lacks: said so, and the closest one used (`used`) or offered."""

    def action(found: Found, match: re.Match[str]) -> None:
        if used:
            _model(closest)(found, match)
            label = model_phrase(closest)
            found.notes.append(f"I do not have {name}; I will use {label}, the closest I have.")
        else:
            found.notes.append(f"I do not have {name} yet; the closest I have is {model_phrase(closest)}.")

    return action


_MISSING = r"(?:missing|empty|blank|nan|na|null|none)"
_SCALE_KIND = r"(?P<kind>min[\s-]*max|standard|robust|z[\s-]*score)"

_COMPARISON = (
    "A column made by a comparison (`{what}`) is not supported yet: add it to your table as a 0/1 "
    "column (for example with a spreadsheet formula) and send the table again."
)
# In order: phrases with numbers first (so "linear kernel" is not a linear model, "5-fold" is
# not a layer size and "depth 5" is not a column), then preprocessing, then model names.
_RULES: list[Rule] = [
    # -- a target made by a comparison ("logit of affairs > 0 on age")
    _rule(
        r"\b(?P<what>[A-Za-z_][\w.]*\s*(?:>=|<=|==|!=|>|<)\s*-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?![\w.])",
        lambda found, m: found.unsupported.append(_COMPARISON.format(what=m["what"])),
    ),
    # -- cross-validation
    _rule(
        r"\b(?:leave[\s-]*(?:one|1|p)[\s-]*out|loo|loocv|jack[\s-]*knif\w*)"
        r"(?:\s+(?:cross[\s-]*validat\w*|cv|validation))?\b",
        lambda found, m: found.unsupported.append(
            "Leave-one-out cross-validation is not supported yet; I can do k-fold cross-validation with "
            "2 to 20 folds (for example '10-fold cross-validation') or a hold-out split."
        ),
    ),
    _rule(r"\b(?P<k>\d+)[\s-]*folds?\b(?:\s+cross[\s-]*validat\w*|\s+cv\b)?", _folds),
    _rule(
        r"\b(?:cross[\s-]*validat\w*|cv)(?:\s+(?:with|using|on|in|of))?\s*(?:=|:)?\s*"
        r"(?P<k>\d+)(?:\s+folds?)?\b",
        _folds,
    ),
    _rule(r"\bcross[\s-]*validat\w*\b|\bcv\b", _folds),
    # -- hyperparameters
    _rule(
        rf"\b{_N}\s*(?:decision\s+)?(?:trees|estimators|boosting\s+rounds|rounds)\b",
        _set_hyper("n_estimators"),
    ),
    _rule(
        r"\b(?:n_estimators|number\s+of\s+(?:trees|estimators)|num[\s_]*trees|trees|estimators)"
        rf"{_TO}{_N}",
        _set_hyper("n_estimators"),
    ),
    _rule(rf"\b(?:max(?:imum)?[\s_-]*)?(?:tree[\s_-]*)?depth{_TO}{_N}", _set_hyper("max_depth")),
    _rule(rf"\b{_N}\s+levels?\s+deep\b", _set_hyper("max_depth")),
    _rule(
        rf"\bmin(?:imum)?[\s_-]*samples?[\s_-]*(?:to[\s_-]*|per[\s_-]*)?split{_TO}{_N}",
        _set_hyper("min_samples_split"),
    ),
    _rule(
        rf"\bmin(?:imum)?[\s_-]*samples?[\s_-]*(?:per[\s_-]*|in[\s_-]*a[\s_-]*)?leaf{_TO}{_N}",
        _set_hyper("min_samples_leaf"),
    ),
    _rule(rf"\b(?:learning[\s_-]*rate|lr|eta){_TO}{_N}", _set_hyper("learning_rate")),
    _rule(rf"\bl1[\s_-]*ratio{_TO}{_N}", _set_hyper("l1_ratio")),
    _rule(rf"\balpha{_TO}{_N}", _set_hyper("alpha")),
    _rule(rf"(?<![\w.])C\s*(?:=|:|of)?\s*{_N}(?![\w.])", _set_hyper("C"), case=True),
    _rule(
        rf"\b(?:regulari[sz]ation\s+parameter|inverse\s+regulari[sz]ation(?:\s+strength)?)\s*C?{_TO}{_N}",
        _set_hyper("C"),
    ),
    _rule(rf"\bpatience{_TO}{_N}", _set_hyper("patience")),
    _rule(rf"\b(?:stop\s+early|early\s+stopping)\s+after\s+{_N}(?:\s+epochs?)?", _set_hyper("patience")),
    _rule(rf"\b{_N}\s*epochs?\b", _set_hyper("epochs")),
    _rule(rf"\bepochs?{_TO}{_N}", _set_hyper("epochs")),
    _rule(rf"\bbatch[\s_-]*size{_TO}{_N}", _set_hyper("batch_size")),
    _rule(rf"\bbatches\s+of\s+{_N}", _set_hyper("batch_size")),
    _rule(rf"\bdropout(?:\s+rate)?{_TO}{_N}{_PCT}", _set_hyper("dropout")),
    _rule(
        r"\b(?P<count>\d|one|two|three|four|five)\s+(?:hidden\s+)?layers\s+of\s+(?P<size>\d+)"
        r"(?:\s+(?:units|neurons|nodes))?(?:\s+each)?",
        _repeated_layers,
    ),
    _rule(
        r"\b(?:hidden[\s_-]*)?layers?(?:\s+of(?:\s+sizes?)?|\s+sized?|\s*=|\s*:)?\s*\[?\s*"
        r"(?P<list>\d+(?:\s*(?:,|and|x|/)\s*\d+(?![\d.]|[\s-]*(?:folds?|epochs?|%|percent|trees)))*)"
        r"\s*\]?(?:\s+(?:units|neurons|nodes))?",
        _layers,
    ),
    _rule(
        rf"\bkernel\s*(?:=|:|of)?\s*(?P<w>{_KERNEL})\b|\b(?P<w2>{_KERNEL})\s+kernel\b",
        _kernel,
    ),
    _rule(
        rf"\bgamma\s*(?:=|:|of)?\s*(?P<w>{_GAMMA})\b", lambda found, m: found.hyper("gamma", m["w"].lower())
    ),
    _rule(rf"\bepsilon{_TO}{_N}", _set_hyper("epsilon")),
    _rule(
        rf"\bsub[\s_-]*sampl(?:e|ing)(?:\s+(?:ratio|rate|fraction))?{_TO}{_N}{_PCT}", _set_hyper("subsample")
    ),
    _rule(rf"\bmax(?:imum)?[\s_-]*iter(?:ations?)?{_TO}{_N}", _set_hyper("max_iter")),
    _rule(rf"\b{_N}\s+(?:max(?:imum)?\s+)?iterations\b", _set_hyper("max_iter")),
    _rule(rf"\b(?:of\s+|with\s+)?(?:polynomial\s+)?degree{_TO}{_N}", _set_hyper("degree")),
    _rule(rf"\b{_N}(?:st|nd|rd|th)?[\s-]+(?:degree|order)\b", _set_hyper("degree")),
    # -- the test split
    _rule(
        rf"\bhold(?:ing)?[\s-]*out\s+{_N}{_PCT}(?:\s+of\s+the\s+(?:data|rows))?"
        r"(?:\s+(?:for\s+)?(?:test(?:ing)?|validation))?",
        _test_size,
    ),
    _rule(
        rf"\btest(?:ing)?[\s_-]*(?:set[\s_-]*)?(?:size|fraction|ratio|share|split){_TO}{_N}{_PCT}", _test_size
    ),
    _rule(
        rf"\b{_N}{_PCT}\s+(?:of\s+the\s+(?:data|rows)\s+)?(?:for\s+|as\s+(?:the\s+)?|in\s+the\s+)?"
        r"(?:test(?:ing)?|hold[\s-]*out|validation)(?:\s+(?:set|data|split))?\b",
        _test_size,
    ),
    _rule(rf"\btest(?:ing)?\s+on\s+{_N}{_PCT}(?:\s+of\s+the\s+(?:data|rows))?", _test_size),
    _rule(rf"\btrain(?:ing)?\s+on\s+{_N}{_PCT}(?:\s+of\s+the\s+(?:data|rows))?", _train_size),
    _rule(rf"\b{_N}{_PCT}\s+(?:of\s+the\s+(?:data|rows)\s+)?(?:for\s+)?train(?:ing)?\b", _train_size),
    _rule(
        r"\b(?P<a>\d+)\s*[/:-]\s*(?P<b>\d+)\s+(?:train[\s/-]*test\s+)?split\b"
        r"|\bsplit\s+(?:of\s+)?(?P<a2>\d+)\s*[/:-]\s*(?P<b2>\d+)\b",
        _split,
    ),
    _rule(
        r"\bhold[\s-]*out(?:\s+(?:validation|split|set))?\b", _fields(validation=Validation.HOLD_OUT.value)
    ),
    # -- preprocessing
    _rule(
        r"\b(?:no|without|skip(?:ping)?|don'?t|do\s+not)\s+(?:any\s+)?(?:feature\s+)?"
        r"(?:scal(?:ing|e)|normali[sz](?:ation|e|ing)|standardi[sz](?:ation|e|ing))\b"
        r"|\bscal(?:ing|er)\s*(?:=|:)?\s*none\b|\bunscaled\b",
        _scaling(Scaling.NONE),
    ),
    _rule(
        rf"\b(?:scale|scaling|scaler)\s*(?:with|using|by|=|:)?\s*(?:the\s+|a\s+)?{_SCALE_KIND}"
        r"(?:\s+(?:scal(?:ing|er)|normali[sz]ation))?\b",
        _scaling(),
    ),
    _rule(rf"\b{_SCALE_KIND}\s+(?:scal(?:ing|er|e)|normali[sz]ation)\b", _scaling()),
    _rule(r"\bmin[\s-]*max\b", _scaling(Scaling.MINMAX)),
    _rule(
        r"\bstandardi[sz](?:e|ed|ation|ing)\b(?:\s+(?:the\s+)?(?:features|data|columns))?",
        _scaling(Scaling.STANDARD),
    ),
    _rule(
        r"\bnormali[sz](?:e|ed|ation|ing)\b(?:\s+(?:the\s+)?(?:features|data|columns))?",
        _scaling(Scaling.MINMAX),
    ),
    _rule(
        rf"\b(?:fill(?:\s+in)?|impute|replace)\s+(?:the\s+|any\s+)?(?:{_MISSING}s?\s*)?"
        r"(?:values?|cells?|data|gaps)?\s*"
        r"(?:with|using|by)\s+(?:the\s+)?(?:column\s+)?(?P<s>mean|median|average)s?\b",
        _missing(),
    ),
    _rule(r"\b(?P<s>mean|median|average)\s+imput(?:ation|e|ing)\b", _missing()),
    _rule(
        r"\b(?:drop|remove|delete|discard|skip|ignore)\s+(?:all\s+|any\s+)?(?:the\s+)?"
        r"(?:rows?|records?|lines?|samples?)\s+(?:with|that\s+have|containing|having)\s+(?:any\s+)?"
        rf"{_MISSING}(?:\s+(?:values?|data|cells?|entries))?\b"
        rf"|\b(?:drop|remove)\s+(?:the\s+|all\s+)?{_MISSING}s?(?:\s+(?:values?|rows?))?\b|\bdropna\b",
        _missing(MissingStrategy.DROP),
    ),
    # -- what a prediction returns
    _rule(
        r"\b(?:without|no|skip)\s+(?:the\s+)?probabilit(?:y|ies)\b"
        r"|\b(?:only|just)\s+(?:the\s+)?(?:predicted\s+)?(?:labels?|classes|class(?:\s+labels?)?)\b",
        _fields(return_probabilities=False),
    ),
    _rule(r"\bwith\s+(?:the\s+)?(?:class\s+)?probabilit(?:y|ies)\b", _fields(return_probabilities=True)),
    # -- model names
    _rule(
        r"\blogistic(?:\s+regression)?(?:\s+(?:model|classifier))?\b|\blogit\b", _model(ModelType.LOGISTIC)
    ),
    _rule(r"\bquadratic(?:\s+(?:regression|model|fit))?\b", _model(ModelType.POLYNOMIAL, degree=2)),
    _rule(r"\bcubic(?:\s+(?:regression|model|fit))?\b", _model(ModelType.POLYNOMIAL, degree=3)),
    _rule(r"\b(?:polynomial|poly)(?:\s+(?:regression|model|fit|features))?\b", _model(ModelType.POLYNOMIAL)),
    _rule(r"\belastic[\s_-]*net(?:\s+regression)?\b", _model(ModelType.ELASTICNET)),
    _rule(r"\bridge(?:\s+regression)?\b", _model(ModelType.RIDGE)),
    _rule(r"\blasso(?:\s+regression)?\b", _model(ModelType.LASSO)),
    _rule(r"\bl2(?:[\s-]*(?:regulari[sz]\w*|penal\w*))?\b", _model(ModelType.RIDGE)),
    _rule(r"\bl1(?:[\s-]*(?:regulari[sz]\w*|penal\w*))?\b", _model(ModelType.LASSO)),
    _rule(
        r"\bordinary\s+least\s+squares\b|\bols\b|\bglm\b|\blinear(?:\s+regression)?(?:\s+model)?\b",
        _model(ModelType.LINEAR),
    ),
    _rule(
        r"\b(?:svms?|svr|svc|support[\s-]*vector"
        r"(?:\s+(?:machines?|regression|regressor|classifier|classification))?)\b",
        _model(ModelType.SVM),
    ),
    _rule(
        r"\brandom[\s_-]*forests?(?:\s+(?:classifier|regressor|model))?\b|\brf\b|\bforests?\b",
        _model(ModelType.RANDOM_FOREST),
    ),
    _rule(  # before gradient boosting, whose words it contains
        r"\b(?:hist(?:ogram)?(?:[\s_-]*based)?[\s_-]*gradient[\s_-]*boost(?:ing|ed)?"
        r"(?:\s+(?:trees?|machines?|classifier|regressor|model))?"
        r"|hist[\s_-]*gb(?:m|t|dt)?|hgbt?|histgradientboosting(?:regressor|classifier)?)\b",
        _model(ModelType.HIST_GRADIENT_BOOSTING),
    ),
    _rule(
        r"\b(?:gradient[\s_-]*boost(?:ing|ed)?(?:\s+(?:trees?|machines?|classifier|regressor|model))?"
        r"|gbm|gbdt|gbt|gb|boosted\s+(?:decision\s+)?trees?|boosting)\b",
        _model(ModelType.GRADIENT_BOOSTING),
    ),
    _rule(r"\bxgboost\b", _lacking("XGBoost", ModelType.GRADIENT_BOOSTING, used=True)),
    _rule(r"\blight[\s-]*gbm\b", _lacking("LightGBM", ModelType.GRADIENT_BOOSTING, used=True)),
    _rule(r"\bcat[\s-]*boost\b", _lacking("CatBoost", ModelType.GRADIENT_BOOSTING, used=True)),
    _rule(
        r"\b(?:a\s+)?(?:single\s+)?(?:decision|regression|classification|cart)\s+trees?\b|\bcart\b",
        _lacking("a single decision tree", ModelType.RANDOM_FOREST, used=False),
    ),
    _rule(
        r"\b(?:knn|k[\s-]*nn|k[\s-]*nearest[\s-]*neighbou?rs?)(?:\s+(?:regression|classifier|model))?\b",
        _lacking("k-nearest neighbours", ModelType.RANDOM_FOREST, used=False),
    ),
    _rule(r"\bnaive[\s-]*bayes\b", _lacking("naive Bayes", ModelType.LOGISTIC, used=False)),
    _rule(
        r"\b(?:neural[\s_-]*net(?:work)?s?|nn|mlp|multi[\s-]*layer\s+perceptron"
        r"|deep[\s-]+learning(?:\s+model)?|deep\s+net(?:work)?)\b",
        _model(ModelType.NEURAL_NETWORK),
    ),
]


def _cut(found: Found, action: Callable[[Found, re.Match[str]], None], match: re.Match[str]) -> str:
    action(found, match)
    return CUT


_CLASSIFY = re.compile(
    r"\bclassif(?:y|ication|ier|ying)\b|\bpredict\s+(?:whether|if)\b|\bbinary\b|\bcategori[sz]e\b",
    re.IGNORECASE,
)
_REGRESS = re.compile(r"\bregress(?:ion|or|ing)?\b", re.IGNORECASE)


def read_settings(text: str) -> tuple[Found, str]:
    """The settings, validation, preprocessing and models `text` names, and the text without them."""
    found = Found()
    text = spell_numbers(text)
    for pattern, action in _RULES:
        text = pattern.sub(functools.partial(_cut, found, action), text)
    found.tasks.update(_tasks_in(text))
    if len(found.tasks) == 1:
        found.fields["learning_task"] = found.tasks.pop().value
    return found, text


def _tasks_in(text: str) -> set[TaskType]:
    tasks = set()
    if _CLASSIFY.search(text):
        tasks.add(TaskType.CLASSIFICATION)
    if _REGRESS.search(text):
        tasks.add(TaskType.REGRESSION)
    return tasks


def read_model(text: str) -> ModelType | None:
    """The one model type `text` names ("random forest", "random_forest", "RF"), else None."""
    try:
        return ModelType(text.strip().lower().replace(" ", "_"))
    except ValueError:
        pass
    found, _ = read_settings(text)
    return found.models[0] if len(found.models) == 1 else None
