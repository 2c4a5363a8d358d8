"""The retail domain: the company's systems on SQL and the tools the agent acts through.

Tool names and arguments follow the public tau-bench retail domain, so its tasks replay
unchanged; ``track_shipment``, ``reroute_shipment`` and ``get_refund_status`` go beyond it.
"""

from typing import Any

from tools._knowledge import search_knowledge
from tools._registry import ToolRegistry
from tools._retry import RetryPolicy
from tools._tool import Tool
from tools.retail._backend import open_retail_backend, retail_counts
from tools.retail._inputs import CANCEL_REASONS
from tools.retail._order_tools import (
    cancel_pending_order,
    exchange_delivered_order_items,
    modify_pending_order_address,
    modify_pending_order_items,
    modify_pending_order_payment,
    modify_user_address,
    return_delivered_order_items,
)
from tools.retail._read_tools import (
    calculate,
    find_user_id_by_email,
    find_user_id_by_name_zip,
    get_order_details,
    get_product_details,
    get_user_details,
    list_all_product_types,
    transfer_to_human_agents,
)
from tools.retail._records import (
    ORDER_STATUSES,
    OrderRecord,
    ProductRecord,
    UserRecord,
)
from tools.retail._schema import (
    Fulfilment,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentTransaction,
    Product,
    RetailBase,
    ShipmentEvent,
    User,
    Variant,
)
from tools.retail._seed import SeedSummary, seed_demo
from tools.retail._shipping_tools import (
    CARRIER_STATUSES,
    get_refund_status,
    reroute_shipment,
    track_shipment,
)
from tools.retail._taubench import (
    TaubenchData,
    export_taubench,
    load_taubench,
    read_taubench_dir,
    state_hash,
    write_taubench_dir,
)

__all__ = [
    "CANCEL_REASONS",
    "CARRIER_STATUSES",
    "ORDER_STATUSES",
    "Fulfilment",
    "Order",
    "OrderItem",
    "PaymentMethod",
    "PaymentTransaction",
    "Product",
    "RetailBase",
    "ShipmentEvent",
    "User",
    "Variant",
    "RETAIL_TOOLS",
    "OrderRecord",
    "ProductRecord",
    "SeedSummary",
    "TaubenchData",
    "UserRecord",
    "export_taubench",
    "load_taubench",
    "open_retail_backend",
    "read_taubench_dir",
    "retail_counts",
    "retail_registry",
    "seed_demo",
    "state_hash",
    "write_taubench_dir",
]

RETAIL_TOOLS: tuple[Tool[Any, Any], ...] = (
    find_user_id_by_email,
    find_user_id_by_name_zip,
    get_user_details,
    get_order_details,
    get_product_details,
    list_all_product_types,
    calculate,
    cancel_pending_order,
    modify_pending_order_address,
    modify_pending_order_payment,
    modify_pending_order_items,
    return_delivered_order_items,
    exchange_delivered_order_items,
    modify_user_address,
    transfer_to_human_agents,
    track_shipment,
    reroute_shipment,
    get_refund_status,
    search_knowledge,
)


def retail_registry(*, retry: RetryPolicy | None = None) -> ToolRegistry:
    """Return a registry of every retail tool (``search_knowledge`` included)."""
    return ToolRegistry("retail", RETAIL_TOOLS, retry=retry)
