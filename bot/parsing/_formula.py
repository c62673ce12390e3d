"""Model formulas as R writes them: `price ~ size + rooms`, `lm(y ~ .)`, `glm(y ~ x, family = binomial)`.

A small grammar of our own, read token by token and never evaluated: the user's words only ever
become column names. What the grammar knows but the product cannot do yet (transforms such as
`log(price)` or `I(x^2)`, interactions `a:b` and `a*b`, other glm families) is reported as a
plain sentence in `unsupported`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runner.spec import ModelType

# Names may hold private-use characters: the parser's stand-ins for names it set aside (quoted ones).
_TOKEN = re.compile(
    r"\s*(?:(?P<name>`[^`]+`|[A-Za-z_.\ue000-\uf8ff][\w.\ue000-\uf8ff]*)|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<op>[~+\-:*^/(),=|]))"
)
_CALL = re.compile(r"\b(?P<call>lm|glm|ols|logit)\s*\(\s*$", re.IGNORECASE)
_CALL_MODELS = {"lm": ModelType.LINEAR, "ols": ModelType.LINEAR, "logit": ModelType.LOGISTIC}
_FAMILIES = {"binomial": ModelType.LOGISTIC, "gaussian": ModelType.LINEAR}
_NOT_YET = (
    "Formulas with {what} are not supported yet: name the columns as they are "
    "(for example `price ~ size + rooms`)."
)


@dataclass
class Formula:
    """What a formula says: the response, the predictors (none listed: all columns), those left out."""

    start: int
    end: int
    target: str | None
    features: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    model: ModelType | None = None
    unsupported: str | None = None


def find_formula(text: str) -> Formula | None:
    """The formula in `text`, if any (the first `~` and the names around it)."""
    tilde = text.find("~")
    if tilde < 0:
        return None
    start, target, unsupported = _response(text[:tilde])
    call = _CALL.search(text[:start])
    formula = Formula(start=call.start() if call else start, end=tilde + 1, target=target)
    if unsupported:
        formula.unsupported = _NOT_YET.format(what=unsupported)
    _terms(text, tilde + 1, formula)
    if call is not None:
        _call_rest(text, formula, call["call"].lower())
    return formula


def _response(left: str) -> tuple[int, str | None, str | None]:
    """Where the response starts, its name, and what in it is unsupported."""
    stripped = left.rstrip()
    if compared := re.search(r"[\w.`]+\s*(?:>=|<=|==|!=|>|<)\s*[-\w.]+$", stripped):
        return compared.start(), None, f"a comparison as the response such as `{compared[0]}`"
    call = re.search(r"(?P<fn>[A-Za-z_.][\w.]*)\s*\((?P<inner>[^()]*)\)$", stripped)
    if call:
        return call.start(), call["inner"].strip() or None, f"a transform such as `{call[0]}`"
    name = re.search(r"(`[^`]+`|[\w.\ue000-\uf8ff]+)$", stripped)
    if not name:
        return len(stripped), None, None
    return name.start(), name[1].strip("`"), None


def _terms(text: str, position: int, formula: Formula) -> None:
    """Read `term (+|-) term ...` after the `~`; stop at the first token that does not continue it."""
    sign = "+"
    expect_term = True
    while True:
        token = _TOKEN.match(text, position)
        if token is None:
            break
        kind = token.lastgroup or ""
        value = token[kind]
        if expect_term:
            if kind == "op" and value in "+-":
                sign = value
                position = token.end()
                continue
            if kind == "number" and value in ("0", "1"):  # intercept terms
                position, expect_term = token.end(), False
                continue
            if kind != "name":
                break
            position = token.end()
            after = _TOKEN.match(text, position)
            if after and after["op"] == "(":
                close = text.find(")", after.end())
                end = close + 1 if close >= 0 else len(text)
                formula.unsupported = formula.unsupported or _NOT_YET.format(
                    what=f"a transform such as `{text[token.start(1):end]}`"
                )
                position = end
            elif value != ".":  # "." is every column, as is a formula that lists none
                name = value.strip("`") if value.startswith("`") else value.rstrip(".")
                (formula.features if sign == "+" else formula.excluded).append(name)
            expect_term = False
            continue
        if kind == "op" and value in "+-":
            sign, expect_term = value, True
            position = token.end()
            continue
        if kind == "op" and value in ":*^/|":
            what = "powers" if value == "^" else "interactions such as `a:b` or `a*b`"
            formula.unsupported = formula.unsupported or _NOT_YET.format(what=what)
            expect_term = True
            position = token.end()
            continue
        break
    formula.end = position


def _call_rest(text: str, formula: Formula, call: str) -> None:
    """The arguments after the formula in `lm(...)`/`glm(...)`, up to the closing parenthesis."""
    close = text.find(")", formula.end)
    inside = text[formula.end : close if close >= 0 else len(text)]
    family = re.search(r"family\s*=\s*(?:sm\.families\.)?(?P<f>\w+)", inside, re.IGNORECASE)
    if call in _CALL_MODELS:
        formula.model = _CALL_MODELS[call]
    elif family is None:
        formula.model = ModelType.LINEAR
    elif family["f"].lower() in _FAMILIES:
        formula.model = _FAMILIES[family["f"].lower()]
    else:
        formula.unsupported = formula.unsupported or (
            f"The {family['f']} family is not supported yet; I can fit linear (gaussian) or "
            "logistic (binomial) regression."
        )
    formula.end = close + 1 if close >= 0 else len(text)
