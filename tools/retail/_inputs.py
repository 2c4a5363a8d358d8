"""Input models of the retail tools: the tau-bench names and arguments, with bounds."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = [
    "CANCEL_REASONS",
    "AddressChange",
    "CalculateInput",
    "CancelPendingOrderInput",
    "ExchangeDeliveredOrderItemsInput",
    "FindUserIdByEmailInput",
    "FindUserIdByNameZipInput",
    "ModifyPendingOrderAddressInput",
    "ModifyPendingOrderItemsInput",
    "ModifyPendingOrderPaymentInput",
    "ModifyUserAddressInput",
    "NoInput",
    "OrderIdInput",
    "ProductIdInput",
    "RerouteShipmentInput",
    "ReturnDeliveredOrderItemsInput",
    "SearchText",
    "TransferToHumanAgentsInput",
    "UserIdInput",
]

CANCEL_REASONS = ("no longer needed", "ordered by mistake")

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
ItemIds = Annotated[list[Identifier], Field(min_length=1, max_length=50)]

_ORDER_ID = "The order id, such as '#W0000000' (with the leading '#')."
_PAYMENT_ID = (
    "The payment method id, such as 'gift_card_0000000' or 'credit_card_0000000', as listed "
    "in the user's or the order's details."
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain NUL characters")
        return value


class NoInput(_Input):
    """No arguments."""


class FindUserIdByEmailInput(_Input):
    """Arguments of find_user_id_by_email."""

    email: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)
    ] = Field(description="The email of the user, such as 'something@example.com'.")


class FindUserIdByNameZipInput(_Input):
    """Arguments of find_user_id_by_name_zip."""

    first_name: Text = Field(description="The first name of the customer, such as 'John'.")
    last_name: Text = Field(description="The last name of the customer, such as 'Doe'.")
    zip: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] = (
        Field(description="The zip code of the customer, such as '12345'.")
    )


class UserIdInput(_Input):
    """A user id."""

    user_id: Identifier = Field(description="The user id, such as 'sara_doe_496'.")


class OrderIdInput(_Input):
    """An order id."""

    order_id: Identifier = Field(description=_ORDER_ID)


class ProductIdInput(_Input):
    """A product id."""

    product_id: Identifier = Field(
        description="The product id, such as '6086499569'. Not the same as an item id."
    )


class CalculateInput(_Input):
    """Arguments of calculate."""

    expression: SearchText = Field(
        description="An arithmetic expression with numbers, + - * / and parentheses, "
        "such as '2 + 2' or '(54.04 - 12.5) * 2'."
    )


class CancelPendingOrderInput(_Input):
    """Arguments of cancel_pending_order."""

    order_id: Identifier = Field(description=_ORDER_ID)
    reason: Text = Field(
        description="The reason for cancellation: 'no longer needed' or 'ordered by mistake'.",
        json_schema_extra={"enum": list(CANCEL_REASONS)},
    )


class AddressChange(_Input):
    """A postal address, field by field."""

    address1: Text = Field(description="The first line of the address, such as '123 Main St'.")
    address2: OptionalText = Field(
        description="The second line of the address, such as 'Apt 1' or ''."
    )
    city: Place = Field(description="The city, such as 'San Francisco'.")
    state: Place = Field(description="The state, such as 'CA'.")
    country: Place = Field(description="The country, such as 'USA'.")
    zip: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] = (
        Field(description="The zip code, such as '12345'.")
    )


class ModifyPendingOrderAddressInput(AddressChange):
    """Arguments of modify_pending_order_address."""

    order_id: Identifier = Field(description=_ORDER_ID)


class ModifyUserAddressInput(AddressChange):
    """Arguments of modify_user_address."""

    user_id: Identifier = Field(description="The user id, such as 'sara_doe_496'.")


class ModifyPendingOrderPaymentInput(_Input):
    """Arguments of modify_pending_order_payment."""

    order_id: Identifier = Field(description=_ORDER_ID)
    payment_method_id: Identifier = Field(description=_PAYMENT_ID)


class ModifyPendingOrderItemsInput(_Input):
    """Arguments of modify_pending_order_items."""

    order_id: Identifier = Field(description=_ORDER_ID)
    item_ids: ItemIds = Field(
        description="The item ids to modify, such as ['1008292230']; duplicates allowed."
    )
    new_item_ids: ItemIds = Field(
        description="The new item ids, position by position, each a variant of the same product."
    )
    payment_method_id: Identifier = Field(
        description=_PAYMENT_ID + " It pays or receives the price difference."
    )


class ReturnDeliveredOrderItemsInput(_Input):
    """Arguments of return_delivered_order_items."""

    order_id: Identifier = Field(description=_ORDER_ID)
    item_ids: ItemIds = Field(
        description="The item ids to return, such as ['1008292230']; duplicates allowed."
    )
    payment_method_id: Identifier = Field(
        description=_PAYMENT_ID + " It receives the refund: the original method or a gift card."
    )


class ExchangeDeliveredOrderItemsInput(_Input):
    """Arguments of exchange_delivered_order_items."""

    order_id: Identifier = Field(description=_ORDER_ID)
    item_ids: ItemIds = Field(
        description="The item ids to exchange, such as ['1008292230']; duplicates allowed."
    )
    new_item_ids: ItemIds = Field(
        description="The new item ids, position by position, each a variant of the same product."
    )
    payment_method_id: Identifier = Field(
        description=_PAYMENT_ID + " It pays or receives the price difference."
    )


class TransferToHumanAgentsInput(_Input):
    """Arguments of transfer_to_human_agents."""

    summary: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
    ] = Field(description="A summary of the customer's issue for the human agent.")


class RerouteShipmentInput(AddressChange):
    """Arguments of reroute_shipment."""

    order_id: Identifier = Field(description=_ORDER_ID)
    tracking_id: Identifier | None = Field(
        default=None,
        description="The tracking id of the shipment; may be left out when the order has one.",
    )
