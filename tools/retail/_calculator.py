"""Exact arithmetic for the ``calculate`` tool: numbers, + - * / and parentheses, nothing else."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext

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


def _evaluate(node: ast.AST, depth: int = 0) -> Decimal:
    if depth > _MAX_DEPTH:
        raise ToolError("expression is nested too deeply", code="invalid_expression")
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, depth + 1)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Decimal(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand, depth + 1)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate(node.left, depth + 1)
        right = _evaluate(node.right, depth + 1)
        return _BINARY[type(node.op)](left, right)
    raise ToolError(
        "expression may only use numbers, + - * / and parentheses", code="invalid_expression"
    )


def evaluate(expression: str) -> Decimal:
    """Evaluate an arithmetic expression exactly (Decimal, 28 significant digits).

    Raises:
        ToolError: Characters other than digits, operators, parentheses, dots and spaces, a
            malformed expression, or a division by zero.
    """
    if not set(expression) <= _ALLOWED_CHARACTERS:
        raise ToolError(
            "invalid characters in expression: use digits, + - * / ( ) . and spaces",
            code="invalid_expression",
            field="expression",
        )
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ToolError(
            f"malformed expression {expression!r}", code="invalid_expression", field="expression"
        ) from None
    try:
        with localcontext() as context:
            context.traps[DivisionByZero] = True
            context.traps[InvalidOperation] = True
            return _evaluate(tree)
    except (DivisionByZero, InvalidOperation, ZeroDivisionError):
        raise ToolError(
            "division by zero in expression", code="invalid_expression", field="expression"
        ) from None
