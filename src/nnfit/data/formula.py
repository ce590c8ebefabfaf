"""Target functions from text, e.g. ``--function "sin(3*x) + 0.1*x**2"``, evaluated safely.

The text goes through ``ast.parse`` only to get a syntax tree; Python never runs any of it. Each
node is checked against a whitelist and turned into a small numpy closure working in float64, so
a formula cannot import, reach attributes, or make Python build huge integers.
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from ..checks import SettingsError
from ..errors import UsageError
from ..safetext import did_you_mean

__all__ = ["NAMED_FUNCTIONS", "Formula", "check_finite", "parse_formula", "resolve_function"]

MAX_LENGTH = 500  # characters; longer text is almost surely a mistake
MAX_PAREN_DEPTH = 32  # scanned before ast.parse, whose C parser can overflow on deep nesting
MAX_NODES = 400  # expression nodes in the parsed tree
MAX_DEPTH = 100  # depth of the parsed tree; bounds recursion when compiling and evaluating
MAX_EXPONENT = 100  # largest |constant exponent|, so 2**1000 or 9**9**9 is refused, not computed
MAX_INPUTS = 100  # highest x<k> when n_inputs is not given

# points (n_points, n_inputs) -> values (n_points,), or a scalar () where x is not used
Evaluate = Callable[[np.ndarray], np.ndarray | np.float64]

# Names usable as --function instead of a formula; all take one input x.
NAMED_FUNCTIONS: dict[str, str] = {
    "quadratic": "x**2", "cubic": "x**3", "abs": "abs(x)", "sin": "sin(pi*x)",
    "cos": "cos(pi*x)", "exp": "exp(x)", "tanh": "tanh(3*x)", "gaussian": "exp(-4*x**2)",
    "relu": "relu(x)", "step": "0.5*sign(x) + 0.5",
}  # fmt: skip

# name -> (numpy function, fewest arguments, most arguments or None for no limit)
_FUNCTIONS: dict[str, tuple[Callable[..., np.ndarray], int, int | None]] = {
    **{name: (getattr(np, name), 1, 1) for name in ("sin", "cos", "tan", "exp", "log", "sqrt")},
    "abs": (np.abs, 1, 1),
    "tanh": (np.tanh, 1, 1),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), 1, 1),
    "relu": (lambda z: np.maximum(z, 0.0), 1, 1),
    **{name: (getattr(np, name), 1, 1) for name in ("sign", "floor", "ceil")},
    "min": (lambda *z: functools.reduce(np.minimum, z), 2, None),
    "max": (lambda *z: functools.reduce(np.maximum, z), 2, None),
    "clip": (np.clip, 3, 3),
}
_CONSTANTS = {"pi": np.float64(np.pi), "e": np.float64(np.e)}
_BINARY: dict[type[ast.operator], tuple[str, np.ufunc]] = {
    ast.Add: ("+", np.add), ast.Sub: ("-", np.subtract), ast.Mult: ("*", np.multiply),
    ast.Div: ("/", np.true_divide), ast.Pow: ("**", np.power)}  # fmt: skip
_UNARY: dict[type[ast.unaryop], np.ufunc] = {ast.UAdd: np.positive, ast.USub: np.negative}
_FORBIDDEN_OPS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
                  ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
                  ast.Invert: "~", ast.Not: "not"}  # fmt: skip
_KINDS = {ast.Constant: "only int and float numbers", ast.Attribute: "attribute access",
          ast.Subscript: "indexing", ast.Compare: "comparison", ast.BoolOp: "and/or",
          ast.Lambda: "lambda", ast.NamedExpr: ":=", ast.JoinedStr: "f-string",
          ast.Starred: "* unpacking", ast.IfExp: "if/else"}  # fmt: skip
_VARIABLE = re.compile(r"x([1-9][0-9]*)?")
_ALLOWED = (
    "allowed: numbers, variables x or x1, x2, ..., + - * / **, parentheses, constants pi, e, "
    f"functions {', '.join(_FUNCTIONS)}"
)
# Likely causes of nan/inf, keyed by what the formula uses; shown by check_finite.
_HINTS = {"log": "log of zero or a negative number?", "sqrt": "sqrt of a negative number?",
          "/": "division by zero?", "**": "negative base with a fractional power, or overflow?",
          "exp": "exp overflow?", "tan": "tan near pi/2?"}  # fmt: skip


@dataclass(frozen=True)
class Formula:
    """A parsed formula; call it on points x of shape (n_points, n_inputs) to get values.

    For one input, x may also have shape (n_points,). The values have shape (n_points,), float64,
    with nan/inf where the formula is undefined (check_finite reports those).

    Example:
        >>> f = parse_formula("x1 * x2")
        >>> f(np.array([[2.0, 3.0]]))
        array([6.])
    """

    text: str  # the original text
    variables: tuple[str, ...]  # variables used, in order: ("x",) or ("x1", "x2")
    n_inputs: int  # columns the points must have
    _evaluate: Evaluate = field(repr=False, compare=False)
    _uses: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Values at points x (n_points, n_inputs), or (n_points,) for one input: (n_points,)."""
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise UsageError(f"formula {self.text!r} needs numeric points; got {error}") from None
        if x.ndim == 1 and self.n_inputs == 1:
            x = x[:, None]  # (n_points, 1)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise UsageError(
                f"formula {self.text!r} takes points of shape (n_points, {self.n_inputs}); "
                f"got shape {x.shape}"
            )
        with np.errstate(all="ignore"):  # nan/inf are reported by check_finite, not as warnings
            y = self._evaluate(x)
        return np.array(np.broadcast_to(y, (x.shape[0],)), dtype=np.float64)  # (n_points,)


def parse_formula(text: str, *, n_inputs: int | None = None) -> Formula:
    """Parse a formula of x (or x1, x2, ...), checking every part against a whitelist.

    Raises UsageError, naming the column, for anything outside the whitelist or the limits.

    Args:
        text: e.g. "sin(3*x) + 0.1*x**2" or "x1*x2".
        n_inputs: number of input columns; if None, 1 for x, else the highest k in x<k>.

    Returns:
        The Formula.

    Example:
        >>> parse_formula("x**2")(np.array([1.0, 2.0]))
        array([1., 4.])
    """
    if not isinstance(text, str):
        raise UsageError(f"formula must be a string, got {type(text).__name__}")
    if n_inputs is not None and (type(n_inputs) is not int or n_inputs < 1):
        raise UsageError(f"n_inputs must be a positive integer, got {n_inputs!r}")
    _check_text(text)
    # ast.parse rejects leading spaces; strip them and shift every column back.
    source = text.translate({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "})  # same columns
    shift = len(source) - len(source.lstrip())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning; we report our own errors
            tree = ast.parse(source.lstrip(), mode="eval")
    except (SyntaxError, ValueError) as error:
        column = shift + (getattr(error, "offset", None) or len(source.lstrip()))
        reason = str(getattr(error, "msg", error)).splitlines()[0]
        raise UsageError(
            f"formula: cannot parse {_short(text.strip())!r} at column {column} ({reason}); "
            "write an expression such as 'sin(3*x) + 0.1*x**2'"
        ) from None
    _check_size(tree.body, shift)
    compiler = _Compiler(source.lstrip(), shift, n_inputs)
    evaluate = compiler.compile(tree.body)
    names = sorted(compiler.variables, key=lambda name: int(name[1:] or 0))
    highest = max((int(name[1:] or 1) for name in names), default=1)
    return Formula(text, tuple(names), n_inputs or highest, evaluate, frozenset(compiler.uses))


def resolve_function(name_or_formula: str, *, n_inputs: int | None = None) -> Formula:
    """Turn a name from NAMED_FUNCTIONS, or else a formula, into a Formula.

    Args:
        name_or_formula: e.g. "quadratic" or "sin(3*x) + 0.1*x**2".
        n_inputs: number of input columns, if known; named functions take one.

    Returns:
        The Formula; for a name, its text is the formula the name stands for.

    Example:
        >>> resolve_function("quadratic").text
        'x**2'
    """
    if not isinstance(name_or_formula, str):
        return parse_formula(name_or_formula, n_inputs=n_inputs)  # raises a UsageError
    key = name_or_formula.strip()
    if key in NAMED_FUNCTIONS:
        if n_inputs not in (None, 1):
            raise UsageError(
                f"function {key!r} takes one input but there are {n_inputs}; "
                f"write a formula of x1..x{n_inputs} instead, e.g. 'x1*x2'"
            )
        return parse_formula(NAMED_FUNCTIONS[key], n_inputs=n_inputs)
    if key.isidentifier() and not (key in {*_FUNCTIONS, *_CONSTANTS} or _VARIABLE.fullmatch(key)):
        raise UsageError(
            f"function {key!r} is not a named function{did_you_mean(key, NAMED_FUNCTIONS)}; "
            f"named functions: {', '.join(NAMED_FUNCTIONS)}; or write a formula such as 'x**2'"
        )
    return parse_formula(name_or_formula, n_inputs=n_inputs)


def check_finite(formula: Formula, x: np.ndarray) -> np.ndarray:
    """Evaluate formula at x and raise UsageError, with a likely cause, if a value is not finite.

    Args:
        formula: a parsed formula.
        x: points, shape (n_points, n_inputs) or (n_points,) for one input.

    Returns:
        The values, shape (n_points,).

    Example:
        >>> check_finite(parse_formula("log(x)"), np.array([1.0]))
        array([0.])
    """
    y = formula(x)
    finite = np.isfinite(y)
    if finite.all():
        return y
    points = np.asarray(x, dtype=np.float64).reshape(len(y), -1)  # (n_points, n_inputs)
    first = points[np.argmin(finite)]
    names = formula.variables or ("x",)
    where = ", ".join(f"{name}={first[int(name[1:] or 1) - 1]:g}" for name in names)
    causes = [hint for use, hint in _HINTS.items() if use in formula._uses]
    cause = f" ({' '.join(causes[:2])})" if causes else ""
    example = ""
    if formula.n_inputs == 1 and finite.any():
        example = _finite_domain(points[:, 0], finite)
    text = f"{formula.text!r}".replace("{", "{{").replace("}", "}}")  # a SettingsError template
    raise SettingsError(
        f"formula {text} is not finite at {where}{cause}; choose a {{domain}} where it is "
        f"defined{example}",
        "domain",
        code="not_finite",
        params={"formula": formula.text, "where": where},
    )


def _finite_domain(x: np.ndarray, finite: np.ndarray) -> str:
    """Suggest the widest interval of sampled x where all values were finite, or ''."""
    order = np.argsort(x)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite[order], [0]]).astype(int)))
    starts, ends = edges[::2], edges[1::2]  # each run of finite values is order[start:end]
    longest = np.argmax(ends - starts)
    low, high = x[order[starts[longest]]], x[order[ends[longest] - 1]]
    joint = "=" if low < 0 else " "  # --domain=-1,2: argparse would take "-1,2" for a flag
    return f", e.g. {{domain}}{joint}{low:.3g},{high:.3g}" if low < high else ""


def _check_text(text: str) -> None:
    """Check length, characters and bracket depth with a plain scan, before ast.parse."""
    if not text.strip():
        raise UsageError("formula is empty; write an expression such as 'sin(3*x) + 0.1*x**2'")
    if len(text) > MAX_LENGTH:
        raise UsageError(f"formula has {len(text)} characters, over {MAX_LENGTH}; shorten it")
    depth = 0
    for column, char in enumerate(text, start=1):
        if not (char.isascii() and (char.isprintable() or char in "\t\n\r")):
            raise UsageError(f"formula: {char!r} at column {column} is not allowed; use ASCII")
        depth += (char in "([{") - (char in ")]}")
        if depth > MAX_PAREN_DEPTH:
            raise UsageError(
                f"formula: brackets nest over {MAX_PAREN_DEPTH} deep at column {column}; simplify"
            )


def _check_size(root: ast.expr, shift: int) -> None:
    """Cap node count and depth of the tree, walking it without recursion."""
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    n_nodes = 0
    while stack:
        node, depth = stack.pop()
        n_nodes += isinstance(node, ast.expr)
        if depth > MAX_DEPTH or n_nodes > MAX_NODES:
            column = shift + getattr(node, "col_offset", 0) + 1
            raise UsageError(
                f"formula is too complex at column {column} (at most {MAX_NODES} parts nested "
                f"{MAX_DEPTH} deep); simplify it"
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _short(text: str) -> str:
    """Text cut to 40 characters, so that messages stay one readable line."""
    return text if len(text) <= 40 else text[:37] + "..."


class _Compiler:
    """Check each node against the whitelist and build its numpy closure."""

    def __init__(self, source: str, shift: int, n_inputs: int | None) -> None:
        self.source, self.shift, self.n_inputs = source, shift, n_inputs
        self.variables: set[str] = set()  # names of the inputs used
        self.uses: set[str] = set()  # functions and operators, for check_finite's hints
        self.n_variable_uses = 0  # tells whether a subtree depends on x

    def refuse(self, node: ast.AST, what: str, *, column: int | None = None) -> UsageError:
        """An error naming the node's text and column."""
        segment = _short(ast.get_source_segment(self.source, node) or type(node).__name__)
        column = column or self.shift + getattr(node, "col_offset", 0) + 1
        return UsageError(f"formula: {segment!r} at column {column} {what}")

    def compile(self, node: ast.AST) -> Evaluate:
        """Closure for node; recursion is bounded by _check_size."""
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            number = cast(float, node.value)  # an int or a float, as checked just above
            value = np.float64(number if abs(number) < 1e308 else np.inf)  # no overflow
            if not np.isfinite(value):
                raise self.refuse(node, "is too large a number; use at most about 1e308")
            return lambda x: value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            operate, operand = _UNARY[type(node.op)], self.compile(node.operand)
            return lambda x: operate(operand(x))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            symbol, operate = _BINARY[type(node.op)]
            left, before = self.compile(node.left), self.n_variable_uses
            right = self.compile(node.right)
            if symbol == "**" and self.n_variable_uses == before:
                self.check_exponent(node.right, right)
            self.uses.add(symbol)
            return lambda x: operate(left(x), right(x))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in _FORBIDDEN_OPS:
            symbol = _FORBIDDEN_OPS[type(node.op)]
            start = getattr(getattr(node, "left", None), "end_col_offset", node.col_offset)
            column = self.shift + self.source.find(symbol, start) + 1
            raise self.refuse(node, f"uses {symbol!r}, which is not allowed; {_ALLOWED}",
                              column=column)  # fmt: skip
        kind = _KINDS.get(type(node), type(node).__name__)
        raise self.refuse(node, f"is not allowed ({kind}); {_ALLOWED}")

    def name(self, node: ast.Name) -> Evaluate:
        """Closure for a variable or constant."""
        if node.id in _CONSTANTS:
            value = _CONSTANTS[node.id]
            return lambda x: value
        if node.id in _FUNCTIONS:
            raise self.refuse(node, f"is a function; call it, e.g. {node.id}(x)")
        match = _VARIABLE.fullmatch(node.id)
        if not match:
            suggestion = did_you_mean(node.id, [*_FUNCTIONS, *_CONSTANTS, "x", "x1", "x2"])
            raise self.refuse(node, f"is not a known name{suggestion}; {_ALLOWED}")
        numbered = [name for name in self.variables if name != "x"]
        if (node.id == "x" and numbered) or (node.id != "x" and "x" in self.variables):
            raise self.refuse(node, "mixes x with x1, x2, ...; use x alone or x1, x2, ... only")
        limit, k = self.n_inputs or MAX_INPUTS, int(match.group(1) or 1)
        if node.id == "x" and limit > 1 and self.n_inputs:
            raise self.refuse(node, f"is ambiguous with {limit} inputs; write x1..x{limit}")
        if k > limit:
            raise self.refuse(node, f"is not an input; the inputs are x1..x{limit}")
        self.variables.add(node.id)
        self.n_variable_uses += 1
        return lambda x: x[:, k - 1]  # (n_points,)

    def call(self, node: ast.Call) -> Evaluate:
        """Closure for a call to an allowed function, by bare name, with the right arity."""
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node, f"calls something other than a function name; {_ALLOWED}")
        name = node.func.id
        if name not in _FUNCTIONS:
            if name in _CONSTANTS or _VARIABLE.fullmatch(name):
                raise self.refuse(node.func, f"is not a function; {_ALLOWED}")
            suggestion = did_you_mean(name, _FUNCTIONS)
            raise self.refuse(node.func, f"is not a known function{suggestion}; {_ALLOWED}")
        if node.keywords:
            raise self.refuse(node, "uses keyword arguments; pass arguments by position")
        function, fewest, most = _FUNCTIONS[name]
        if not fewest <= len(node.args) <= (most or len(node.args)):
            wanted = f"{fewest} or more" if most is None else str(fewest)
            raise self.refuse(node, f"gives {name} {len(node.args)} arguments; it takes {wanted}")
        args = [self.compile(arg) for arg in node.args]
        self.uses.add(name)
        return lambda x: function(*(arg(x) for arg in args))

    def check_exponent(self, node: ast.expr, exponent: Evaluate) -> None:
        """Refuse a constant exponent beyond ±MAX_EXPONENT (one that depends on x is allowed)."""
        with np.errstate(all="ignore"):
            value = exponent(np.empty((1, 0)))  # no variables inside, so the points are unused
        if not np.abs(value) <= MAX_EXPONENT:
            raise self.refuse(
                node, f"is too large an exponent; use -{MAX_EXPONENT} to {MAX_EXPONENT}"
            )
