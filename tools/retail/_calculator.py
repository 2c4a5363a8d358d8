"""Exact arithmetic for the ``calculate`` tool: numbers, + - * / and parentheses, nothing else."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

from tools.errors import ToolError

__all__ = ["evaluate"]

_ALLOWED_CHARACTERS = set("0123456789+-*/(). ")
_BINARY: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_MAX_DEPTH = 50
_CENT = Decimal("0.01")
_MAX_DIGITS = 20  # whole digits of a result; amounts in this domain are far smaller


def _invalid(message: str) -> ToolError:
    return ToolError(message, code="invalid_expression", field="expression")


def _evaluate(node: ast.AST, source: str, depth: int = 0) -> Decimal:
    if depth > _MAX_DEPTH:
        raise _invalid("expression is nested too deeply")
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, source, depth + 1)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        # From the literal's text, not the float: "12345678901234567.89" keeps its cents.
        literal = ast.get_source_segment(source, node) or str(node.value)
        return Decimal(literal)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand, source, depth + 1)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate(node.left, source, depth + 1)
        right = _evaluate(node.right, source, depth + 1)
        return _BINARY[type(node.op)](left, right)
    raise _invalid("expression may only use numbers, + - * / and parentheses")


def evaluate(expression: str) -> Decimal:
    """Evaluate an arithmetic expression exactly and round it to cents (half to even).

    Raises:
        ToolError: Characters other than digits, operators, parentheses, dots and spaces, a
            malformed expression, a division by zero, or a result too large to represent.
    """
    if not set(expression) <= _ALLOWED_CHARACTERS:
        raise _invalid("invalid characters in expression: use digits, + - * / ( ) . and spaces")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise _invalid(f"malformed expression {expression!r}") from None
    try:
        with localcontext() as context:
            context.prec = 60
            context.traps[DivisionByZero] = True
            context.traps[InvalidOperation] = True
            context.traps[Overflow] = True
            value = _evaluate(tree, expression.strip())
            if value.is_finite() and value != 0 and value.adjusted() >= _MAX_DIGITS:
                raise _invalid("the result is too large to calculate")
            return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    except (DivisionByZero, ZeroDivisionError):
        raise _invalid("division by zero in expression") from None
    except (InvalidOperation, Overflow, OverflowError):
        raise _invalid("the result is too large to calculate") from None
