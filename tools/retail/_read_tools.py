"""Retail read tools (tau-bench names): identify the customer, look up orders and products."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, RootModel
from sqlalchemy import func, select

from tools._context import ToolContext
from tools._money import Money
from tools._tool import tool
from tools.errors import ToolError
from tools.retail._calculator import evaluate
from tools.retail._inputs import (
    CalculateInput,
    FindUserIdByEmailInput,
    FindUserIdByNameZipInput,
    NoInput,
    OrderIdInput,
    ProductIdInput,
    TransferToHumanAgentsInput,
    UserIdInput,
)
from tools.retail._lookup import load_order, load_product, load_user, user_order_ids
from tools.retail._records import OrderRecord, ProductRecord, UserRecord, order_record
from tools.retail._records import product_record as to_product_record
from tools.retail._records import user_record as to_user_record
from tools.retail._schema import Product, User

__all__ = [
    "CalculationResult",
    "ProductTypes",
    "TransferResult",
    "UserIdResult",
    "calculate",
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_order_details",
    "get_product_details",
    "get_user_details",
    "list_all_product_types",
    "transfer_to_human_agents",
]


class UserIdResult(BaseModel):
    """The id of the customer that was found."""

    user_id: str


class ProductTypes(RootModel[dict[str, str]]):
    """Product names mapped to product ids, sorted by name."""


class CalculationResult(BaseModel):
    """The value of an expression, rounded to two decimals."""

    result: Money


class TransferResult(BaseModel):
    """Confirmation that the conversation was handed to a person."""

    status: str
    summary: str


@tool(effect="read")
def find_user_id_by_email(args: FindUserIdByEmailInput, ctx: ToolContext) -> UserIdResult:
    """Find a customer's user id by their email address; used to authenticate the customer."""
    found = ctx.db.scalars(
        select(User.id)
        .where(func.lower(User.email) == args.email.lower())
        .order_by(User.position, User.id)
        .limit(1)
    ).first()
    if found is None:
        raise ToolError("no customer found with that email", code="user_not_found", field="email")
    return UserIdResult(user_id=found)


@tool(effect="read")
def find_user_id_by_name_zip(args: FindUserIdByNameZipInput, ctx: ToolContext) -> UserIdResult:
    """Find a customer's user id by first name, last name and zip code.

    Use it to authenticate the customer when they do not remember their email.
    """
    found = ctx.db.scalars(
        select(User.id)
        .where(
            func.lower(User.first_name) == args.first_name.lower(),
            func.lower(User.last_name) == args.last_name.lower(),
            User.zip == args.zip,
        )
        .order_by(User.position, User.id)
        .limit(1)
    ).first()
    if found is None:
        raise ToolError(
            "no customer found with that name and zip code", code="user_not_found", field="zip"
        )
    return UserIdResult(user_id=found)


@tool(effect="read")
def get_user_details(args: UserIdInput, ctx: ToolContext) -> UserRecord:
    """Get a customer's profile: name, default address, email, payment methods and order ids."""
    user = load_user(ctx.db, args.user_id)
    return to_user_record(user, user_order_ids(ctx.db, user.id))


@tool(effect="read")
def get_order_details(args: OrderIdInput, ctx: ToolContext) -> OrderRecord:
    """Get an order's status, address, items, fulfilments and payment history."""
    return order_record(load_order(ctx.db, args.order_id))


@tool(effect="read")
def get_product_details(args: ProductIdInput, ctx: ToolContext) -> ProductRecord:
    """Get a product's variants: item id, option values, availability and price of each."""
    return to_product_record(load_product(ctx.db, args.product_id))


@tool(effect="read")
def list_all_product_types(args: NoInput, ctx: ToolContext) -> ProductTypes:
    """List every product type of the store: its name and product id."""
    rows = ctx.db.execute(select(Product.name, Product.id).order_by(Product.position)).all()
    return ProductTypes(dict(sorted({name: product_id for name, product_id in rows}.items())))


@tool(effect="read")
def calculate(args: CalculateInput, ctx: ToolContext) -> CalculationResult:
    """Calculate the value of an arithmetic expression, such as a refund total."""
    value: Decimal = evaluate(args.expression)
    return CalculationResult(result=value)


@tool(effect="read")
def transfer_to_human_agents(args: TransferToHumanAgentsInput, ctx: ToolContext) -> TransferResult:
    """Transfer the customer to a human agent, with a summary of the issue.

    Only when the request cannot be handled with the available tools, or the customer
    explicitly asks for a person.
    """
    return TransferResult(status="Transfer successful", summary=args.summary)
