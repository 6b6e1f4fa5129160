"""The selection grammar: expressions on truth (never `eval`) parsed into a tree, e.g. ``kNumuQE``,
``nuenergy > 3.5``, ``interaction in (kNumuQE, kNumuDIS)``; selection.py evaluates the tree on truth.

Grammar (case-sensitive, ``and`` binds tighter than ``or``)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison | membership | NAME | FLAG
    comparison := operand (OP operand)+          OP: < <= > >= == !=   (chains: 1 < nuenergy <= 3)
    membership := FIELD ["not"] "in" "(" value ("," value)* ")"
    operand    := FIELD | NUMBER | NAME

FIELD is a truth field (labels.truth: a column of the teaching files, or a derived field such as ``y`` =
lepenergy / nuenergy, NaN where nuenergy = 0; every comparison with NaN is false except !=). NAME is an
Interaction or FinalState name; alone it means ``interaction == NAME`` or ``finalstate == NAME``, and it may
only be compared with its own field. FLAG is a true-or-false derived field standing alone, e.g.
``contained`` (the vertex in the ND's fully active volume).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from nuclass.errors import CLOSE, ConfigError, closest, similarity
from nuclass.labels.enums import FinalState, Interaction
from nuclass.labels.truth import DERIVED_TRUTH, SELECTABLE_FIELDS

__all__ = [
    "FIELDS",
    "NAMES",
    "Field",
    "Number",
    "Compare",
    "Member",
    "Not",
    "Flag",
    "And",
    "Or",
    "Node",
    "Operand",
    "parse",
    "fields_of",
]

FIELDS = SELECTABLE_FIELDS
_ENUM_OF_FIELD = {"interaction": Interaction, "finalstate": FinalState}
NAMES: dict[str, tuple[str, int]] = {
    **{m.name: ("interaction", int(m.value)) for m in Interaction},
    **{m.name: ("finalstate", int(m.value)) for m in FinalState},
}
_KEYWORDS = ("and", "or", "not", "in")
_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<punct>[(),])"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_.]*))"
)


# ---------------------------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Field:
    """A truth column (or the derived y)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Number:
    """A constant; `name` keeps the Interaction/FinalState name it was written as (for printing)."""

    value: float
    name: str | None = None

    def __str__(self) -> str:
        if self.name:
            return self.name
        return str(int(self.value)) if float(self.value).is_integer() else repr(float(self.value))


Operand = Union[Field, Number]  # noqa: UP007 (a runtime alias)


@dataclass(frozen=True)
class Compare:
    """A chain of comparisons: operands[0] ops[0] operands[1] ops[1] operands[2] …, all of them true."""

    operands: tuple[Operand, ...]
    ops: tuple[str, ...]

    def __str__(self) -> str:
        text = str(self.operands[0])
        for op, right in zip(self.ops, self.operands[1:], strict=True):
            text += f" {op} {right}"
        return text


@dataclass(frozen=True)
class Member:
    """field in (values…), or not in when `negate`."""

    field: Field
    values: tuple[Number, ...]
    negate: bool = False

    def __str__(self) -> str:
        return f"{self.field} {'not in' if self.negate else 'in'} ({', '.join(map(str, self.values))})"


@dataclass(frozen=True)
class Flag:
    """A true-or-false derived field named alone (``contained``)."""

    field: Field

    def __str__(self) -> str:
        return str(self.field)


@dataclass(frozen=True)
class Not:
    item: Node

    def __str__(self) -> str:
        return f"not {_wrap(self.item)}"


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(_wrap(i) if isinstance(i, Or) else str(i) for i in self.items)


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " or ".join(str(i) for i in self.items)


Node = Union[Compare, Member, Flag, Not, And, Or]  # noqa: UP007 (a runtime alias)


def _wrap(node: Node) -> str:
    return f"({node})" if isinstance(node, And | Or) else str(node)


# ---------------------------------------------------------------------------------------------- parsing


def _looks_like_a_name(word: str) -> bool:
    """Interaction/FinalState names are kCamelCase (kNumuQE, kNC, kNue1tr0sh); fields are lower case."""
    return len(word) > 1 and word[0] == "k" and word[1].isupper()


def _unknown(word: str, text: str) -> ConfigError:
    """An unknown identifier: the valid fields closest first, and the closest Interaction/FinalState names
    only when the word looks like one (kCamelCase)."""
    message = f"unknown field or name '{word}' in selection '{text}'; "
    if _looks_like_a_name(word):
        names = closest(word, NAMES, 8)
        return ConfigError(
            message + f"closest Interaction/FinalState names: {', '.join(names)} (all {len(NAMES)} in "
            f"nuclass.labels); valid fields: {', '.join(FIELDS)}"
        )
    fields = closest(word, FIELDS)
    guess = f"did you mean {fields[0]}? " if similarity(word, fields[0]) >= CLOSE else ""
    return ConfigError(
        message + f"{guess}valid fields: {', '.join(fields)}; or an Interaction/"
        f"FinalState name such as kNumuQE (all {len(NAMES)} in nuclass.labels)"
    )


class _Parser:
    """Recursive descent over the token list; every error names the selection text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            m = _TOKEN.match(stripped, pos)
            if not m or m.end() == pos:
                char = stripped[pos:].lstrip()[:1]
                hint = {
                    "=": " (use == for equality)",
                    "&": " (use and)",
                    "|": " (use or)",
                    "!": " (use not, !=)",
                }
                raise self.error(f"unexpected character '{char}'{hint.get(char, '')}")
            kind = m.lastgroup or ""
            value = m.group(kind)
            if kind == "ident" and value in _KEYWORDS:
                kind = "keyword"
            self.tokens.append((kind, value))
            pos = m.end()
        self.i = 0

    def error(self, what: str) -> ConfigError:
        return ConfigError(f"bad selection '{self.text}': {what}")

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.i += 1
        return token

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got != value or kind == "end":
            raise self.error(f"expected '{value}', got {repr(got) if kind != 'end' else 'the end'}")

    def parse(self) -> Node:
        if not self.tokens:
            raise self.error("empty expression")
        node = self.or_expr()
        if self.peek()[0] != "end":
            raise self.error(f"unexpected '{self.peek()[1]}' (join conditions with and / or)")
        return node

    def or_expr(self) -> Node:
        return self._chain("or", self.and_expr, Or)

    def and_expr(self) -> Node:
        return self._chain("and", self.not_expr, And)

    def _chain(self, keyword: str, operand: Callable[[], Node], kind: type[And] | type[Or]) -> Node:
        """operand (keyword operand)*, flattened into one `kind` node (or the single operand)."""
        items = [operand()]
        while self.peek() == ("keyword", keyword):
            self.take()
            items.append(operand())
        flat = [leaf for item in items for leaf in (item.items if isinstance(item, kind) else (item,))]
        return flat[0] if len(flat) == 1 else kind(tuple(flat))

    def not_expr(self) -> Node:
        kind, value = self.peek()
        if (kind, value) == ("keyword", "not"):
            self.take()
            return Not(self.not_expr())
        if value == "(" and kind == "punct":
            self.take()
            node = self.or_expr()
            self.expect(")")
            return node
        return self.condition()

    def operand(self) -> Operand:
        kind, value = self.take()
        if kind == "number":
            return Number(float(value))
        if kind == "ident":
            if value in FIELDS:
                return Field(value)
            if value in NAMES:
                return Number(float(NAMES[value][1]), value)
            raise _unknown(value, self.text)
        got = "the end" if kind == "end" else f"'{value}'"
        raise self.error(f"expected a field, a number or a name, got {got}")

    def condition(self) -> Node:
        first = self.operand()
        kind, value = self.peek()
        if kind == "op":
            operands, ops = [first], []
            while self.peek()[0] == "op":
                ops.append(self.take()[1])
                operands.append(self.operand())
            node = Compare(tuple(operands), tuple(ops))
            self.check_compare(node)
            return node
        if (kind, value) in (("keyword", "in"), ("keyword", "not")):
            return self.membership(first)
        if isinstance(first, Number) and first.name:  # a bare name: interaction == kNumuQE
            node = Compare((Field(NAMES[first.name][0]), first), ("==",))
            return node
        if isinstance(first, Field) and first.name in DERIVED_TRUTH and DERIVED_TRUTH[first.name].flag:
            return Flag(first)
        if isinstance(first, Field):
            raise self.error(f"field '{first}' needs a comparison, e.g. '{first} > 1' or '{first} in (…)'")
        raise self.error(f"a number alone ('{first}') is not a condition")

    def membership(self, left: Operand) -> Member:
        negate = self.peek() == ("keyword", "not")
        if negate:
            self.take()
        self.expect("in")
        if not isinstance(left, Field):
            raise self.error(f"'{left} in (…)' needs a field on the left")
        self.expect("(")
        values = [self.value_of(left)]
        while self.peek() == ("punct", ","):
            self.take()
            values.append(self.value_of(left))
        self.expect(")")
        return Member(left, tuple(values), negate)

    def value_of(self, field: Field) -> Number:
        value = self.operand()
        if isinstance(value, Field):
            raise self.error(f"'{field} in (…)' takes numbers or names, not the field '{value}'")
        self.check_pair(field, value)
        return value

    def check_pair(self, a: Operand, b: Operand) -> None:
        """A name may only meet its own field (kNumuQE with interaction, kNumu1tr0sh with finalstate)."""
        for field, other in ((a, b), (b, a)):
            if isinstance(other, Number) and other.name:
                own = NAMES[other.name][0]
                if not (isinstance(field, Field) and field.name == own):
                    enum = _ENUM_OF_FIELD[own].__name__
                    raise self.error(
                        f"{other.name} is a{'n' if enum[0] in 'AEIOU' else ''} {enum} name: "
                        f"compare it with {own}, not {field}"
                    )

    def check_compare(self, node: Compare) -> None:
        for a, b in zip(node.operands[:-1], node.operands[1:], strict=True):
            self.check_pair(a, b)


def parse(text: str) -> Node:
    """The tree of a selection expression; a syntax error, an unknown field or name raises ConfigError."""
    if not isinstance(text, str):
        raise ConfigError(f"a selection must be a string, got {type(text).__name__}: {text!r}")
    return _Parser(text).parse()


def fields_of(node: Node) -> set[str]:
    """Truth columns the expression reads (y expands to lepenergy and nuenergy)."""
    if isinstance(node, Compare):
        names = {o.name for o in node.operands if isinstance(o, Field)}
    elif isinstance(node, Member | Flag):
        names = {node.field.name}
    elif isinstance(node, Not):
        return fields_of(node.item)
    else:
        return set().union(*(fields_of(i) for i in node.items))
    out: set[str] = set()
    for name in names:
        out.update(DERIVED_TRUTH[name].needs if name in DERIVED_TRUTH else (name,))
    return out
