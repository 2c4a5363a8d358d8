"""Deterministic demo data for the retail database: a catalogue, customers and their orders.

:func:`seed_demo` fills an empty store with data that looks like a real shop's and obeys the
same rules as the tools: a cancelled order carries its refunds, an exchange names other
variants of the same products, a shipment in transit has carrier scans up to where it is.
Everything comes from one ``random.Random(seed)`` and a fixed clock, so the same arguments
always give the same database.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text

from tools._money import to_money
from tools._sql import SqlBackend
from tools.errors import ToolConfigError
from tools.retail._inputs import CANCEL_REASONS
from tools.retail._records import ORDER_STATUSES
from tools.retail._schema import (
    Fulfilment,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentTransaction,
    Product,
    ShipmentEvent,
    User,
    Variant,
)

__all__ = ["DEMO_NOW", "MAX_CUSTOMERS", "MAX_ORDERS", "SeedSummary", "seed_demo"]

DEMO_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
"""The fixed "now" of the demo data: every generated timestamp lies before it."""

MAX_CUSTOMERS = 100_000
MAX_ORDERS = 1_000_000

Row = dict[str, Any]
# (payment or refund, amount, payment method id, seconds after the order was placed)
_Payment = tuple[str, Decimal, str, int]
# (when, status, "City, ST", what happened)
_Scan = tuple[datetime, str, str, str]
# (option name, values from cheapest up, price step in percent of the base per value).
_Dim = tuple[str, tuple[str, ...], int]
_SIZES = ("7", "8", "9", "10", "11", "12")
_CLOTHING = ("S", "M", "L", "XL")

# (name, base price in cents, option dimensions)
_CATALOGUE: tuple[tuple[str, int, tuple[_Dim, ...]], ...] = (
    ("T-Shirt", 2499, (("color", ("white", "black", "navy", "heather grey", "olive"), 0),
                       ("size", (*_CLOTHING, "XXL"), 3),
                       ("material", ("cotton", "organic cotton", "polyester blend"), 12),
                       ("style", ("crew neck", "v-neck"), 0))),
    ("Mechanical Keyboard", 8999, (("switch type", ("linear", "tactile", "clicky"), 4),
                                   ("backlight", ("none", "white", "RGB"), 12),
                                   ("size", ("60%", "80%", "full size"), 10))),
    ("Smart Thermostat", 12999, (("compatibility", ("Google Assistant", "Amazon Alexa",
                                                    "Apple HomeKit"), 5),
                                 ("color", ("white", "black", "stainless steel"), 4))),
    ("Running Shoes", 8999, (("size", _SIZES, 0), ("color", ("black", "white", "red", "blue"), 0),
                             ("material", ("mesh", "knit", "leather"), 10),
                             ("sole", ("rubber", "EVA", "carbon plate"), 25))),
    ("Water Bottle", 1999, (("capacity", ("500ml", "750ml", "1000ml"), 15),
                            ("material", ("plastic", "stainless steel", "glass"), 30),
                            ("color", ("black", "blue", "green", "red"), 0))),
    ("Office Chair", 19999, (("material", ("mesh", "fabric", "leather"), 20),
                             ("color", ("black", "gray", "blue"), 0),
                             ("armrest", ("none", "fixed", "adjustable"), 10),
                             ("backrest height", ("standard", "high-back"), 12))),
    ("Laptop", 79999, (("screen size", ("13-inch", "15-inch", "16-inch"), 12),
                       ("processor", ("i5", "i7", "i9"), 20), ("ram", ("8GB", "16GB", "32GB"), 10),
                       ("storage", ("256GB SSD", "512GB SSD", "1TB SSD"), 8))),
    ("Headphones", 7999, (("type", ("in-ear", "on-ear", "over-ear"), 15),
                          ("connectivity", ("wired", "wireless"), 40),
                          ("noise cancelling", ("no", "yes"), 45),
                          ("color", ("black", "white", "blue"), 0))),
    ("Backpack", 4999, (("color", ("black", "grey", "navy", "green"), 0),
                        ("size", ("small", "medium", "large"), 12),
                        ("material", ("polyester", "nylon", "leather"), 30),
                        ("compartment", ("laptop", "hydration", "camera"), 8))),
    ("Desk Lamp", 3999, (("color", ("black", "white", "silver"), 0),
                         ("brightness", ("low", "medium", "high"), 12),
                         ("power source", ("USB", "AC adapter", "battery"), 8))),
    ("Coffee Maker", 5999, (("color", ("black", "white", "stainless steel"), 5),
                            ("capacity", ("1 cup", "4 cups", "8 cups", "12 cups"), 10),
                            ("type", ("french press", "pour over", "drip", "espresso"), 15),
                            ("features", ("auto shutoff", "timer", "built-in grinder"), 15))),
    ("Yoga Mat", 2999, (("thickness", ("4mm", "6mm", "8mm"), 12),
                        ("material", ("PVC", "TPE", "natural rubber"), 25),
                        ("color", ("purple", "blue", "green", "black"), 0))),
    ("Smartphone", 49999, (("color", ("black", "silver", "gold", "blue"), 0),
                           ("storage", ("128GB", "256GB", "512GB"), 15),
                           ("RAM", ("6GB", "8GB", "12GB"), 8),
                           ("screen size", ("6.1-inch", "6.7-inch"), 12))),
    ("Bluetooth Speaker", 5999, (("color", ("black", "blue", "red", "green"), 0),
                                 ("battery life", ("10 hours", "20 hours", "30 hours"), 15),
                                 ("water resistance", ("no", "IPX5", "IPX7"), 10))),
    ("Gaming Mouse", 3999, (("color", ("black", "white", "RGB"), 5),
                            ("sensor type", ("optical", "laser"), 12),
                            ("connectivity", ("wired", "wireless"), 35))),
    ("Action Camera", 24999, (("resolution", ("1080p", "4K", "5K"), 25),
                              ("waterproof", ("no", "yes"), 10),
                              ("color", ("black", "silver"), 0))),
    ("Garden Hose", 2999, (("length", ("25ft", "50ft", "100ft"), 35),
                           ("material", ("vinyl", "rubber", "latex"), 20),
                           ("color", ("green", "blue", "black"), 0))),
    ("Hiking Boots", 12999, (("size", _SIZES, 0),
                             ("material", ("synthetic", "suede", "leather"), 15),
                             ("waterproof", ("no", "yes"), 18))),
    ("Tablet", 32999, (("screen size", ("8-inch", "10-inch", "12-inch"), 15),
                       ("storage", ("64GB", "128GB", "256GB"), 12),
                       ("color", ("black", "silver", "gold"), 0),
                       ("connectivity", ("Wi-Fi", "Wi-Fi + cellular"), 25))),
    ("E-Reader", 10999, (("screen size", ("6-inch", "7-inch", "8-inch"), 15),
                         ("connectivity", ("Wi-Fi", "Wi-Fi + cellular"), 30),
                         ("storage", ("8GB", "16GB", "32GB"), 8))),
    ("Portable Charger", 2999, (("capacity", ("5000mAh", "10000mAh", "20000mAh"), 30),
                                ("output", ("USB-A", "USB-C", "wireless"), 12),
                                ("color", ("black", "white", "blue"), 0))),
    ("Indoor Security Camera", 7999, (("resolution", ("1080p", "2K", "4K"), 20),
                                      ("field of view", ("110 degrees", "130 degrees",
                                                         "160 degrees"), 8),
                                      ("connectivity", ("Wi-Fi", "Ethernet"), 5))),
    ("Electric Kettle", 3999, (("capacity", ("1L", "1.5L", "2L"), 10),
                               ("material", ("plastic", "stainless steel", "glass"), 15),
                               ("color", ("white", "black", "silver"), 0))),
    ("Wireless Earbuds", 7999, (("color", ("black", "white", "blue"), 0),
                                ("battery life", ("4 hours", "6 hours", "8 hours"), 12),
                                ("water resistance", ("not resistant", "IPX4", "IPX7"), 10))),
    ("Fleece Jacket", 5999, (("size", _CLOTHING, 3), ("color", ("black", "navy", "red", "grey"), 0),
                             ("zipper", ("half", "full"), 10))),
    ("Wall Clock", 2999, (("diameter", ("10 inches", "12 inches", "14 inches"), 15),
                          ("color", ("white", "black", "wood"), 5),
                          ("type", ("analog", "digital"), 10))),
    ("Dumbbell Set", 14999, (("weight range", ("5-25 lbs", "30-50 lbs", "55-75 lbs"), 40),
                             ("material", ("iron", "rubber", "urethane"), 15),
                             ("set type", ("fixed", "adjustable"), 45))),
    ("Pet Bed", 4999, (("size", ("small", "medium", "large"), 25),
                       ("material", ("polyester", "fleece", "memory foam"), 20),
                       ("color", ("beige", "grey", "brown"), 0))),
    ("Espresso Machine", 29999, (("pressure", ("9 bar", "15 bar", "19 bar"), 15),
                                 ("capacity", ("1L", "1.5L", "2L"), 8),
                                 ("type", ("manual", "capsule", "automatic"), 35))),
    ("Cycling Helmet", 6999, (("size", ("S", "M", "L"), 0),
                              ("color", ("black", "white", "red", "blue"), 0),
                              ("ventilation", ("low", "medium", "high"), 15))),
    ("LED Light Bulb", 1299, (("brightness", ("60W equivalent", "75W equivalent",
                                              "100W equivalent"), 12),
                              ("color temperature", ("warm white", "daylight", "tunable"), 15),
                              ("connectivity", ("none", "Bluetooth", "Wi-Fi"), 40))),
    ("Digital Camera", 59999, (("resolution", ("20MP", "24MP", "30MP"), 20),
                               ("zoom", ("3x", "5x", "10x"), 15),
                               ("storage", ("SD card", "CF card"), 5))),
    ("Bookshelf", 12999, (("material", ("wood", "metal", "glass"), 18),
                          ("color", ("white", "black", "brown"), 0),
                          ("height", ("3 ft", "4 ft", "5 ft", "6 ft"), 12))),
    ("Bicycle", 54999, (("frame size", ("small", "medium", "large"), 3),
                        ("color", ("black", "red", "green", "blue"), 0),
                        ("type", ("hybrid", "road", "mountain"), 15))),
    ("Sneakers", 7999, (("size", _SIZES, 0), ("color", ("white", "black", "grey", "red"), 0),
                        ("material", ("canvas", "synthetic", "leather"), 25))),
    ("Smart Watch", 24999, (("color", ("black", "silver", "gold"), 5),
                            ("band material", ("silicone", "leather", "metal"), 12),
                            ("display", ("LCD", "AMOLED"), 15))),
    ("Tea Kettle", 3999, (("material", ("stainless steel", "enamel", "glass"), 15),
                          ("capacity", ("1 liter", "1.5 liters", "2 liters"), 8),
                          ("stovetop compatibility", ("gas", "electric", "induction"), 8))),
    ("Luggage Set", 19999, (("piece count", ("2-piece", "3-piece", "4-piece"), 25),
                            ("color", ("black", "silver", "blue", "red"), 0),
                            ("material", ("softshell", "hardshell"), 20))),
    ("Patio Umbrella", 9999, (("size", ("6 ft", "7.5 ft", "9 ft"), 20),
                              ("color", ("blue", "red", "green", "beige"), 0),
                              ("material", ("polyester", "olefin", "sunbrella"), 20),
                              ("tilt mechanism", ("manual tilt", "auto tilt"), 12))),
    ("Air Purifier", 17999, (("room size", ("small", "medium", "large"), 25),
                             ("filter type", ("HEPA", "carbon", "ionic"), 8),
                             ("features", ("quiet operation", "night mode", "smart sensors"), 10))),
    ("Skateboard", 7999, (("deck material", ("plastic", "maple", "bamboo"), 10),
                          ("length", ("28 inch", "31 inch", "34 inch"), 8),
                          ("design", ("plain", "graphic", "custom"), 15))),
    ("Jigsaw Puzzle", 1999, (("pieces", ("500", "1000", "1500", "2000"), 15),
                             ("theme", ("animals", "landscape", "art", "fantasy"), 0),
                             ("difficulty level", ("beginner", "intermediate", "expert"), 5))),
    ("Grill", 29999, (("type", ("charcoal", "gas", "electric"), 25),
                      ("size", ("portable", "medium", "large"), 30),
                      ("features", ("none", "side burner", "rotisserie"), 10))),
    ("Vacuum Cleaner", 14999, (("type", ("stick", "upright", "canister", "robotic"), 25),
                               ("bagged/bagless", ("bagged", "bagless"), 5),
                               ("features", ("corded", "cordless", "pet hair removal"), 12))),
    ("Perfume", 5999, (("scent family", ("fresh", "floral", "woody", "oriental"), 3),
                       ("size", ("30ml", "50ml", "100ml"), 35),
                       ("gender", ("men", "women", "unisex"), 0))),
    ("Cookware Set", 12999, (("material", ("nonstick", "stainless steel", "cast iron",
                                           "copper"), 20),
                             ("piece count", ("5-piece", "8-piece", "12-piece"), 25),
                             ("color", ("black", "silver", "red"), 0))),
    ("Standing Desk", 34999, (("width", ("48 inches", "60 inches", "72 inches"), 12),
                              ("frame", ("single motor", "dual motor"), 25),
                              ("top color", ("walnut", "oak", "white", "black"), 0))),
    ("Monitor", 22999, (("screen size", ("24-inch", "27-inch", "32-inch"), 25),
                        ("resolution", ("1080p", "1440p", "4K"), 30),
                        ("refresh rate", ("60Hz", "144Hz", "240Hz"), 18))),
    ("Blender", 6999, (("capacity", ("32 oz", "48 oz", "64 oz"), 10),
                       ("motor power", ("600W", "1000W", "1500W"), 25),
                       ("color", ("black", "red", "silver"), 0))),
    ("Sleeping Bag", 7999, (("temperature rating", ("50F", "30F", "15F", "0F"), 18),
                            ("fill", ("synthetic", "down"), 45), ("size", ("regular", "long"), 8))),
    ("Rain Jacket", 8999, (("size", _CLOTHING, 3),
                           ("color", ("yellow", "black", "navy", "green"), 0),
                           ("waterproof rating", ("10K", "20K"), 25))),
    ("Air Fryer", 8999, (("capacity", ("2 qt", "4 qt", "6 qt", "8 qt"), 12),
                         ("color", ("black", "white", "stainless steel"), 4),
                         ("features", ("basic", "dual basket", "rotisserie"), 20))),
    ("Smart Doorbell", 12999, (("resolution", ("1080p", "2K"), 20),
                               ("power source", ("battery", "wired"), 5),
                               ("color", ("black", "satin nickel", "bronze"), 3))),
    ("Electric Toothbrush", 4999, (("color", ("white", "black", "pink", "blue"), 0),
                                   ("speed settings", ("low", "high", "sonic"), 20),
                                   ("battery type", ("AA batteries", "rechargeable"), 25))),
    ("Sunglasses", 9999, (("frame color", ("black", "tortoise", "gold", "silver"), 0),
                          ("lens color", ("grey", "green", "brown", "blue"), 0),
                          ("lens type", ("non-polarized", "polarized"), 30),
                          ("frame material", ("plastic", "metal", "titanium"), 25))),
    ("Wristwatch", 19999, (("strap material", ("silicone", "leather", "metal"), 20),
                           ("dial color", ("black", "white", "blue"), 0),
                           ("movement", ("quartz", "automatic"), 80))),
)  # fmt: skip

_FIRST_NAMES = (
    "Sofia", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Ava", "Ethan", "Mia", "Lucas",
    "Isabella", "Mason", "Amelia", "Elijah", "Harper", "James", "Evelyn", "Aiden", "Abigail",
    "Daniel", "Emily", "Omar", "Fatima", "Yusuf", "Aisha", "Raj", "Priya", "Arjun", "Ananya",
    "Wei", "Mei", "Hiro", "Yuki", "Kenji", "Jae", "Minji", "Mohamed", "Layla", "Ivan", "Olga",
    "Dmitri", "Anya", "Kwame", "Amara", "Chidi", "Zara", "Diego", "Lucia", "Carlos",
    "Valentina", "Javier", "Camila", "Luca", "Giulia", "Pierre", "Chloe", "Hannah", "Lena",
    "Finn", "Freya", "Grace", "Samuel", "Nora", "Leo", "Maya", "Isaac", "Ruth", "Malik",
)  # fmt: skip
_LAST_NAMES = (
    "Garcia", "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Kim", "Patel", "Shah", "Khan", "Ali", "Chen",
    "Wang", "Li", "Zhang", "Tanaka", "Sato", "Kowalski", "Novak", "Ivanov", "Silva", "Santos",
    "Rossi", "Muller", "Schmidt", "Dubois", "Okafor", "Mensah", "Cohen", "Murphy", "Sullivan",
)  # fmt: skip
_STREETS = (
    "Main Street", "Oak Avenue", "Maple Drive", "Cedar Street", "Pine Lane", "Elm Street",
    "Sunset Drive", "River Road", "Hillcrest Drive", "Willow Lane", "Highland Avenue",
    "Chestnut Street", "Lincoln Avenue", "Broadway", "Spruce Street", "Walnut Street",
    "Jefferson Street", "Franklin Avenue", "Lakeview Drive", "Meadow Lane", "Forest Avenue",
    "Madison Avenue", "Church Street", "Valley Road", "Ridge Road", "Cherry Lane", "Birch Court",
    "Aspen Way", "Magnolia Drive", "Dogwood Lane", "Prospect Street", "Mill Road", "Union Street",
)  # fmt: skip
# (city, state, first zip, last zip): zips are drawn from the city's own ZIP block.
_CITIES = (
    ("New York", "NY", 10001, 10040), ("Brooklyn", "NY", 11201, 11239),
    ("Los Angeles", "CA", 90001, 90068), ("San Francisco", "CA", 94102, 94134),
    ("San Diego", "CA", 92101, 92130), ("San Jose", "CA", 95110, 95139),
    ("Seattle", "WA", 98101, 98126), ("Portland", "OR", 97201, 97236),
    ("Denver", "CO", 80202, 80239), ("Phoenix", "AZ", 85003, 85051),
    ("Las Vegas", "NV", 89101, 89149), ("Salt Lake City", "UT", 84101, 84121),
    ("Dallas", "TX", 75201, 75254), ("Houston", "TX", 77002, 77099),
    ("Austin", "TX", 78701, 78759), ("San Antonio", "TX", 78201, 78260),
    ("Chicago", "IL", 60601, 60661), ("Minneapolis", "MN", 55401, 55419),
    ("Detroit", "MI", 48201, 48239), ("Columbus", "OH", 43201, 43235),
    ("Indianapolis", "IN", 46201, 46260), ("Nashville", "TN", 37201, 37221),
    ("Atlanta", "GA", 30303, 30350), ("Miami", "FL", 33125, 33186),
    ("Orlando", "FL", 32801, 32839), ("Charlotte", "NC", 28202, 28280),
    ("Raleigh", "NC", 27601, 27617), ("Washington", "DC", 20001, 20037),
    ("Philadelphia", "PA", 19102, 19154), ("Pittsburgh", "PA", 15201, 15239),
    ("Boston", "MA", 2108, 2137), ("Baltimore", "MD", 21201, 21239),
    ("Kansas City", "MO", 64105, 64157), ("New Orleans", "LA", 70112, 70131),
)  # fmt: skip
_WAREHOUSES = (
    "Reno, NV", "Columbus, OH", "Allentown, PA", "Jacksonville, FL", "Fort Worth, TX",
    "Ontario, CA", "Kent, WA",
)  # fmt: skip
_HUBS = {
    "UPS": ("Louisville, KY", "Hodgkins, IL", "Ontario, CA", "Dallas, TX", "Atlanta, GA",
            "Philadelphia, PA", "Salt Lake City, UT"),
    "FedEx": ("Memphis, TN", "Indianapolis, IN", "Fort Worth, TX", "Oakland, CA", "Newark, NJ",
              "Hagerstown, MD", "Denver, CO"),
    "USPS": ("Jersey City, NJ", "Chicago, IL", "Atlanta, GA", "Dallas, TX", "Denver, CO",
             "Seattle, WA", "Los Angeles, CA", "Kansas City, KS"),
}  # fmt: skip
# Latitude and longitude of every place a parcel passes, to route it through nearby hubs.
_PLACES = {
    "New York, NY": (40.7, -74.0), "Brooklyn, NY": (40.7, -73.9), "Los Angeles, CA": (34.1, -118.2),
    "San Francisco, CA": (37.8, -122.4), "San Diego, CA": (32.7, -117.2),
    "San Jose, CA": (37.3, -121.9), "Seattle, WA": (47.6, -122.3), "Portland, OR": (45.5, -122.7),
    "Denver, CO": (39.7, -105.0), "Phoenix, AZ": (33.4, -112.1), "Las Vegas, NV": (36.2, -115.1),
    "Salt Lake City, UT": (40.8, -111.9), "Dallas, TX": (32.8, -96.8),
    "Houston, TX": (29.8, -95.4), "Austin, TX": (30.3, -97.7), "San Antonio, TX": (29.4, -98.5),
    "Chicago, IL": (41.9, -87.6), "Minneapolis, MN": (45.0, -93.3), "Detroit, MI": (42.3, -83.0),
    "Columbus, OH": (40.0, -83.0), "Indianapolis, IN": (39.8, -86.2),
    "Nashville, TN": (36.2, -86.8), "Atlanta, GA": (33.7, -84.4), "Miami, FL": (25.8, -80.2),
    "Orlando, FL": (28.5, -81.4), "Charlotte, NC": (35.2, -80.8), "Raleigh, NC": (35.8, -78.6),
    "Washington, DC": (38.9, -77.0), "Philadelphia, PA": (40.0, -75.2),
    "Pittsburgh, PA": (40.4, -80.0), "Boston, MA": (42.4, -71.1), "Baltimore, MD": (39.3, -76.6),
    "Kansas City, MO": (39.1, -94.6), "New Orleans, LA": (30.0, -90.1),
    "Reno, NV": (39.5, -119.8), "Allentown, PA": (40.6, -75.5), "Jacksonville, FL": (30.3, -81.7),
    "Fort Worth, TX": (32.8, -97.3), "Ontario, CA": (34.1, -117.6), "Kent, WA": (47.4, -122.2),
    "Louisville, KY": (38.2, -85.7), "Hodgkins, IL": (41.8, -87.9), "Memphis, TN": (35.1, -90.0),
    "Oakland, CA": (37.8, -122.3), "Newark, NJ": (40.7, -74.2), "Hagerstown, MD": (39.6, -77.7),
    "Jersey City, NJ": (40.7, -74.1), "Kansas City, KS": (39.1, -94.6),
}  # fmt: skip
_CARRIERS = tuple(_HUBS)
_DELIVERY_NOTES = (
    "Delivered, left at front door",
    "Delivered, handed to resident",
    "Delivered to mailroom",
    "Delivered, left at back porch",
    "Delivered to parcel locker",
)
_STATUS_WEIGHTS = {
    "pending": 30,
    "processed": 15,
    "delivered": 35,
    "cancelled": 8,
    "pending (item modified)": 4,
    "return requested": 4,
    "exchange requested": 4,
}
# Gift card balances in cents: high, low, middling. The first card of the data set gets the
# first band and the second the second, so some cards cover a typical order and some cannot.
_GIFT_CARD_BANDS = ((20_000, 40_000), (0, 2_500), (2_500, 20_000))
_IN_FLIGHT = {"label_created": 25, "in_transit": 55, "out_for_delivery": 20}
_SHIPPED = ("processed", "delivered", "return requested", "exchange requested")
_ORDERED_FROM_STOCK = ("pending", "processed", "pending (item modified)")
_HOUR = 3600
_DAY = 24 * _HOUR


@dataclass(frozen=True)
class SeedSummary:
    """What :func:`seed_demo` wrote.

    Attributes:
        seed: The random seed the data came from.
        users: Customers created.
        products: Product types in the catalogue.
        variants: Buyable items across all products.
        orders: Orders created.
        orders_by_status: Orders per status, for every status (zero included).
        gift_cards: Gift cards among the customers' payment methods.
    """

    seed: int
    users: int
    products: int
    variants: int
    orders: int
    orders_by_status: dict[str, int]
    gift_cards: int


@dataclass(frozen=True)
class _Variant:
    item_id: str
    product_id: str
    name: str
    options: dict[str, str]
    price: Decimal
    available: bool


@dataclass(frozen=True)
class _Product:
    variants: tuple[_Variant, ...]
    in_stock: tuple[_Variant, ...]


@dataclass(frozen=True)
class _Customer:
    user_id: str
    address: dict[str, str]
    methods: list[Row]


# (the item an order had, the variant of the same product it gets instead)
_Swap = tuple[_Variant, _Variant]


def _distance(a: str, b: str) -> float:
    """Rough distance in degrees between two places (longitude shrunk for US latitudes)."""
    (lat_a, lon_a), (lat_b, lon_b) = _PLACES[a], _PLACES[b]
    return math.hypot(lat_a - lat_b, (lon_a - lon_b) * 0.8)


def _difference(swaps: list[_Swap]) -> Decimal:
    return to_money(sum((new.price - old.price for old, new in swaps), Decimal(0)))


def _covering(customer: _Customer, difference: Decimal) -> list[str]:
    """The customer's payment methods that can pay ``difference`` (gift cards need the balance)."""
    return [
        m["id"]
        for m in customer.methods
        if m["source"] != "gift_card" or difference <= 0 or m["balance"] >= difference
    ]


def _cents(cents: int) -> Decimal:
    return to_money(Decimal(cents) / 100)


def _check(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ToolConfigError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def seed_demo(
    backend: SqlBackend,
    *,
    seed: int = 7,
    customers: int = 500,
    orders: int = 1000,
    now: datetime | None = None,
) -> SeedSummary:
    """Replace the database's contents with generated demo data.

    The tables are dropped and recreated, then every row goes in with bulk inserts in one
    transaction (500 customers and 1,000 orders take well under a second on SQLite).

    The catalogue is a fixed list of product types whose variants, prices and stock come from
    the seed; customers get names, US addresses and one to three payment methods; orders
    cover every status with payments, refunds, shipments and carrier scans that agree with
    what the tools would have written. The same arguments always give the same data: only
    ``random.Random(seed)`` and ``now`` are used, never the wall clock.

    Args:
        backend: The retail database (its tables are dropped and recreated).
        seed: Seed of the random generator.
        customers: How many customers to create (1 to 100,000).
        orders: How many orders to create (0 to 1,000,000); spread over random customers.
        now: The moment the data describes, timezone-aware; every timestamp lies before it.
            Defaults to :data:`DEMO_NOW`, never the wall clock.

    Returns:
        What was written.

    Raises:
        ToolConfigError: An argument is out of range or ``now`` has no timezone.
    """
    _check("customers", customers, 1, MAX_CUSTOMERS)
    _check("orders", orders, 0, MAX_ORDERS)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ToolConfigError(f"seed must be a whole number, got {seed!r}")
    anchor = DEMO_NOW if now is None else now
    if anchor.tzinfo is None:
        raise ToolConfigError("now must be timezone-aware, such as datetime(..., tzinfo=UTC)")
    builder = _Builder(random.Random(seed), anchor)
    builder.catalogue()
    builder.customers(customers)
    statuses = builder.orders(orders)
    backend.drop_schema()
    backend.create_schema()
    with backend.session() as session, session.begin():
        for model, rows in builder.tables():
            if rows:
                session.execute(insert(model), rows)
        if builder.fulfilments and backend.dialect == "postgresql":
            # Explicit ids leave the sequence behind; later inserts must not collide.
            session.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                {"table": Fulfilment.__tablename__, "last": len(builder.fulfilments)},
            )
    return SeedSummary(
        seed=seed,
        users=len(builder.users),
        products=len(builder.products),
        variants=len(builder.variants),
        orders=len(builder.order_rows),
        orders_by_status={status: statuses[status] for status in ORDER_STATUSES},
        gift_cards=sum(1 for m in builder.methods if m["source"] == "gift_card"),
    )


class _Builder:
    """Builds every table's rows from one random generator, in a fixed order."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self._taken: set[str] = set()
        self._gift_cards = 0
        self._shown_in_transit = False
        self.catalogue_by_id: dict[str, _Product] = {}
        self.catalogue_list: list[_Product] = []
        self.people: list[_Customer] = []
        self.users: list[Row] = []
        self.methods: list[Row] = []
        self.products: list[Row] = []
        self.variants: list[Row] = []
        self.order_rows: list[Row] = []
        self.items: list[Row] = []
        self.fulfilments: list[Row] = []
        self.events: list[Row] = []
        self.payments: list[Row] = []

    def tables(self) -> list[tuple[type[Any], list[Row]]]:
        """Every table's rows, parents first."""
        return [
            (User, self.users),
            (PaymentMethod, self.methods),
            (Product, self.products),
            (Variant, self.variants),
            (Order, self.order_rows),
            (OrderItem, self.items),
            (Fulfilment, self.fulfilments),
            (ShipmentEvent, self.events),
            (PaymentTransaction, self.payments),
        ]

    def _unique(self, prefix: str, digits: int, suffix: str = "") -> str:
        while True:
            number = self.rng.randint(10 ** (digits - 1), 10**digits - 1)
            candidate = f"{prefix}{number}{suffix}"
            if candidate not in self._taken:
                self._taken.add(candidate)
                return candidate

    # Catalogue ---------------------------------------------------------------------------

    def catalogue(self) -> None:
        """Create every product type with a random subset of its option combinations."""
        rng = self.rng
        for position, (name, base, dims) in enumerate(_CATALOGUE):
            product_id = self._unique("", 10)
            self.products.append({"id": product_id, "name": name, "position": position})
            combos = list(itertools.product(*(range(len(values)) for _, values, _ in dims)))
            count = min(len(combos), rng.randint(4, 15))
            chosen = sorted(rng.sample(range(len(combos)), count))
            stock = [rng.random() >= 0.15 for _ in chosen]
            sold_out = [index for index, available in enumerate(stock) if not available]
            for index in rng.sample(sold_out, max(0, 2 - sum(stock))):
                stock[index] = True  # every product keeps two variants to exchange between
            variants = []
            for variant_position, (combo_index, available) in enumerate(
                zip(chosen, stock, strict=True)
            ):
                combo = combos[combo_index]
                factor = 100 + sum(dim[2] * value for dim, value in zip(dims, combo, strict=True))
                cents = base * factor * (1000 + rng.randint(-40, 40)) // 100_000
                variant = _Variant(
                    item_id=self._unique("", 10),
                    product_id=product_id,
                    name=name,
                    options={dim[0]: dim[1][value] for dim, value in zip(dims, combo, strict=True)},
                    price=_cents(cents),
                    available=available,
                )
                variants.append(variant)
                self.variants.append(
                    {
                        "item_id": variant.item_id,
                        "product_id": product_id,
                        "options": variant.options,
                        "available": available,
                        "price": variant.price,
                        "position": variant_position,
                    }
                )
            product = _Product(tuple(variants), tuple(v for v in variants if v.available))
            self.catalogue_by_id[product_id] = product
            self.catalogue_list.append(product)

    # Customers ---------------------------------------------------------------------------

    def _address(self) -> dict[str, str]:
        rng = self.rng
        city, state, first_zip, last_zip = rng.choice(_CITIES)
        roll = rng.random()
        if roll < 0.45:
            address2 = f"Suite {rng.randint(100, 999)}"
        elif roll < 0.7:
            address2 = f"Apt {rng.randint(1, 40)}"
        else:
            address2 = ""
        return {
            "address1": f"{rng.randint(10, 9999)} {rng.choice(_STREETS)}",
            "address2": address2,
            "city": city,
            "state": state,
            "country": "USA",
            "zip": f"{rng.randint(first_zip, last_zip):05d}",
        }

    def customers(self, count: int) -> None:
        """Create ``count`` customers, each with an address and payment methods."""
        rng = self.rng
        seen: set[tuple[str, str, str]] = set()
        for position in range(count):
            while True:
                first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
                address = self._address()
                if (first, last, address["zip"]) not in seen:
                    seen.add((first, last, address["zip"]))
                    break
            user_id = self._unique(f"{first}_{last}_".lower(), 4)
            email = self._unique(f"{first}.{last}".lower(), 4, "@example.com")
            self.users.append(
                {
                    "id": user_id,
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "position": position,
                    **address,
                }
            )
            self.people.append(_Customer(user_id, address, self._payment_methods(user_id)))

    def _payment_methods(self, user_id: str) -> list[Row]:
        rng = self.rng
        limits = {"credit_card": 2, "paypal": 1, "gift_card": 1}
        wanted = rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
        methods: list[Row] = []
        while len(methods) < wanted:
            source = rng.choices(tuple(limits), weights=(45, 30, 25))[0]
            if limits[source] == 0:
                continue
            limits[source] -= 1
            row: Row = {
                "id": self._unique(f"{source}_", 7),
                "user_id": user_id,
                "source": source,
                "brand": None,
                "last_four": None,
                "balance": None,
                "position": len(methods),
            }
            if source == "credit_card":
                row["brand"] = rng.choices(
                    ("visa", "mastercard", "amex", "discover"), weights=(40, 35, 15, 10)
                )[0]
                row["last_four"] = f"{rng.randint(0, 9999):04d}"
            elif source == "gift_card":
                row["balance"] = self._gift_card_balance()
            methods.append(row)
        self.methods.extend(methods)
        return methods

    def _gift_card_balance(self) -> Decimal:
        rng = self.rng
        if self._gift_cards < len(_GIFT_CARD_BANDS):
            low, high = _GIFT_CARD_BANDS[self._gift_cards]
        else:
            low, high = rng.choices(_GIFT_CARD_BANDS, weights=(30, 35, 35))[0]
        self._gift_cards += 1
        return _cents(rng.randint(low, high))

    # Orders ------------------------------------------------------------------------------

    def orders(self, count: int) -> Counter[str]:
        """Create ``count`` orders over random customers; return how many of each status."""
        rng = self.rng
        weights = [_STATUS_WEIGHTS[status] for status in ORDER_STATUSES]
        statuses = list(ORDER_STATUSES) if count >= len(ORDER_STATUSES) else []
        statuses += rng.choices(ORDER_STATUSES, weights=weights, k=count - len(statuses))
        rng.shuffle(statuses)
        placed: list[tuple[int, datetime, Row]] = []
        for status in statuses:
            owner = rng.randrange(len(self.people))
            row = self._order(status, self.people[owner])
            placed.append((owner, row["created_at"], row))
        # A customer's orders are listed oldest first, as they were placed.
        next_position: Counter[int] = Counter()
        for owner, _, row in sorted(placed, key=lambda entry: (entry[0], entry[1], entry[2]["id"])):
            row["user_position"] = next_position[owner]
            next_position[owner] += 1
        return Counter(statuses)

    def _pick_items(self, from_stock: bool) -> list[_Variant]:
        rng = self.rng
        wanted = rng.choices((1, 2, 3, 4, 5), weights=(30, 28, 20, 13, 9))[0]
        picked: list[_Variant] = []
        while len(picked) < wanted:
            product = rng.choice(self.catalogue_list)
            variant = rng.choice(product.in_stock if from_stock else product.variants)
            if all(variant.item_id != other.item_id for other in picked):
                picked.append(variant)
        return picked

    def _swap(self, items: list[_Variant]) -> list[_Swap]:
        """Choose one or two items and, for each, another in-stock variant of its product.

        New variants are never ones the order already holds, so item ids stay unique; the
        result is empty when the order holds every in-stock variant of its products.
        """
        rng = self.rng
        wanted = 1 if len(items) == 1 or rng.random() < 0.7 else 2
        taken = {item.item_id for item in items}
        swaps: list[_Swap] = []
        for old in rng.sample(items, len(items)):
            product = self.catalogue_by_id[old.product_id]
            options = [v for v in product.in_stock if v.item_id not in taken]
            if options and len(swaps) < wanted:
                swaps.append((old, rng.choice(options)))
                taken.add(swaps[-1][1].item_id)
        return swaps

    def _order(self, status: str, customer: _Customer) -> Row:
        rng = self.rng
        order_id = self._unique("#W", 7)
        address = customer.address if rng.random() < 0.9 else self._address()
        items = self._pick_items(from_stock=status in _ORDERED_FROM_STOCK)
        swaps: list[_Swap] = []
        if status in ("pending (item modified)", "exchange requested"):
            # Draw again until the items can be swapped and, for an exchange, someone can pay
            # the difference (a gift card must cover it, as the tool checks).
            while not (swaps := self._swap(items)) or (
                status == "exchange requested" and not _covering(customer, _difference(swaps))
            ):
                items = self._pick_items(from_stock=status in _ORDERED_FROM_STOCK)
        method = rng.choice(customer.methods)
        row: Row = {
            "id": order_id,
            "user_id": customer.user_id,
            "user_position": 0,
            "status": status,
            **address,
            "created_at": None,
            "cancel_reason": None,
            "return_items": None,
            "return_payment_method_id": None,
            "exchange_items": None,
            "exchange_new_items": None,
            "exchange_payment_method_id": None,
            "exchange_price_difference": None,
        }
        total = sum((item.price for item in items), Decimal(0))
        payments: list[_Payment] = [("payment", total, method["id"], 0)]
        if status in _SHIPPED:
            destination = f"{address['city']}, {address['state']}"
            row["created_at"] = self._ship(order_id, status, items, destination)
        elif status == "pending":
            row["created_at"] = self.now - timedelta(seconds=rng.randint(15 * 60, 4 * _DAY))
        elif status == "cancelled":
            age = rng.randint(_HOUR, 120 * _DAY)
            row["created_at"] = self.now - timedelta(seconds=age)
            row["cancel_reason"] = rng.choice(CANCEL_REASONS)
            payments.append(("refund", total, method["id"], rng.randint(300, min(age - 60, _DAY))))
        else:
            row["created_at"], change = self._modify_items(items, swaps, customer)
            payments.append(change)
        if status == "return requested":
            self._request_return(row, items, customer, method)
        elif status == "exchange requested":
            self._request_exchange(row, swaps, customer, method)
        self._add_lines(row, items, payments)
        return row

    def _modify_items(
        self, items: list[_Variant], swaps: list[_Swap], customer: _Customer
    ) -> tuple[datetime, _Payment]:
        """Swap items for other variants, as modify_pending_order_items does, in place."""
        rng = self.rng
        age = rng.randint(3 * _HOUR, 5 * _DAY)
        difference = _difference(swaps)
        for old, new in swaps:
            items[items.index(old)] = new
        kind = "payment" if difference > 0 else "refund"
        paid_by = rng.choice(customer.methods)["id"]
        change = (kind, abs(difference), paid_by, rng.randint(600, age - 60))
        return self.now - timedelta(seconds=age), change

    def _request_return(
        self, row: Row, items: list[_Variant], customer: _Customer, method: Row
    ) -> None:
        rng = self.rng
        returned = rng.sample(items, rng.randint(1, len(items)))
        row["return_items"] = sorted(item.item_id for item in returned)
        gift_cards = [m["id"] for m in customer.methods if m["source"] == "gift_card"]
        to_gift_card = bool(gift_cards) and method["source"] != "gift_card"
        to_gift_card = to_gift_card and rng.random() < 0.3
        row["return_payment_method_id"] = gift_cards[0] if to_gift_card else method["id"]

    def _request_exchange(
        self, row: Row, swaps: list[_Swap], customer: _Customer, method: Row
    ) -> None:
        difference = _difference(swaps)
        row["exchange_items"] = sorted(old.item_id for old, _ in swaps)
        row["exchange_new_items"] = sorted(new.item_id for _, new in swaps)
        row["exchange_price_difference"] = difference
        covering = _covering(customer, difference)
        if method["id"] in covering and self.rng.random() < 0.7:
            row["exchange_payment_method_id"] = method["id"]
        else:
            row["exchange_payment_method_id"] = self.rng.choice(covering)

    def _add_lines(self, row: Row, items: list[_Variant], payments: list[_Payment]) -> None:
        self.order_rows.append(row)
        for position, item in enumerate(items):
            self.items.append(
                {
                    "order_id": row["id"],
                    "position": position,
                    "item_id": item.item_id,
                    "product_id": item.product_id,
                    "name": item.name,
                    "price": item.price,
                    "options": dict(item.options),
                }
            )
        for position, (kind, amount, method_id, after) in enumerate(payments):
            self.payments.append(
                {
                    "order_id": row["id"],
                    "position": position,
                    "transaction_type": kind,
                    "amount": amount,
                    "payment_method_id": method_id,
                    "created_at": row["created_at"] + timedelta(seconds=after),
                }
            )

    # Shipments ---------------------------------------------------------------------------

    def _ship(
        self, order_id: str, status: str, items: list[_Variant], destination: str
    ) -> datetime:
        """Add the order's fulfilments and scans; return when the order was placed."""
        rng = self.rng
        if status == "processed":
            target = rng.choices(tuple(_IN_FLIGHT), weights=tuple(_IN_FLIGHT.values()))[0]
            if not self._shown_in_transit:
                target, self._shown_in_transit = "in_transit", True
            parts, days_ago = [items], 20
        else:
            target = "delivered"
            split = rng.randint(1, len(items) - 1) if len(items) > 1 and rng.random() < 0.25 else 0
            parts = [items[:split], items[split:]] if split else [items]
            days_ago = rng.randint(14, 180) if status == "delivered" else rng.randint(14, 40)
        placed = self.now - timedelta(days=days_ago, seconds=rng.randint(0, _DAY))
        timelines = []
        for index, part in enumerate(parts):
            carrier = rng.choice(_CARRIERS)
            ready = placed + timedelta(seconds=rng.randint(_DAY, 3 * _DAY) if index else 0)
            timelines.append((part, carrier, self._scans(carrier, destination, target, ready)))
        # Move the story by whole days (scans keep their time of day) so that it ends before
        # now, and for a shipment still under way, shortly before now.
        limit = self.now - timedelta(minutes=10)
        last = max(scans[-1][0] for _, _, scans in timelines)
        shift = timedelta(0)
        if status == "processed" or last > limit:
            shift = timedelta(days=(limit - last) // timedelta(days=1))
        for position, (part, carrier, scans) in enumerate(timelines):
            fulfilment_id = len(self.fulfilments) + 1
            self.fulfilments.append(
                {
                    "id": fulfilment_id,
                    "order_id": order_id,
                    "position": position,
                    "tracking_ids": [self._unique("", 12)],
                    "item_ids": [item.item_id for item in part],
                    "carrier": carrier,
                    "carrier_status": target,
                    "ship_to": None,
                }
            )
            for at, scan_status, location, description in scans:
                self.events.append(
                    {
                        "fulfilment_id": fulfilment_id,
                        "at": at + shift,
                        "status": scan_status,
                        "location": location,
                        "description": description,
                    }
                )
        return placed + shift

    def _route(self, carrier: str, destination: str) -> tuple[str, list[str]]:
        """A warehouse near ``destination`` and the carrier hubs on the way, in order."""
        rng = self.rng
        origin = rng.choice(sorted(_WAREHOUSES, key=lambda w: _distance(w, destination))[:2])
        direct = _distance(origin, destination)

        def detour(hub: str) -> float:
            return _distance(origin, hub) + _distance(hub, destination) - direct

        hubs = [hub for hub in _HUBS[carrier] if detour(hub) <= 0.25 * direct + 2]
        if not hubs:
            hubs = [min(_HUBS[carrier], key=detour)]
        chosen = rng.sample(hubs, rng.randint(1, min(3, len(hubs))))
        return origin, sorted(chosen, key=lambda hub: _distance(origin, hub))

    def _scans(self, carrier: str, destination: str, target: str, ready: datetime) -> list[_Scan]:
        """The carrier's scans from label to ``target``, starting once the order is ``ready``."""
        rng = self.rng
        origin, hubs = self._route(carrier, destination)
        at = ready + timedelta(seconds=rng.randint(2 * _HOUR, 30 * _HOUR))
        scans = [(at, "label_created", origin, f"Shipping label created, {carrier} awaiting item")]
        if target == "label_created":
            return scans
        at += timedelta(seconds=rng.randint(3 * _HOUR, 20 * _HOUR))
        scans.append((at, "picked_up", origin, f"Picked up by {carrier}"))
        for hub in hubs:
            at += timedelta(seconds=rng.randint(5 * _HOUR, 26 * _HOUR))
            scans.append((at, "in_transit", hub, f"Arrived at {carrier} facility"))
            at += timedelta(seconds=rng.randint(_HOUR, 6 * _HOUR))
            scans.append((at, "in_transit", hub, f"Departed {carrier} facility"))
        if target == "in_transit":
            return scans[: rng.randint(3, len(scans))]
        at += timedelta(seconds=rng.randint(4 * _HOUR, 20 * _HOUR))
        scans.append((at, "in_transit", destination, "Arrived at local delivery facility"))
        # Out for delivery in the destination's morning (UTC offset from its longitude).
        offset = timedelta(hours=round(_PLACES[destination][1] / 15))
        local = at + offset + timedelta(hours=1)
        morning = datetime(local.year, local.month, local.day, 7, 30, tzinfo=at.tzinfo)
        morning += timedelta(seconds=rng.randint(0, 3 * _HOUR))
        if morning < local:
            morning += timedelta(days=1)
        at = morning - offset
        scans.append((at, "out_for_delivery", destination, "Out for delivery"))
        if target == "out_for_delivery":
            return scans
        at += timedelta(seconds=rng.randint(_HOUR, 8 * _HOUR))
        scans.append((at, "delivered", destination, rng.choice(_DELIVERY_NOTES)))
        return scans
