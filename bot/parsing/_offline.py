"""The rule-based parser: words to a draft, deterministically and without any network.

The text is read in steps. Quoted names are set aside first (they are taken as written).
Settings, preprocessing and model names are read and cut out (`_words`). Column names of the
table are found and set aside too, so names like "Profit and Loss" survive. What is left is
split at marker words ("predict", "using", "except", ...) into the target, the features and the
columns to leave out, and everything is checked by the shared `resolve` step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from bot.parsing._columns import STOPWORDS, clean, find_spans, match_column
from bot.parsing._draft import formula_model, new_request, resolve
from bot.parsing._explore import read_describe, read_explore
from bot.parsing._formula import Formula, find_formula
from bot.parsing._types import Draft, Intent, TableInfo
from bot.parsing._typos import correct, said
from bot.parsing._words import CUT, Found, read_settings
from controller.task import TrainRequest
from runner.spec import ModelType, model_phrase

_HOLE = "\ue000"  # a set-aside name is written as _HOLE + chr(_FIRST + its index)
_FIRST = 0xE100
_HOLE_RE = re.compile(f"{_HOLE}(.)")
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”|«([^»]+)»|`([^`]+)`|(?<!\w)\'([^\']+)\'(?!\w)')
_MODEL_ID = re.compile(r"\bmodel_[0-9a-z]+\b", re.IGNORECASE)
_LATEST = re.compile(
    r"\b(?:last|latest|newest|most\s+recent|previous|recent)\s+(?:\w+\s+){0,2}model\b", re.IGNORECASE
)

def _whole(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"^\W*(?:{pattern})\W*$", re.IGNORECASE)


def _any(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_CANCEL = _whole(
    r"(?:please\s+)?(?:cancel|stop|abort|never\s*mind|forget\s+(?:it|that)|quit|exit)"
    r"(?:\s+(?:it|that|this|please|the\s+question))?"
)
_HELP = _whole(
    r"help(?:\s+me)?(?:\s+please)?|what\s+can\s+you\s+do|what\s+do\s+you\s+do|how\s+does\s+(?:this|it)\s+work"
    r"|how\s+do\s+i\s+(?:use\s+(?:this|you|it)|start)|commands|usage|start|hi|hello|hey|menu|\?"
)
_SMALL_TALK = _whole(
    r"(?:ok(?:ay)?\s*,?\s*)?(?:thanks?(?:\s+you)?(?:\s+(?:a\s+lot|so\s+much|very\s+much))?|thx|ty|cheers"
    r"|great|cool|nice|perfect|awesome|good\s+(?:bot|job)|bye|goodbye|see\s+you|how\s+are\s+you)"
    r"(?:\s*,?\s*(?:thanks|bot|mate|!))*"
)
_SMALL_TALK_REPLY = "You're welcome! Send another table or ask for another model whenever you like."
# Requests the dialogue answers elsewhere (explore, compare, tune) when they name their columns: how to ask.
_HOW_TO_ASK = [
    (
        _any(r"\bcorrelat\w*|\bcovariance\b"),
        "Which columns? Name two, as in 'correlation between price and carat', or one, as in "
        "'correlations with price'.",
    ),
    (
        _any(r"\b(?:plot|chart|graph|histogram|scatter\s*plot|box\s*plot|visuali[sz]\w*|draw)\b"),
        "Which plot of which columns? For example 'plot price against carat', 'histogram of price', "
        "'box plot of price by cut' or 'pair plot of price, carat and depth'.",
    ),
    (
        _any(r"\b(?:tun(?:e|ing)|grid[\s-]*search|hyper[\s-]*parameter\s+search|optimi[sz]e\s+the)\b"),
        "Which model should I tune, and for which column? For example 'tune the random forest for price' "
        "or /tune random_forest price.",
    ),
    (
        _any(r"\b(?:which|what)\s+(?:\w+\s+)?(?:model|algorithm|method)\s+(?:is|would\s+be|works)\s+best\b"
             r"|\bbest\s+(?:model|algorithm)\b|\bcompare\s+(?:the\s+|my\s+)?models\b"),
        "Which column should the models predict? For example 'which model is best for price?' or "
        "/compare price.",
    ),
]
# A question about a model's coefficient table ("is rm significant?"): the latest model's details.
_COEFFICIENTS = _any(
    r"\b(?:coefficients?|coefs?|p[\s-]*values?|significan\w*|confidence\s+intervals?|standard\s+errors?"
    r"|t[\s-]*(?:test|values?|stat\w*)|r[\s-]*squared?|(?:regression|coefficients?)\s+table"
    r"|summary\s+of\s+(?:the\s+|my\s+|this\s+|that\s+)?(?:\w+\s+)?model(?:_\w+)?|model\s+summary"
    r"|summary\s*\(\s*(?:lm|glm|model)|(?:regression|model|fit)\s+(?:output|results?|report)|confint)\b"
)
# R's calls on a fitted model, whatever its variable is called: "summary(fit)", "confint(m1)".
_MODEL_CALL = _any(r"^\W*(?:summary|confint|coef(?:ficients)?)\s*\(\s*[\w.]+\s*\)\W*$")
_NO_MODEL_FOR_COEFFICIENTS = (
    "Coefficients and p-values come with a trained linear or logistic regression: train one first "
    "(for example 'price ~ size + rooms'); its answer shows the table, and /model ID shows it again."
)
# "retrain model_1a2b on the new data", "refit my last model on this table", "re-run model X with the current data".
_RETRAIN = _any(r"\bre-?(?:train|fit|run|estimate|build)\w*\b[^.;!?]*\bmodel")
_DELETE = _any(r"\b(?:delete|remove|erase|discard|get\s+rid\s+of|forget|throw\s+away)\b[^.;!?]*\bmodel")
_LIST = _any(
    r"\b(?:list|show|see|display|view|what\s+are|which\s+are|what|which)\b[^.;!?]*\bmodels\b"
    r"|^\W*(?:my\s+)?models\W*$|\bmodels\s+(?:do\s+)?i\s+have\b"
)
_SHOW = _any(
    r"\b(?:show|describe|details?|info(?:rmation)?|about|tell\s+me\s+about|inspect|look\s+at|explain"
    r"|display|view|coefficients?|coefs?|summary|summari[sz]e|interpret)\b[^.;!?]*\bmodel(?:_[0-9a-z]+)?\b"
)
_DATA = _any(
    r"\bwhat'?s\s+in\s+(?:my|the|this)\s+(?:data|table|file|dataset|spreadsheet)\b"
    r"|\b(?:describe|summari[sz]e|summary\s+of|overview\s+of|show(?:\s+me)?|explain|look\s+at"
    r"|tell\s+me\s+about)\s+(?:my|the|this)\s+(?:data|table|file|dataset|spreadsheet|columns)\b"
    r"|\b(?:what|which)\s+columns\b|\bdata\s+summary\b|\bwhat\s+is\s+in\s+(?:my|the)\s+(?:data|table)\b"
)
_TRAIN = _any(
    r"\b(?:train\w*|fit(?:ting)?|build|create|develop|teach|learn)\b"
    r"|\bmake\s+(?:me\s+)?an?\s+(?:\w+\s+){0,3}model\b|\bclassify\b|\bregress\b|~"
    r"|\b(?:as|is)\s+(?:the\s+|my\s+)?(?:target|label)\b"
    r"|\btarget(?:\s+(?:column|variable))?\s*(?:is\b|=|:)"
    r"|\b(?:response|outcome|dependent)(?:\s+(?:variable|column))?\s*(?:is\b|=|:)|\bdependent\s+variable\b"
    r"|\b(?:covariates?|regressors?|(?:independent|explanatory)\s+variables?)\b"
    r"|\bas\s+a\s+function\s+of\b|\bexplained\s+by\b|\bcontrolling\s+for\b"
)
_PREDICT = _any(
    r"\bpredictions?\b|\bscor(?:e|ing)\b|\bapply\b|\binference\b"
    r"|\brun\s+(?:my|the|this|that)\s+(?:\w+\s+)?model\b"
    r"|\buse\s+(?:my|the|this|that|your)\s+(?:\w+\s+)?model\b"
    r"|\b(?:with|using)\s+(?:my|the|this|that)\s+(?:\w+\s+)?model\b"
)
_PREDICT_WORD = _any(r"\bpredict\w*\b|\bforecast\w*\b|\bestimat\w*\b")
# A question about a model ("how good is my last model?") asks for its details, not for a job.
_QUESTION = _any(r"^\W*(?:how|what|which|why|is|are|was|were|does|did)\b")
_REGRESS_VERB = _any(r"\bregress(?:ed|ing)?\b")
_FEATURE_WORDS = _any(r"\b(?:using|from|based\s+on|given|with|by)\b")

# Markers split the text into pieces; each piece gets the role of the marker before it.
# A postfix marker ("... as the target") gives its role to the piece before it instead.
_MARKERS = _any(
    r"(?P<target>\bpredict(?:s|ing|ions?)?(?:\s+(?:whether|if|the\s+value\s+of))?\b"
    r"|\bclassify(?:ing)?\b|\bclassification\s+of\b|\bforecast(?:ing)?\b|\bestimat(?:e|ing)\b"
    r"|\btarget(?:\s+(?:column|variable))?\s*(?:is\b|=|:|should\s+be\b|will\s+be\b)"
    r"|\btarget\s+(?:column|variable)\b"
    r"|\blabel(?:\s+column)?\s*(?:is\b|=|:)|\by\s*=|\b(?:target|label)(?=\s+" + _HOLE + r")"
    r"|\b(?:response|outcome|dependent)(?:\s+(?:variable|column))?\s*(?:is\b|=|:)"
    r"|\b(?:response|outcome|dependent)\s+variable\b|\b(?:response|outcome)(?=\s+" + _HOLE + r"))"
    r"|(?P<regress>\bregress(?:ion\s+of)?\b)"
    r"|(?P<postfix_target>\b(?:as|is)\s+(?:the\s+|my\s+)?"
    r"(?:target|label|outcome|response|dependent\s+variable)(?:\s+(?:column|variable))?\b)"
    r"|(?P<postfix_features>\b(?:as|are)\s+(?:the\s+|my\s+)?"
    r"(?:features|predictors|inputs|independent\s+variables)\b)"
    r"|(?P<for>\bfor\b)"
    r"|(?P<features>\busing(?:\s+only)?\b|\bfrom\b|\bbased\s+on\b|\bgiven\b|\bwith(?:\s+only)?\b"
    r"|\bfeatures?\s*(?:are\b|is\b|=|:)|\bpredictors?\s*(?:are\b|=|:)|\binputs?\s*(?:are\b|=|:)"
    r"|\b(?:covariates?|regressors?|(?:independent|explanatory)\s+variables?)(?:\s*(?:are\b|=|:))?"
    r"|\b(?:predictors?|features?|inputs?)(?=\s+" + _HOLE + r")"
    r"|\bcontrolling\s+for\b|\badjust(?:ed|ing)\s+for\b|\bby\b)"
    r"|(?P<on>\bon\b|\bas\s+a\s+function\s+of\b|\bin\s+terms\s+of\b|\bexplained\s+by\b"
    r"|\bagainst\b|\bvs\.?|\bversus\b)"
    r"|(?P<exclude>\bexcept(?:\s+for)?\b|\bexcluding\b|\bexclude\b|\bother\s+than\b|\bapart\s+from\b"
    r"|\bwithout(?:\s+using)?\b|\bignor(?:e|ing)\b|\bleav(?:e|ing)\s+out\b|\bdon'?t\s+use\b|\bdo\s+not\s+use\b"
    r"|\bnot\s+using\b|\bbesides\b|\bdrop(?:ping)?\b|\bnot(?=\s+" + _HOLE + r"))"  # "not <a column>"
    r"|(?P<but>\bbut(?:\s+not)?\b|\bminus\b)"
    r"|(?P<stop>[;!?\n]|\.(?=\s|$)|\bthen\b|\bplease\b|\bto\b)"
)
_ITEM_SEPARATORS = re.compile(r"\s*(?:,|;|&|\+|\band\b|\bor\b|\bplus\b|\bas\s+well\s+as\b)\s*", re.IGNORECASE)
_ALL_WORDS = frozenset({"all", "every", "everything", "rest", "others", "remaining"})
_ALL_FILLER = frozenset({"else", "other", "available", "the", "of"}) | STOPWORDS


class OfflineParser:
    """The rule-based parser: no network, the same answer for the same words and table."""

    async def parse(
        self, text: str, *, table: TableInfo | None, model_ids: list[str], user_id: str, intent: Intent | None = None
    ) -> Draft:
        """Parse `user_id`'s `text`; `model_ids` are the user's saved models, newest first;
        `intent`, when given, is what the text asks for (a command said so).

        In a worker thread: a long message against a wide table takes seconds of matching,
        and the event loop serves every other user meanwhile.
        """
        return await asyncio.to_thread(
            self.parse_now, text, table=table, model_ids=model_ids, user_id=user_id, intent=intent
        )

    def parse_now(
        self, text: str, *, table: TableInfo | None, model_ids: list[str], user_id: str, intent: Intent | None = None
    ) -> Draft:
        """`parse`, synchronously."""
        holes: list[str] = []
        text = _set_aside_quotes(_without_holes(text), holes)
        text, fixes = correct(text, table.columns if table is not None else [])
        if intent is None or intent is Intent.DESCRIBE:
            words = _restore(text, holes)
            explored = read_explore(words, table) if intent is None else read_describe(words, table)
            if explored is not None:
                explored = dataclasses.replace(explored, notes=[said(fixes)] if fixes else [])
                return resolve(explored, table=table, model_ids=model_ids)
        formula = find_formula(text)
        if formula is not None:
            text = text[: formula.start] + CUT + text[formula.end :]
            intent = intent or Intent.TRAIN
        found, rest = read_settings(text)
        ids = [m.lower() for m in _MODEL_ID.findall(rest)]
        latest = bool(_LATEST.search(rest) or _COEFFICIENTS.search(rest))
        rest = _MODEL_ID.sub(CUT, rest)
        if table is not None:
            rest = _set_aside_columns(rest, table, holes)
        pieces = _Pieces.read(rest, holes, table) if formula is None else _Pieces.of_formula(formula, holes)
        if intent is None:
            plain = _set_aside_columns(text, table, list(holes)) if table is not None else text
            if reply := _short_answer(plain):
                return Draft(intent=Intent.UNKNOWN, reply=reply)
            intent = _intent(plain, found, ids, latest, pieces, table)
            if intent is Intent.SHOW_MODEL and not (model_ids or ids) and _COEFFICIENTS.search(plain):
                return Draft(intent=Intent.UNKNOWN, reply=_NO_MODEL_FOR_COEFFICIENTS)

        said_fields: dict[str, Any] = {}
        notes: list[str] = [said(fixes)] if fixes else []
        notes += found.notes
        excluded: list[str] = []
        if intent is Intent.TRAIN:
            said_fields = {k: v for k, v in found.fields.items() if k != "return_probabilities"}
            if formula is not None and formula.model is not None and not found.models:
                found.models.append(formula.model)
            if _REGRESS_VERB.search(text) and not found.models:
                found.models.append(ModelType.LINEAR)
                notes.append("You said 'regress' and named no model, so I will fit linear regression.")
            if len(found.models) == 1:
                said_fields["model_type"] = found.models[0]
            elif found.models:
                names = ", ".join(model_phrase(m) for m in found.models)
                versus = " vs ".join(model_phrase(m) for m in found.models)
                notes.append(
                    f"You named more than one model ({names}), so I am asking which one. To train each "
                    f"on the same folds and see which is best, write: {versus} for {pieces.target or 'TARGET'}"
                )
            if pieces.target is not None:
                said_fields["target_column"] = pieces.target
            if pieces.features:
                said_fields["feature_columns"] = pieces.features
            excluded = pieces.excluded
        elif intent is Intent.PREDICT and "return_probabilities" in found.fields:
            said_fields = {"return_probabilities": found.fields["return_probabilities"]}
        request, refused = (
            new_request(intent, user_id=user_id, said=said_fields)
            if intent in (Intent.TRAIN, Intent.PREDICT)
            else (None, None)
        )
        refusals = [formula.unsupported] if formula is not None and formula.unsupported else []
        names_model = intent in (Intent.PREDICT, Intent.SHOW_MODEL, Intent.DELETE_MODEL, Intent.RETRAIN)
        draft = Draft(
            intent=intent,
            request=request,
            notes=notes,
            model_id=ids[0] if ids and names_model else None,
            excluded=excluded,
            reply=(refusals + found.unsupported + ([refused] if refused else []) or [None])[0],
        )
        draft = resolve(draft, table=table, model_ids=model_ids, latest_model=latest and names_model)
        if formula is not None and isinstance(draft.request, TrainRequest) and draft.request.model_type is None:
            draft = formula_model(draft, table)
        return draft


def read_feature_answer(text: str, table: TableInfo | None) -> tuple[list[str] | None, list[str]]:
    """A typed list of feature columns: (the columns or None for all, the columns left out)."""
    holes: list[str] = []
    text = _set_aside_quotes(_without_holes(text), holes)
    if table is not None:
        text = _set_aside_columns(text, table, holes)
    pieces = _Pieces.read(f"using {text}", holes)
    return pieces.features or None, pieces.excluded


def _without_holes(text: str) -> str:
    """The text without the private characters that mark set-aside names."""
    return re.sub(f"[{_HOLE}-\uf8ff]", "", text)


def _set_aside_quotes(text: str, holes: list[str]) -> str:
    def hole(match: re.Match[str]) -> str:
        quoted = next(g for g in match.groups() if g is not None)
        if _MODEL_ID.fullmatch(quoted):
            return quoted
        holes.append(quoted)
        return f" {_HOLE}{chr(_FIRST + len(holes) - 1)} "

    return _QUOTED.sub(hole, text)


def _set_aside_columns(text: str, table: TableInfo, holes: list[str]) -> str:
    out = []
    last = 0
    for span in find_spans(text, table.columns):
        holes.append(span.text)
        out.append(text[last : span.start] + f" {_HOLE}{chr(_FIRST + len(holes) - 1)} ")
        last = span.end
    return "".join(out) + text[last:]


def _restore(text: str, holes: list[str]) -> str:
    return _HOLE_RE.sub(lambda m: holes[ord(m[1]) - _FIRST], text)


def _short_answer(text: str) -> str | None:
    """The answer to small talk, or how to ask for an analysis named without its columns."""
    if _SMALL_TALK.match(text):
        return _SMALL_TALK_REPLY
    return next((sentence for pattern, sentence in _HOW_TO_ASK if pattern.search(text)), None)


def _intent(
    text: str, found: Found, ids: list[str], latest: bool, pieces: _Pieces, table: TableInfo | None
) -> Intent:
    if _CANCEL.match(text):
        return Intent.CANCEL
    if _HELP.match(text):
        return Intent.HELP
    if _RETRAIN.search(text):
        return Intent.RETRAIN
    if _DELETE.search(text):
        return Intent.DELETE_MODEL
    if _MODEL_CALL.search(text):
        return Intent.SHOW_MODEL
    training = bool(_TRAIN.search(text))
    if not training and _COEFFICIENTS.search(text) and not _PREDICT.search(text):
        return Intent.SHOW_MODEL
    if not training and not ids and _LIST.search(text):
        return Intent.LIST_MODELS
    if not training and _SHOW.search(text) and not _PREDICT.search(text):
        return Intent.SHOW_MODEL
    if not training and _DATA.search(text):
        return Intent.DATA_SUMMARY
    if training:
        return Intent.TRAIN
    if (ids or latest) and _QUESTION.search(text) and not (_PREDICT.search(text) or _PREDICT_WORD.search(text)):
        return Intent.SHOW_MODEL
    if ids or latest or _PREDICT.search(text):
        return Intent.PREDICT
    if found.models or found.notes or "learning_task" in found.fields:
        return Intent.TRAIN
    if _PREDICT_WORD.search(text):
        # "predict price" trains a model for a column; "predict the new rows" uses one.
        if table is not None and pieces.target is not None:
            target = match_column(pieces.target, table.columns)
            if target.column is not None or target.ambiguous:
                return Intent.TRAIN
        return Intent.TRAIN if _FEATURE_WORDS.search(text) else Intent.PREDICT
    return Intent.UNKNOWN


@dataclass
class _Piece:
    role: str | None
    text: str


@dataclass
class _Pieces:
    """The column names of a training request, as the user wrote them."""

    target: str | None = None
    features: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @classmethod
    def of_formula(cls, formula: Formula, holes: list[str]) -> _Pieces:
        """The names of a formula; no features means all columns (`y ~ .`)."""
        return cls(
            target=_restore(formula.target, holes).strip() if formula.target else None,
            features=[_restore(n, holes).strip() for n in formula.features],
            excluded=[_restore(n, holes).strip() for n in formula.excluded],
        )

    @classmethod
    def read(cls, text: str, holes: list[str], table: TableInfo | None = None) -> _Pieces:
        pieces = _split(text)
        result = cls()
        everything = False  # the last piece said "all columns": a "but" after it leaves out
        regress = False
        low_targets = []
        previous: _Piece | None = None
        for piece in pieces:
            role = piece.role
            if role == "regress":
                regress, role = True, "target"
            if role == "on":
                role = "features" if regress or _response_before(result, previous, holes) else "for"
            if role == "but":
                role = "exclude" if everything else None
            items = _items(piece.text, holes)
            everything = bool(items) and items[-1] is None
            names = [i for i in items if i is not None]
            target = _target(piece.text, holes) if role in ("target", "for") else None
            if role == "target" and result.target is None and target is not None:
                result.target = target
            elif role == "for" and target is not None and _named(piece.text, target, table):
                low_targets.append(target)  # "for price prediction", "train it on price", "for body mass"
            elif role == "features":
                result.features += names
            elif role == "exclude":
                result.excluded += names
            previous = piece
        if result.target is None and low_targets:
            result.target = low_targets[0]
        if result.target is None:  # "/train lasso medv alpha 0.1": a lone column named is the target
            loose = [p for p in pieces if p.role is None and _HOLE_RE.search(p.text)]
            named = [i for p in loose for i in _items(p.text, holes)]
            if len(named) == 1:
                result.target = named[0]
        result.features = list(dict.fromkeys(result.features))
        result.excluded = list(dict.fromkeys(result.excluded))
        return result


def _named(piece: str, written: str, table: TableInfo | None) -> bool:
    """`piece` names a column, or `written` describes exactly one ("body mass" for body_mass_g)."""
    if _HOLE_RE.search(piece):
        return True
    return table is not None and match_column(written, table.columns).column is not None


def _response_before(result: _Pieces, previous: _Piece | None, holes: list[str]) -> bool:
    """ "medv on rm", "for medv on rm": with no target yet, one column named before "on" is the response."""
    if result.target is not None or previous is None or previous.role not in (None, "for"):
        return False
    if len(_HOLE_RE.findall(previous.text)) != 1:
        return False
    result.target = _target(previous.text, holes)
    return True


def _split(text: str) -> list[_Piece]:
    pieces = [_Piece(None, "")]
    position = 0
    for match in _MARKERS.finditer(text):
        pieces[-1].text += text[position : match.start()]
        position = match.end()
        role = match.lastgroup
        if role == "postfix_target":
            pieces[-1].role = "target"
            role = None
        elif role == "postfix_features":
            pieces[-1].role = "features"
            role = None
        pieces.append(_Piece(None if role == "stop" else role, ""))
    pieces[-1].text += text[position:]
    return pieces


def _items(text: str, holes: list[str]) -> list[str | None]:
    """The names in a piece, as written; None stands for "all columns"."""
    items: list[str | None] = []
    for part in _ITEM_SEPARATORS.split(text):
        set_aside = [holes[ord(m[1]) - _FIRST] for m in _HOLE_RE.finditer(part)]
        if set_aside:
            items += set_aside
            continue
        words = [w.casefold().strip(".,:") for w in part.split()]
        if not words:
            continue
        if set(words) & _ALL_WORDS and set(words) <= _ALL_WORDS | _ALL_FILLER:
            items.append(None)
            continue
        if name := clean(part):
            items.append(name)
    return items


def _target(text: str, holes: list[str]) -> str | None:
    """The first name in a target piece; several names in one phrase stay together (and are asked about)."""
    parts = _ITEM_SEPARATORS.split(text)
    if sum(bool(_HOLE_RE.search(part)) for part in parts) > 1:
        parts = [text]  # "predict size and age": one target, two columns named; never pick one silently
    for part in parts:
        inside = _HOLE_RE.findall(part)
        if len(inside) == 1:
            return holes[ord(inside[0]) - _FIRST]
        if inside:
            words = _restore(part, holes).split()
            while words and words[0].casefold() in STOPWORDS:
                words.pop(0)
            return re.sub(r"\s+([,;])", r"\1", " ".join(words))
        if name := clean(part):
            return name
    return None
