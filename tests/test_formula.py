"""Tests for nnfit.data.formula: the whitelist, numpy evaluation, limits and error messages."""

from __future__ import annotations

import builtins
import contextlib
import re
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnfit.data import formula as formula_module
from nnfit.data.formula import (
    NAMED_FUNCTIONS,
    Formula,
    check_finite,
    parse_formula,
    resolve_function,
)
from nnfit.errors import UsageError

X = np.linspace(-2.0, 2.0, 41)  # (41,), includes 0 so nan/inf cases are exercised
PROPERTY = settings(max_examples=200, derandomize=True, deadline=None, database=None)


def _column(message: str) -> int:
    match = re.search(r"column (\d+)", message)
    assert match, message
    return int(match.group(1))


def test_public_api_is_pinned():
    expected = ["NAMED_FUNCTIONS", "Formula", "check_finite", "parse_formula", "resolve_function"]
    assert formula_module.__all__ == expected


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("x", lambda x: x),
        ("2", lambda x: np.full_like(x, 2.0)),
        ("1e-3 * x + 0x10", lambda x: 1e-3 * x + 16),
        ("-x + +x - 3", lambda x: -x + x - 3),
        ("(x + 1) * (x - 1) / 4", lambda x: (x + 1) * (x - 1) / 4),
        ("x**2", lambda x: x**2),
        ("2**x**2", lambda x: 2 ** (x**2)),
        ("x**-1", lambda x: x**-1.0),
        ("x**0.5", lambda x: x**0.5),
        ("sin(x)", np.sin),
        ("cos(x)", np.cos),
        ("tan(x)", np.tan),
        ("exp(x)", np.exp),
        ("log(x)", np.log),
        ("sqrt(x)", np.sqrt),
        ("abs(x)", np.abs),
        ("tanh(x)", np.tanh),
        ("sigmoid(x)", lambda x: 1 / (1 + np.exp(-x))),
        ("relu(x)", lambda x: np.maximum(x, 0)),
        ("sign(x)", np.sign),
        ("floor(x)", np.floor),
        ("ceil(x)", np.ceil),
        ("min(x, 0.5, -x)", lambda x: np.minimum(np.minimum(x, 0.5), -x)),
        ("max(x, 0)", lambda x: np.maximum(x, 0)),
        ("clip(x, -1, 1)", lambda x: np.clip(x, -1, 1)),
        ("pi * e * x", lambda x: np.pi * np.e * x),
        ("sin(3*x) + 0.1*x**2", lambda x: np.sin(3 * x) + 0.1 * x**2),
        ("  x\t+\n1", lambda x: x + 1),
    ],
)
def test_allowed_construct_matches_numpy(text, reference):
    with np.errstate(all="ignore"):
        expected = reference(X)
    y = parse_formula(text)(X)
    assert y.shape == X.shape and y.dtype == np.float64
    np.testing.assert_allclose(y, expected, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("foo + x", 1),
        ("x + foo", 5),
        ("__import__('os')", 1),
        ("x.real", 1),
        ("x.__class__", 1),
        ("lambda: x", 1),
        ("x[0]", 1),
        ("[t for t in (1, 2)]", 1),
        ("{t for t in (1, 2)}", 1),
        ("sum(t for t in (1, 2))", 1),
        ("sin(x=1)", 1),
        ("sin(*x)", 5),
        ("x < 1", 1),
        ("x and 1", 1),
        ("x // 2", 3),
        ("x % 2", 3),
        ("x @ x", 3),
        ("x << 1", 3),
        ("x | 1", 3),
        ("x & 1", 3),
        ("x ^ 1", 3),
        ("~x", 1),
        ("not x", 1),
        ("f'{x}'", 1),
        ("(y := 2)", 2),
        ("sin(x)(x)", 1),
        ("'a'", 1),
        ("b'a'", 1),
        ("1j", 1),
        ("True", 1),
        ("None", 1),
        ("...", 1),
        ("x if x else 1", 1),
        ("x, 1", 1),
        ("[x]", 1),
        ("{}", 1),
        ("2**1000", 4),
        ("9**9**9**9", 7),
        ("x**(1/0)", 5),
        ("1e999", 1),
        ("x + x1", 5),
        ("x1 + x", 6),
        ("sin + 1", 1),
        ("pi(2)", 1),
        ("clip(x, 1)", 1),
        ("min(x)", 1),
        ("x y", 3),
        ("   foo", 4),
        ("x +\r\n foo", 7),
        ("x + é", 5),
    ],
)
def test_forbidden_construct_is_refused_with_column(text, column):
    with pytest.raises(UsageError) as caught:
        parse_formula(text)
    message = str(caught.value)
    assert "\n" not in message
    assert _column(message) == column


def test_unknown_name_suggests_the_nearest_and_lists_what_is_allowed():
    with pytest.raises(UsageError, match=r"'sinn' at column 5 .*did you mean 'sin'\?") as caught:
        parse_formula("x + sinn(x)")
    assert "sigmoid" in str(caught.value) and "x1, x2" in str(caught.value)
    with pytest.raises(UsageError, match=r"did you mean 'pi'\?"):
        parse_formula("pii * x")


def test_text_over_the_length_limit_is_refused():
    with pytest.raises(UsageError, match="500"):
        parse_formula("x+" * 300 + "x")


def test_deep_brackets_are_refused_before_parsing(monkeypatch):
    with pytest.raises(UsageError):
        parse_formula("(" * 10_000 + "x" + ")" * 10_000)
    # Even without the length limit, the bracket scan must stop it before ast.parse recurses.
    monkeypatch.setattr(formula_module, "MAX_LENGTH", 100_000)
    with pytest.raises(UsageError, match="column 33"):
        parse_formula("(" * 10_000 + "x" + ")" * 10_000)
    with pytest.raises(UsageError, match="brackets"):
        parse_formula("[" * 40 + "x" + "]" * 40)


def test_deep_tree_without_brackets_is_refused():
    with pytest.raises(UsageError, match="too complex"):
        parse_formula("-" * 400 + "x")


@pytest.mark.parametrize("text", ["9**9**9**9", "2**1000", "x**1e6", "(2**50)**(2**50)", "1" * 400])
def test_huge_constants_are_refused_quickly(text):
    start = time.perf_counter()
    with pytest.raises(UsageError):
        parse_formula(text)
    assert time.perf_counter() - start < 0.5


def test_exponent_that_depends_on_x_is_allowed_and_overflows_to_inf():
    y = parse_formula("2**(2000*x)")(np.array([-1.0, 1.0]))
    assert y[0] == 0.0 and y[1] == np.inf


def test_several_inputs():
    f = parse_formula("x1*x2 + x3")
    assert (f.variables, f.n_inputs) == (("x1", "x2", "x3"), 3)
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(f(x), x[:, 0] * x[:, 1] + x[:, 2])
    assert parse_formula("x10 + x2").variables == ("x2", "x10")
    assert parse_formula("x2").n_inputs == 2


def test_n_inputs_given():
    assert parse_formula("x1", n_inputs=3).n_inputs == 3
    assert parse_formula("x", n_inputs=1).variables == ("x",)
    with pytest.raises(UsageError, match=r"x3.*x1\.\.x2"):
        parse_formula("x3", n_inputs=2)
    with pytest.raises(UsageError, match=r"x1\.\.x2"):
        parse_formula("x", n_inputs=2)
    with pytest.raises(UsageError, match="n_inputs"):
        parse_formula("x", n_inputs=0)


def test_call_checks_the_shape_of_x():
    f = parse_formula("x**2")
    np.testing.assert_array_equal(f(X), f(X[:, None]))
    with pytest.raises(UsageError, match=r"\(n_points, 2\); got shape \(4, 3\)"):
        parse_formula("x1*x2")(np.zeros((4, 3)))
    with pytest.raises(UsageError):
        parse_formula("x1*x2")(np.zeros(4))


def test_constant_formula_gives_one_value_per_point():
    y = parse_formula("2*pi")(X)
    assert y.shape == X.shape and np.all(y == 2 * np.pi)
    y[0] = 0.0  # the result is a fresh, writable array


def test_check_finite_names_the_point_and_a_domain():
    with pytest.raises(UsageError) as caught:
        check_finite(parse_formula("log(x)"), np.linspace(-1, 1, 21))
    message = str(caught.value)
    assert "'log(x)'" in message and "x=-1 " in message and "log of zero" in message
    assert "e.g. domain 0.1,1" in message and "--" not in message  # the core names fields
    np.testing.assert_allclose(check_finite(parse_formula("log(x)"), X[X > 0]), np.log(X[X > 0]))


def test_check_finite_suggests_a_negative_domain_that_argparse_accepts():
    with pytest.raises(UsageError, match=r"x=0\.1 .*e\.g\. domain=-1,0$"):
        check_finite(parse_formula("sqrt(-x)"), np.linspace(-1, 1, 21))


def test_the_command_line_suggests_the_domain_by_its_flag(capsys):
    from nnfit.cli import main

    assert main(["demo", "--no-window", "-q", "--function", "sqrt(-x)"]) == 2
    assert "choose a --domain where it is defined, e.g. --domain=-1," in capsys.readouterr().err


def test_check_finite_with_several_inputs():
    with pytest.raises(UsageError, match=r"x1=0, x2=1 \(division by zero\?\)"):
        check_finite(parse_formula("1/x1 + x2"), np.array([[1.0, 2.0], [0.0, 1.0]]))


@pytest.mark.parametrize("name", sorted(NAMED_FUNCTIONS))
def test_named_functions_parse_and_are_finite(name):
    f = resolve_function(name)
    assert f.text == NAMED_FUNCTIONS[name] and f.n_inputs == 1
    check_finite(f, np.linspace(-1, 1, 21))


def test_resolve_function():
    assert NAMED_FUNCTIONS["quadratic"] == "x**2"
    assert resolve_function(" quadratic ").text == "x**2"
    assert resolve_function("x**3 - x").text == "x**3 - x"
    with pytest.raises(UsageError, match=r"did you mean 'quadratic'\?.*named functions"):
        resolve_function("quadratc")
    with pytest.raises(UsageError, match="one input"):
        resolve_function("sin", n_inputs=2)
    with pytest.raises(UsageError, match="is a function"):
        resolve_function("tan")


# --- properties ---------------------------------------------------------------------------------

TOKENS = [
    *["x", "x1", "x2", "x0", "y", "1", "2.5", "1e-3", "9", "0", "pi", "e", "j", "True", "'s'"],
    *["+", "-", "*", "/", "**", "//", "%", "@", "<", "==", "~", "&", "|", "^", "=", ":=", ":"],
    *["(", ")", "[", "]", "{", "}", ",", ".", " ", "real", "and", "not", "if", "else", "lambda"],
    *["sin", "exp", "log", "sqrt", "min", "clip", "__import__", "eval", "open", "f'{x}'"],
]


@contextlib.contextmanager
def _no_dynamic_code():
    """Make eval and exec raise, and __import__ too except numpy's re-imports of its own modules."""
    real_import = builtins.__import__

    def forbidden(*args, **kwargs):
        raise AssertionError(f"the formula code called eval, exec or __import__ with {args[:1]}")

    def numpy_import(name, *args, **kwargs):
        # numpy's C code looks up already loaded helpers such as numpy._core._methods this way.
        if name.startswith("numpy.") and name in sys.modules:
            return real_import(name, *args, **kwargs)
        return forbidden(name)

    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "__import__")}
    replacements = {"eval": forbidden, "exec": forbidden, "__import__": numpy_import}
    for name, function in replacements.items():
        setattr(builtins, name, function)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(builtins, name, function)


def _parse_and_run(text: str) -> Formula | None:
    """Parse and evaluate text with dynamic code forbidden; None if refused with UsageError."""
    with _no_dynamic_code():
        try:
            f = parse_formula(text)
            x = np.tile(X[:, None], (1, f.n_inputs))  # (41, n_inputs)
            y = f(x)
            with contextlib.suppress(UsageError):
                check_finite(f, x)
        except UsageError as error:
            assert "\n" not in str(error)
            return None
    assert y.shape == X.shape and y.dtype == np.float64
    return f


@PROPERTY
@given(st.text(max_size=60))
def test_any_text_gives_a_formula_or_a_usage_error(text):
    _parse_and_run(text)


@PROPERTY
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_token_soup_gives_a_formula_or_a_usage_error(text):
    _parse_and_run(text)


def _binary(pair_and_op):
    (left, f), op, (right, g) = pair_and_op
    ufunc = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}[op]
    return f"({left} {op} {right})", lambda x: ufunc(f(x), g(x))


UNARY = {"sin": np.sin, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs}
LEAVES = st.sampled_from(
    [("x", lambda x: x), ("2.5", lambda x: 2.5), ("1e-3", lambda x: 1e-3), ("pi", lambda x: np.pi)]
)
ALLOWED_EXPRESSIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(_binary),
        st.tuples(st.sampled_from(sorted(UNARY)), inner).map(
            lambda t: (f"{t[0]}({t[1][0]})", lambda x: UNARY[t[0]](t[1][1](x)))
        ),
        st.tuples(inner, inner).map(
            lambda t: (f"max({t[0][0]}, {t[1][0]})", lambda x: np.maximum(t[0][1](x), t[1][1](x)))
        ),
        inner.map(lambda t: (f"(-{t[0]})", lambda x: -t[1](x))),
    ),
    max_leaves=10,
)


@PROPERTY
@given(ALLOWED_EXPRESSIONS)
def test_generated_allowed_formulas_match_numpy(expression):
    text, reference = expression
    f = _parse_and_run(text)
    if f is None:  # only a constant exponent beyond the bound may be refused
        with pytest.raises(UsageError, match="exponent"):
            parse_formula(text)
        return
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(reference(X), X.shape)
    np.testing.assert_allclose(f(X), expected, rtol=1e-12, equal_nan=True)


FORBIDDEN = [
    *["x.real", "x[0]", "__import__('os')", "(lambda: 1)()", "x // 2", "x % 2", "x < 1"],
    *["x and 1", "'s'", "True", "1j", "sin(x=1)", "foo", "(y := 1)", "[1]", "{1: 2}", "x @ x"],
    *["~x", "open('f')", "eval('1')", "exec('x')", "x.__class__.__bases__", "f'{x}'"],
]


@PROPERTY
@given(ALLOWED_EXPRESSIONS, st.sampled_from(FORBIDDEN), st.booleans())
def test_a_forbidden_part_anywhere_is_refused_at_its_column(expression, forbidden, inside):
    text = f"sin({forbidden}) * {expression[0]}" if inside else f"({forbidden}) + {expression[0]}"
    with _no_dynamic_code(), pytest.raises(UsageError) as caught:
        parse_formula(text)
    start = text.index(forbidden) + 1
    assert start <= _column(str(caught.value)) < start + len(forbidden)


def test_the_dynamic_code_guard_trips():
    with _no_dynamic_code(), pytest.raises(AssertionError):
        __import__("os")
    with _no_dynamic_code(), pytest.raises(AssertionError):
        eval("1")
