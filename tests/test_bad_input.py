"""Whatever the model sends, every retail tool answers with an output or a ToolError.

Wrong types, unknown ids, empty, blank, oversized strings and huge lists are tried field by
field on every tool; then hypothesis throws random calls at the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tools import SqlBackend, ToolContext, ToolError, ToolResult
from tools._provision import DatabaseCopies
from tools.retail import (
    TaubenchData,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    retail_registry,
)
from tools.retail._schema import retail_metadata

REGISTRY = retail_registry()
HUGE = 10_000
ADDRESS = {
    "address1": "1 Main St",
    "address2": "Apt 2",
    "city": "Austin",
    "state": "TX",
    "country": "USA",
    "zip": "78701",
}
# Fields that may legitimately be blank or left out.
MAY_BE_BLANK = {"address2"}
MAY_BE_NULL = {"tracking_id"}

Record = dict[str, Any]


def properties(name: str) -> dict[str, Record]:
    props: dict[str, Record] = REGISTRY.get(name).parameters_schema()["properties"]
    return props


def is_list(spec: Record) -> bool:
    return spec.get("type") == "array"


# --- a loaded database and valid arguments for every tool ------------------------------------


@pytest.fixture(scope="module")
def tau(taubench_retail_dir: Path) -> TaubenchData:
    return read_taubench_dir(taubench_retail_dir)


def _load(url: str | Path, tau: TaubenchData) -> SqlBackend:
    backend = open_retail_backend(url)
    load_taubench(backend, tau)
    return backend


@pytest.fixture(scope="module")
def shared_backend(
    tau: TaubenchData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlBackend]:
    """One SQLite database for the whole module: every call here is refused."""
    backend = _load(tmp_path_factory.mktemp("bad-input") / "retail.db", tau)
    yield backend
    backend.dispose()


def _first(tau: TaubenchData, status: str, *, swappable: bool = False) -> Record:
    for order in tau.orders.values():
        if order["status"] != status:
            continue
        methods = tau.users[order["user_id"]]["payment_methods"]
        if not swappable or (_swap(tau, order) is not None and len(methods) > 1):
            return order
    raise AssertionError(f"no {status} order in the tau-bench data")


def _swap(tau: TaubenchData, order: Record) -> tuple[str, str] | None:
    for item in order["items"]:
        for variant in tau.products[item["product_id"]]["variants"].values():
            if variant["available"] and variant["item_id"] != item["item_id"]:
                return item["item_id"], variant["item_id"]
    return None


def valid_arguments(tau: TaubenchData) -> dict[str, Record]:
    """Arguments each tool would accept on the tau-bench data (none is run here)."""
    user_id, user = next(iter(tau.users.items()))
    pending = _first(tau, "pending", swappable=True)
    delivered = _first(tau, "delivered", swappable=True)
    processed = _first(tau, "processed")
    pending_swap, delivered_swap = _swap(tau, pending), _swap(tau, delivered)
    assert pending_swap is not None and delivered_swap is not None
    pending_method = pending["payment_history"][0]["payment_method_id"]
    other_method = next(
        m for m in tau.users[pending["user_id"]]["payment_methods"] if m != pending_method
    )
    delivered_method = delivered["payment_history"][0]["payment_method_id"]
    return {
        "find_user_id_by_email": {"email": user["email"]},
        "find_user_id_by_name_zip": {**user["name"], "zip": user["address"]["zip"]},
        "get_user_details": {"user_id": user_id},
        "get_order_details": {"order_id": pending["order_id"]},
        "get_product_details": {"product_id": next(iter(tau.products))},
        "list_all_product_types": {},
        "calculate": {"expression": "(54.04 - 12.5) * 2"},
        "search_knowledge": {"query": "how long does a refund take"},
        "cancel_pending_order": {"order_id": pending["order_id"], "reason": "no longer needed"},
        "modify_pending_order_address": {"order_id": pending["order_id"], **ADDRESS},
        "modify_pending_order_payment": {
            "order_id": pending["order_id"],
            "payment_method_id": other_method,
        },
        "modify_pending_order_items": {
            "order_id": pending["order_id"],
            "item_ids": [pending_swap[0]],
            "new_item_ids": [pending_swap[1]],
            "payment_method_id": pending_method,
        },
        "return_delivered_order_items": {
            "order_id": delivered["order_id"],
            "item_ids": [delivered_swap[0]],
            "payment_method_id": delivered_method,
        },
        "exchange_delivered_order_items": {
            "order_id": delivered["order_id"],
            "item_ids": [delivered_swap[0]],
            "new_item_ids": [delivered_swap[1]],
            "payment_method_id": delivered_method,
        },
        "modify_user_address": {"user_id": user_id, **ADDRESS},
        "transfer_to_human_agents": {"summary": "The customer asks for a manager."},
        "track_shipment": {"order_id": processed["order_id"]},
        "reroute_shipment": {
            "order_id": processed["order_id"],
            "tracking_id": processed["fulfillments"][0]["tracking_id"][0],
            **ADDRESS,
        },
        "get_refund_status": {"order_id": processed["order_id"]},
    }


@pytest.fixture(scope="module")
def valid(tau: TaubenchData) -> dict[str, Record]:
    return valid_arguments(tau)


def test_the_valid_arguments_cover_every_tool_and_validate(valid: dict[str, Record]) -> None:
    assert set(valid) == set(REGISTRY.names)
    for name, arguments in valid.items():
        REGISTRY.validate(name, arguments)


# --- field by field ---------------------------------------------------------------------------

# A plausible but missing value per id-like field, and the error it must produce.
UNKNOWN_IDS: dict[str, tuple[Any, str]] = {
    "order_id": ("#W0000000", "order_not_found"),
    "user_id": ("nobody_0000", "user_not_found"),
    "product_id": ("0000000000", "product_not_found"),
    "payment_method_id": ("credit_card_0000000", "payment_method_not_found"),
    "item_ids": (["0000000000"], "item_not_found"),
    "new_item_ids": (["0000000000"], "variant_unavailable"),
    "tracking_id": ("000000000000", "shipment_not_found"),
    "email": ("nobody@example.com", "user_not_found"),
}
NAME_ZIP_UNKNOWN = {"first_name": "Nobody", "last_name": "Nobody", "zip": "00000"}


def bad_values(kind: str, field: str, spec: Record) -> list[Any]:
    """The bad values of ``kind`` for one field (empty when the kind does not apply)."""
    listed = is_list(spec)
    if kind == "wrong_type":
        return ["1234567890", 12, {"id": "x"}] if listed else [12345, ["x"], {"id": "x"}, True, 1.5]
    if kind == "null":
        return [] if field in MAY_BE_NULL else [None]
    if kind == "empty":
        return [[], [""]] if listed else ([] if field in MAY_BE_BLANK else [""])
    if kind == "whitespace":
        return [[" \t "]] if listed else ([] if field in MAY_BE_BLANK else ["   ", "\n\t "])
    if kind == "oversized":
        return [["9" * HUGE]] if listed else ["x" * HUGE]
    if kind == "huge_list":
        return [["1234567890"] * HUGE] if listed else [["x"] * HUGE]
    raise AssertionError(kind)


KINDS = ["wrong_type", "null", "empty", "whitespace", "oversized", "huge_list"]
CASES = [
    pytest.param(name, kind, id=f"{name}-{kind}")
    for name in REGISTRY.names
    for kind in KINDS
    if any(bad_values(kind, field, spec) for field, spec in properties(name).items())
]


def assert_refused(result: ToolResult) -> ToolError:
    assert result.output is None
    assert result.error is not None, f"{result.tool} accepted {result.arguments}"
    assert result.error.message.strip()
    json.loads(result.content())
    return result.error


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_bad_field_values_are_invalid_arguments(
    shared_backend: SqlBackend, valid: dict[str, Record], name: str, kind: str
) -> None:
    ctx = ToolContext(shared_backend)
    for field, spec in properties(name).items():
        for value in bad_values(kind, field, spec):
            result = REGISTRY.invoke(name, {**valid[name], field: value}, ctx)

            error = assert_refused(result)
            assert error.code == "invalid_arguments", (field, error)
            assert error.field is not None
            assert error.field.split(".")[0] == field, (field, error)
            assert field in error.message
            assert len(error.message) < 2_000  # the model reads it: no echo of huge input


@pytest.mark.parametrize(
    "name", [n for n in REGISTRY.names if set(properties(n)) & set(UNKNOWN_IDS)]
)
def test_unknown_ids_are_not_found(
    shared_backend: SqlBackend, valid: dict[str, Record], name: str
) -> None:
    ctx = ToolContext(shared_backend)
    for field in set(properties(name)) & set(UNKNOWN_IDS):
        value, code = UNKNOWN_IDS[field]
        result = REGISTRY.invoke(name, {**valid[name], field: value}, ctx)

        error = assert_refused(result)
        assert error.code == code, (field, error)
        assert error.field == field


@pytest.mark.parametrize("field", sorted(NAME_ZIP_UNKNOWN))
def test_unknown_name_or_zip_is_user_not_found(
    shared_backend: SqlBackend, valid: dict[str, Record], field: str
) -> None:
    arguments = {**valid["find_user_id_by_name_zip"], field: NAME_ZIP_UNKNOWN[field]}

    result = REGISTRY.invoke("find_user_id_by_name_zip", arguments, ToolContext(shared_backend))

    assert assert_refused(result).code == "user_not_found"


@pytest.mark.parametrize("name", REGISTRY.names)
@pytest.mark.parametrize(
    "arguments",
    [["order_id"], "order_id=#W1", '{"order_id": ', "null", 7],
    ids=["list", "text", "truncated-json", "json-null", "int"],
)
def test_arguments_that_are_not_an_object(
    shared_backend: SqlBackend, name: str, arguments: Any
) -> None:
    result = REGISTRY.invoke(name, arguments, ToolContext(shared_backend))

    assert assert_refused(result).code == "invalid_arguments"


@pytest.mark.parametrize("name", REGISTRY.names)
def test_an_extra_field_is_named(
    shared_backend: SqlBackend, valid: dict[str, Record], name: str
) -> None:
    arguments = {**valid[name], "confirm": "yes"}

    error = assert_refused(REGISTRY.invoke(name, arguments, ToolContext(shared_backend)))

    assert (error.code, error.field) == ("invalid_arguments", "confirm")


@pytest.mark.parametrize(
    "expression",
    ["9" * 29, "1" + "0" * 400 + ".0", "99999999999999 * 99999999999999 * 99999999999999"],
    ids=["29-digits", "float-overflow", "huge-product"],
)
def test_calculate_with_huge_numbers_is_an_error_value(
    shared_backend: SqlBackend, expression: str
) -> None:
    result = REGISTRY.invoke("calculate", {"expression": expression}, ToolContext(shared_backend))

    assert assert_refused(result).code == "invalid_expression"


# --- database limits, on both databases --------------------------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def template(
    request: pytest.FixtureRequest, tau: TaubenchData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseCopies]:
    if request.param == "postgres":
        base: str | Path = request.getfixturevalue("postgres").url
    else:
        base = tmp_path_factory.mktemp("bad-input-template")
    copies = DatabaseCopies(base, retail_metadata, prefix="bad_input")
    copies.prepare(lambda backend: load_taubench(backend, tau))
    yield copies
    copies.close()


@pytest.fixture
def backend(template: DatabaseCopies) -> Iterator[SqlBackend]:
    url = template.copy()
    backend = open_retail_backend(url, create=False)
    yield backend
    backend.dispose()
    template.discard(url)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("find_user_id_by_email", "email"),
        ("get_order_details", "order_id"),
        ("modify_user_address", "city"),
    ],
)
def test_a_nul_character_is_a_value_not_a_crash(
    request: pytest.FixtureRequest,
    backend: SqlBackend,
    valid: dict[str, Record],
    name: str,
    field: str,
) -> None:
    arguments = {**valid[name], field: f"{valid[name][field]}\x00"}

    result = REGISTRY.invoke(name, arguments, ToolContext(backend))

    if result.error is not None:
        assert result.error.code in {"invalid_arguments", "user_not_found", "order_not_found"}
    else:  # accepted: then stored exactly as given
        assert result.payload()["address"][field] == arguments[field]


@pytest.mark.parametrize(
    "name", ["modify_user_address", "modify_pending_order_address", "reroute_shipment"]
)
def test_address_fields_at_their_schema_maximum_are_stored(
    request: pytest.FixtureRequest, backend: SqlBackend, valid: dict[str, Record], name: str
) -> None:
    longest = {field: field[0] * properties(name)[field]["maxLength"] for field in ADDRESS}

    result = REGISTRY.invoke(name, {**valid[name], **longest}, ToolContext(backend))

    assert result.error is None, result.payload()
    payload = result.payload()
    assert payload.get("address", payload.get("ship_to")) == longest


# --- random calls -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_backend(
    tau: TaubenchData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlBackend]:
    backend = _load(tmp_path_factory.mktemp("fuzz") / "retail.db", tau)
    yield backend
    backend.dispose()


def _pools(tau: TaubenchData) -> dict[str, list[Any]]:
    orders = list(tau.orders.values())
    item_ids = sorted({item["item_id"] for order in orders for item in order["items"]})
    users = list(tau.users.values())[:100]
    return {
        "order_id": [o["order_id"] for o in orders[:200]],
        "user_id": list(tau.users)[:100],
        "product_id": list(tau.products),
        "payment_method_id": [
            m for u in list(tau.users.values())[:100] for m in u["payment_methods"]
        ],
        "item_ids": item_ids[:300],
        "email": [u["email"] for u in users],
        "first_name": [u["name"]["first_name"] for u in users],
        "last_name": [u["name"]["last_name"] for u in users],
        "zip": [u["address"]["zip"] for u in users],
        "tracking_id": [
            t for o in orders[:100] for f in o["fulfillments"] for t in f["tracking_id"]
        ],
        "reason": ["no longer needed", "ordered by mistake", "other"],
    }


def _number() -> st.SearchStrategy[str]:
    return st.decimals(min_value=-999_999, max_value=999_999, places=2).map(str)


# Arithmetic whose values stay within 28 significant digits (see the huge-numbers test above).
EXPRESSIONS = st.recursive(
    _number(),
    lambda inner: st.tuples(inner, st.sampled_from("+-*/"), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    ),
    max_leaves=3,
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.lists(st.one_of(st.text(max_size=12), st.integers()), max_size=4),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)


@st.composite
def random_calls(draw: st.DrawFn, pools: dict[str, list[Any]]) -> tuple[str, Any, str | None]:
    name = draw(st.sampled_from([*REGISTRY.names, "delete_all_orders"]))
    fields = properties(name) if name in REGISTRY else {"order_id": {"type": "string"}}
    # Half the calls are well-formed, so that they get past validation into the tools.
    well_formed = draw(st.booleans())
    arguments: Record = {}
    for field, spec in fields.items():
        pool = pools.get("item_ids" if field == "new_item_ids" else field)
        if field == "expression":
            plausible: st.SearchStrategy[Any] = EXPRESSIONS
        elif pool and is_list(spec):
            plausible = st.lists(st.sampled_from(pool), min_size=1, max_size=3)
        elif pool:
            plausible = st.sampled_from(pool)
        else:
            plausible = st.sampled_from([*ADDRESS.values(), "A new summary."])
        choice = (
            "plausible" if well_formed else draw(st.sampled_from(["plausible", "junk", "absent"]))
        )
        if choice == "plausible":
            arguments[field] = draw(plausible)
        elif choice == "junk":
            arguments[field] = draw(JUNK)
    if not well_formed and draw(st.booleans()):
        arguments[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
    form = draw(st.sampled_from(["object", "json"] if well_formed else ["object", "json", "other"]))
    if form == "json":
        payload: Any = json.dumps(arguments)
    elif form == "other":
        payload = draw(JUNK)
    else:
        payload = arguments
    key = draw(st.sampled_from([None, None, "k-1", "k-2"]))
    return name, payload, key


@pytest.fixture(scope="module")
def pools(tau: TaubenchData) -> dict[str, list[Any]]:
    return _pools(tau)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_calls_never_raise(
    fuzz_backend: SqlBackend, pools: dict[str, list[Any]], data: st.DataObject
) -> None:
    name, arguments, key = data.draw(random_calls(pools), label="call")

    result = REGISTRY.invoke(name, arguments, ToolContext(fuzz_backend, idempotency_key=key))

    event("ok" if result.error is None else result.error.code)
    assert (result.output is None) != (result.error is None)
    assert isinstance(json.loads(result.content()), dict)
    if result.error is not None:
        assert result.error.code and result.error.message
        if name not in REGISTRY:
            assert result.error.code in {"unknown_tool", "invalid_arguments"}
    else:
        assert result.effect == REGISTRY.get(name).effect
