"""The money ledger: pure functions over plain inputs, plus the small models that feed them."""

from .currency import exponent, major_number, to_major
from .mrr import main_subscription, subscription_mrr
from .person import person_fields

__all__ = [
    "exponent",
    "main_subscription",
    "major_number",
    "person_fields",
    "subscription_mrr",
    "to_major",
]
