"""A small, safe language for eligibility rules on resident attributes (never Python's eval).

Examples::

    frailty >= moderate or fell_last_12m
    fuel_poor and ltc_count >= 1
    40 <= age <= 74 and not smoker
    imd_decile in [1, 2, 3]

Grammar (keywords are lower case)::

    rule  := or
    or    := and ("or" and)*
    and   := not ("and" not)*
    not   := "not" not | cmp
    cmp   := sum ((< | <= | > | >= | == | !=) sum)*      chained: 40 <= age <= 74
           | sum ["not"] "in" "[" number ("," number)* "]"
    sum   := atom
    atom  := number | "-" number | name | "(" rule ")"

Names are resident attributes (ATTRIBUTES below, each a number or a yes/no flag) or constants
(fit, mild, moderate, severe for eFI categories; never, current, ex for smoking; true, false). Types
are checked when the rule is read: `and`/`or`/`not` need yes/no operands, comparisons need numbers,
and a whole rule must be yes/no. A parsed rule is a tree of tuples (picklable, shipped to Ray
workers) and is evaluated with numpy on the rows asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..agents.cohort import Cohort


class RuleError(ValueError):
    """A rule that cannot be read; the message says where and why."""


def _field(c: Cohort, name: str, rows) -> np.ndarray:
    return c[name][rows]


def _age(c, rows, t):
    return c.age_months[rows] // 12


def _since(field: str) -> Callable[[Cohort, Any, int], np.ndarray]:
    def f(c, rows, t):
        return t - c[field][rows].astype(np.int32)
    return f


def _ltc(c, rows, t):
    out = c.other_ltcs[rows].astype(np.int16)
    for cond in ("htn", "cvd", "copd", "diabetes"):
        out = out + c[cond][rows]
    return out


# name -> (kind, function(cohort, rows, t) -> array, description)
ATTRIBUTES: dict[str, tuple[str, Callable[[Cohort, Any, int], np.ndarray], str]] = {
    "age": ("num", _age, "age in completed years"),
    "male": ("bool", lambda c, r, t: c.male[r], "male"),
    "female": ("bool", lambda c, r, t: ~c.male[r], "female"),
    "imd_decile": ("num", lambda c, r, t: c.imd_decile[r], "IMD 2019 decile of the LSOA (1 most deprived)"),
    "imd_quintile": ("num", lambda c, r, t: (c.imd_decile[r] + 1) // 2, "IMD quintile (1 most deprived)"),
    "core20": ("bool", lambda c, r, t: c.imd_decile[r] <= 2, "lives in the 20% most deprived LSOAs"),
    "frailty": ("num", lambda c, r, t: c.frailty[r], "eFI category: 0 fit, 1 mild, 2 moderate, 3 severe"),
    "smoking": ("num", lambda c, r, t: c.smoking[r], "0 never, 1 current, 2 ex"),
    "smoker": ("bool", lambda c, r, t: c.smoking[r] == 1, "current smoker"),
    "ex_smoker": ("bool", lambda c, r, t: c.smoking[r] == 2, "ex-smoker"),
    "never_smoker": ("bool", lambda c, r, t: c.smoking[r] == 0, "never smoked"),
    "ltc_count": ("num", _ltc, "number of long-term conditions (modelled four plus others)"),
    "other_ltcs": ("num", lambda c, r, t: c.other_ltcs[r], "number of other long-term conditions"),
    "multimorbid": ("bool", lambda c, r, t: _ltc(c, r, t) >= 2, "two or more long-term conditions"),
    "fuel_poor": ("bool", lambda c, r, t: c.fuel_poor[r], "lives in a fuel-poor household"),
    "fell_last_12m": ("bool", lambda c, r, t: (t - c.last_fall_step[r].astype(np.int32)) <= 12,
                      "fell in the last 12 months (falls simulated since April 2026)"),
    "months_since_fall": ("num", _since("last_fall_step"), "months since the last simulated fall"),
    "hip_fracture_last_12m": ("bool", lambda c, r, t: (t - c.hip_fracture_step[r].astype(np.int32)) <= 12,
                              "hip fracture in the last 12 months"),
    "neighbourhood": ("num", lambda c, r, t: c.neighbourhood[r], "neighbourhood id"),
    "locality": ("num", lambda c, r, t: c.locality[r], "locality id"),
}
for _cond in ("htn", "cvd", "copd", "diabetes"):
    ATTRIBUTES[_cond] = ("bool", (lambda name: lambda c, r, t: c[name][r])(_cond), f"has {_cond}")
    ATTRIBUTES[f"{_cond}_dx"] = ("bool", (lambda name: lambda c, r, t: c[name][r])(f"{_cond}_dx"),
                                 f"{_cond} diagnosed")

CONSTANTS: dict[str, tuple[str, float | bool]] = {
    "fit": ("num", 0), "mild": ("num", 1), "moderate": ("num", 2), "severe": ("num", 3),
    "never": ("num", 0), "current": ("num", 1), "ex": ("num", 2),
    "true": ("bool", True), "false": ("bool", False),
}
KEYWORDS = {"and", "or", "not", "in"}
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op><=|>=|==|!=|<|>|\(|\)|\[|\]|,|-)|(?P<bad>\S))")
_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
        "!=": np.not_equal}


def _tokenize(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing spaces remain
            break
        pos = m.end()
        kind = m.lastgroup
        if kind == "bad":
            raise RuleError(f"unexpected character {m.group('bad')!r} at position {m.start('bad') + 1}")
        out.append((kind, m.group(kind)))
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise RuleError("the rule ends too early" + (f" (expected {value!r})" if value else ""))
        if value is not None and tok[1] != value:
            raise RuleError(f"expected {value!r} but found {tok[1]!r}")
        self.i += 1
        return tok

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] == value and tok[0] in ("name", "op")

    # each returns (node, kind) with kind 'num' or 'bool'
    def parse(self) -> tuple[tuple, str]:
        if not self.tokens:
            raise RuleError("the rule is empty")
        node, kind = self.or_()
        if self.peek() is not None:
            raise RuleError(f"unexpected {self.peek()[1]!r} after a complete rule")
        return node, kind

    def _need_bool(self, kind: str, word: str) -> None:
        if kind != "bool":
            raise RuleError(f"'{word}' needs yes/no operands; compare numbers first (e.g. age >= 65)")

    def or_(self):
        node, kind = self.and_()
        parts = [node]
        while self.at("or"):
            self.take()
            self._need_bool(kind, "or")
            rhs, k2 = self.and_()
            self._need_bool(k2, "or")
            parts.append(rhs)
        return (("or", tuple(parts)), "bool") if len(parts) > 1 else (node, kind)

    def and_(self):
        node, kind = self.not_()
        parts = [node]
        while self.at("and"):
            self.take()
            self._need_bool(kind, "and")
            rhs, k2 = self.not_()
            self._need_bool(k2, "and")
            parts.append(rhs)
        return (("and", tuple(parts)), "bool") if len(parts) > 1 else (node, kind)

    def not_(self):
        if self.at("not"):
            self.take()
            node, kind = self.not_()
            self._need_bool(kind, "not")
            return ("not", node), "bool"
        return self.cmp()

    def cmp(self):
        left, kind = self.atom()
        if self.at("in") or (self.at("not") and self._next_is("in")):
            negate = self.at("not")
            if negate:
                self.take()
            self.take("in")
            if kind != "num":
                raise RuleError("'in' needs a number on its left (e.g. imd_decile in [1, 2])")
            values = self.number_list()
            return ("in", left, values, negate), "bool"
        pairs = []
        while self.peek() is not None and self.peek()[1] in _CMP:
            op = self.take()[1]
            right, k2 = self.atom()
            if kind != "num" or k2 != "num":
                raise RuleError(f"'{op}' compares numbers; a yes/no attribute is used on its own "
                                "(e.g. 'fuel_poor', 'not smoker')")
            pairs.append(("cmp", op, left, right))
            left = right
        if not pairs:
            return left, kind
        return (pairs[0] if len(pairs) == 1 else ("and", tuple(pairs))), "bool"

    def _next_is(self, value: str) -> bool:
        return self.i + 1 < len(self.tokens) and self.tokens[self.i + 1][1] == value

    def number_list(self) -> tuple[float, ...]:
        self.take("[")
        values = [self.number()]
        while self.at(","):
            self.take()
            values.append(self.number())
        self.take("]")
        return tuple(values)

    def number(self) -> float:
        sign = 1.0
        if self.at("-"):
            self.take()
            sign = -1.0
        kind, text = self.take()
        if kind == "num":
            return sign * float(text)
        if kind == "name" and text in CONSTANTS and CONSTANTS[text][0] == "num":
            return sign * float(CONSTANTS[text][1])
        raise RuleError(f"expected a number in the list, found {text!r}")

    def atom(self):
        tok = self.peek()
        if tok is None:
            raise RuleError("the rule ends too early (expected a name or a number)")
        kind, text = tok
        if text == "(":
            self.take()
            node, k = self.or_()
            self.take(")")
            return node, k
        if text == "-":
            self.take()
            k2, t2 = self.take()
            if k2 != "num":
                raise RuleError(f"expected a number after '-', found {t2!r}")
            return ("const", -float(t2)), "num"
        if kind == "num":
            self.take()
            return ("const", float(text)), "num"
        if kind == "name":
            self.take()
            if text in KEYWORDS:
                raise RuleError(f"'{text}' cannot start an expression here")
            if text in CONSTANTS:
                k, v = CONSTANTS[text]
                return ("const", v), k
            if text in ATTRIBUTES:
                return ("attr", text), ATTRIBUTES[text][0]
            raise RuleError(f"unknown name {text!r}; known attributes: {', '.join(sorted(ATTRIBUTES))}; "
                            f"constants: {', '.join(CONSTANTS)}")
        raise RuleError(f"unexpected {text!r}")


@dataclass(frozen=True)
class Rule:
    """A parsed eligibility rule. `Rule.parse(text)`; `rule.evaluate(cohort, rows, t) -> bool array`."""

    source: str
    tree: tuple

    @classmethod
    def parse(cls, text: str | list[str] | tuple[str, ...]) -> Rule:
        """One rule, or a list of rules that must all hold."""
        if isinstance(text, list | tuple):
            if not text:
                raise RuleError("an empty list of rules; leave the key out or write 'true'")
            parts = [cls.parse(t) for t in text]
            src = " and ".join(f"({p.source})" for p in parts)
            return cls(src, ("and", tuple(p.tree for p in parts)) if len(parts) > 1 else parts[0].tree)
        if isinstance(text, bool):
            text = "true" if text else "false"
        if not isinstance(text, str):
            raise RuleError(f"expected a rule as text (e.g. 'age >= 65'), got {text!r}")
        node, kind = _Parser(text).parse()
        if kind != "bool":
            raise RuleError(f"{text!r} is a number, not a yes/no rule (compare it, e.g. '{text} >= 1')")
        return cls(text.strip(), node)

    @property
    def always_true(self) -> bool:
        return self.tree == ("const", True)

    def attributes(self) -> set[str]:
        out: set[str] = set()

        def walk(n):
            if n[0] == "attr":
                out.add(n[1])
            elif n[0] in ("and", "or"):
                for x in n[1]:
                    walk(x)
            elif n[0] == "not":
                walk(n[1])
            elif n[0] == "cmp":
                walk(n[2])
                walk(n[3])
            elif n[0] == "in":
                walk(n[1])
        walk(self.tree)
        return out

    def evaluate(self, cohort: Cohort, rows, t: int) -> np.ndarray:
        n = (rows.stop - (rows.start or 0)) if isinstance(rows, slice) else len(rows)
        cache: dict[str, np.ndarray] = {}

        def attr(name):
            v = cache.get(name)
            if v is None:
                v = cache[name] = np.asarray(ATTRIBUTES[name][1](cohort, rows, t))
            return v

        def ev(node):
            op = node[0]
            if op == "const":
                return node[1]
            if op == "attr":
                return attr(node[1])
            if op == "not":
                return np.logical_not(ev(node[1]))
            if op == "and":
                out = ev(node[1][0])
                for x in node[1][1:]:
                    out = np.logical_and(out, ev(x))
                return out
            if op == "or":
                out = ev(node[1][0])
                for x in node[1][1:]:
                    out = np.logical_or(out, ev(x))
                return out
            if op == "cmp":
                return _CMP[node[1]](ev(node[2]), ev(node[3]))
            if op == "in":
                res = np.isin(ev(node[1]), np.asarray(node[2]))
                return ~res if node[3] else res
            raise AssertionError(op)  # pragma: no cover

        out = ev(self.tree)
        return np.broadcast_to(np.asarray(out, dtype=bool), (n,)).copy()

    def __str__(self) -> str:
        return self.source


TRUE = Rule("true", ("const", True))
