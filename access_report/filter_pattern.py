"""Evaluate a CloudWatch Logs JSON filter pattern against one JSON log event, offline.

No maintained Python library evaluates CloudWatch Logs filter patterns (moto accepts only plain terms, LocalStack
supports JSON patterns only in its paid edition), and `TestMetricFilter` needs an AWS account. This evaluator covers
exactly the JSON-pattern subset this project's metric filters use, plus the small rest of the JSON syntax that the
documented examples need, and refuses anything else:

- `{ ... }` around the whole pattern;
- conditions `SELECTOR = VALUE` and `SELECTOR != VALUE`, VALUE quoted or bare, a leading or trailing `*` matching
  any text;
- `SELECTOR NOT EXISTS`, `SELECTOR IS NULL`, `SELECTOR IS TRUE`, `SELECTOR IS FALSE`;
- `&&`, `||` and parentheses, with `()` > `&&` > `||`;
- selectors `$.a.b`, `$.a[0]`, `$.a[0][1].b`.

Semantics from AWS's page, whose examples are this module's tests (tests/access_report/test_filter_pattern.py):
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
("Using metric filters to match terms in JSON log events"; the same text lives in
awsdocs/amazon-cloudwatch-logs-user-guide, doc_source/FilterAndPatternSyntax.md). In particular: a selector must point
to a value node (string or number); on an array or object both `=` and `!=` are false.

What the page does not say is whether `!=` matches an event that lacks the property. `missing_matches_not_equal`
chooses; this project's patterns guard every `!=` with an explicit `NOT EXISTS`, and the tests evaluate them both
ways, so their meaning does not hang on that choice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) | (?P<and>&&) | (?P<or>\|\|) |
        (?P<ne>!=) | (?P<eq>=) |
        (?P<keyword>NOT\s+EXISTS|IS\s+NULL|IS\s+TRUE|IS\s+FALSE)(?![\w.$*-]) |
        (?P<selector>\$(?:\.[A-Za-z0-9_-]+|\[\d+\])*) |
        "(?P<quoted>[^"]*)" |
        (?P<bare>[^\s()"&|=!<>]+)
    )""",
    re.VERBOSE,
)
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")
_UNSUPPORTED_OPERATOR = re.compile(r"(<=|>=|<|>|%|\bIN\b|\bNOT\s+IN\b)")


class FilterPatternError(ValueError):
    """The pattern is not valid JSON-pattern syntax, or uses syntax this evaluator does not cover."""


_MISSING = object()


@dataclass(frozen=True)
class _Condition:
    selector: str
    operator: str
    """"=", "!=", or a keyword: "NOT EXISTS", "IS NULL", "IS TRUE", "IS FALSE"."""
    value: str | None
    quoted: bool


@dataclass(frozen=True)
class _Bool:
    operator: str
    """"&&" or "||"."""
    terms: tuple[_Node, ...]


_Node = _Condition | _Bool


@dataclass(frozen=True)
class FilterPattern:
    """A parsed JSON filter pattern."""

    text: str
    _root: _Node

    @classmethod
    def parse(cls, text: str) -> FilterPattern:
        stripped = text.strip()
        if not (stripped.startswith("{") and stripped.endswith("}")):
            raise FilterPatternError("a JSON filter pattern is enclosed in { }")
        body = stripped[1:-1]
        tokens = _tokens(body)
        parser = _Parser(tokens)
        root = parser.expression()
        if parser.position != len(tokens):
            raise FilterPatternError(f"unexpected {tokens[parser.position][1]!r} in {text!r}")
        return cls(text, root)

    def matches(self, event: str | Mapping[str, Any], *, missing_matches_not_equal: bool = False) -> bool:
        """True when the event (a JSON string or an already parsed object) matches the pattern."""
        if isinstance(event, str):
            try:
                event = json.loads(event)
            except json.JSONDecodeError:
                return False
        if not isinstance(event, Mapping):
            return False
        return _evaluate(self._root, event, missing_matches_not_equal)


def matches(pattern: str, event: str | Mapping[str, Any], *, missing_matches_not_equal: bool = False) -> bool:
    return FilterPattern.parse(pattern).matches(event, missing_matches_not_equal=missing_matches_not_equal)


def _tokens(body: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(body):
        if body[position:].strip() == "":
            break
        unsupported = _UNSUPPORTED_OPERATOR.match(body[position:].lstrip())
        if unsupported:
            raise FilterPatternError(f"operator {unsupported.group(1)!r} is outside the subset this evaluator covers")
        match = _TOKEN.match(body, position)
        if match is None or match.end() == position:
            raise FilterPatternError(f"cannot read the pattern at {body[position:]!r}")
        kind = match.lastgroup
        assert kind is not None  # noqa: S101 - every alternative is a named group
        value = match.group(kind)
        if kind == "keyword":
            value = " ".join(value.split())
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def _peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def _take(self, kind: str) -> str:
        if self._peek() != kind:
            found = self.tokens[self.position][1] if self.position < len(self.tokens) else "the end"
            raise FilterPatternError(f"expected {kind}, found {found!r}")
        value = self.tokens[self.position][1]
        self.position += 1
        return value

    def expression(self) -> _Node:
        terms = [self._conjunction()]
        while self._peek() == "or":
            self._take("or")
            terms.append(self._conjunction())
        return terms[0] if len(terms) == 1 else _Bool("||", tuple(terms))

    def _conjunction(self) -> _Node:
        terms = [self._unary()]
        while self._peek() == "and":
            self._take("and")
            terms.append(self._unary())
        return terms[0] if len(terms) == 1 else _Bool("&&", tuple(terms))

    def _unary(self) -> _Node:
        if self._peek() == "lparen":
            self._take("lparen")
            node = self.expression()
            self._take("rparen")
            return node
        selector = self._take("selector")
        kind = self._peek()
        if kind == "keyword":
            return _Condition(selector, self._take("keyword"), None, quoted=False)
        if kind in ("eq", "ne"):
            operator = self._take(kind)
            if self._peek() == "quoted":
                return _Condition(selector, operator, self._take("quoted"), quoted=True)
            return _Condition(selector, operator, self._take("bare"), quoted=False)
        raise FilterPatternError(f"expected an operator after {selector}")


def _resolve(event: Mapping[str, Any], selector: str) -> Any:
    value: Any = event
    for name, index in _STEP.findall(selector[1:]):
        if name:
            if not isinstance(value, Mapping) or name not in value:
                return _MISSING
            value = value[name]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
    return value


def _evaluate(node: _Node, event: Mapping[str, Any], missing_matches_not_equal: bool) -> bool:
    if isinstance(node, _Bool):
        results = (_evaluate(term, event, missing_matches_not_equal) for term in node.terms)
        return all(results) if node.operator == "&&" else any(results)
    value = _resolve(event, node.selector)
    if node.operator == "NOT EXISTS":
        return value is _MISSING
    if node.operator == "IS NULL":
        return value is None
    if node.operator in ("IS TRUE", "IS FALSE"):
        return value is (node.operator == "IS TRUE")
    if value is _MISSING:
        return node.operator == "!=" and missing_matches_not_equal
    # Only value nodes compare; on an array, an object or null both = and != are false.
    if isinstance(value, Mapping | list) or value is None:
        return False
    assert node.value is not None  # noqa: S101 - = and != always carry a value
    equal = _value_matches(value, node.value)
    return equal if node.operator == "=" else not equal


def _value_matches(value: Any, expected: str) -> bool:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        try:
            return float(expected) == float(value)
        except ValueError:
            text = json.dumps(value)
    else:
        text = str(value)
    # `*` is a wildcard only at the start or the end of a value: "Ev*ent will only match the actual string Ev*ent".
    leading, trailing = expected.startswith("*"), expected.endswith("*") and len(expected) > 1
    core = expected[1 if leading else 0 : len(expected) - 1 if trailing else len(expected)]
    if leading and trailing:
        return core in text
    if leading:
        return text.endswith(core)
    if trailing:
        return text.startswith(core)
    return text == expected
