"""docs/reference/events.rst against the code: every translated type, every details key the
translators send, every field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bento_stripe.ledger.person import person_fields
from bento_stripe.ledger.shapes import Person
from bento_stripe.models import OutboxEvent
from bento_stripe.translators import bento_type, registry

from .stripe_events import PAYLOADS

DOC = Path(__file__).resolve().parent.parent / "docs" / "reference" / "events.rst"
#: Keys every Bento event has (documented above the tables).
COMMON = {"stripe_event_id", "stripe_account", "livemode", "object_id"}


def tables() -> list[list[list[set[str]]]]:
    """Each list-table of the page: its rows (header left out), each row's cells as the
    sets of ````literal```` names they hold."""
    found = []
    for block in re.split(r"^\.\. list-table::", DOC.read_text(), flags=re.M)[1:]:
        body = re.split(r"\n(?=\S)", block, maxsplit=1)[0]
        rows = []
        for row in re.split(r"^   \* - ", body, flags=re.M)[1:]:
            cells = re.split(r"^     - ", row, flags=re.M)
            rows.append([set(re.findall(r"``([^`]+)``", cell)) for cell in cells])
        found.append(rows[1:])
    return found


def test_every_translated_stripe_type_is_documented_once_with_its_bento_type():
    sending, silent, _ = tables()
    documented: list[str] = []
    for stripe_types, bento_types, _keys in sending:
        documented += sorted(stripe_types)
        if stripe_types:
            assert bento_types == {bento_type(t) for t in stripe_types}
        else:
            assert bento_types == {"$MrrChanged"}
    for stripe_types, _ in silent:
        documented += sorted(stripe_types)
    assert len(documented) == len(set(documented))
    assert set(documented) == set(registry.handled_types())


def test_every_field_is_documented():
    *_, fields = tables()
    names = {name for (cell, _) in fields for name in cell}
    # The fields every person carries (those of one who has nothing yet), and the
    # per-currency ones.
    assert names == {*person_fields(Person()), "lifetime_value_<ccy>", "mrr_<ccy>"}


@pytest.fixture
def documented_keys() -> dict[str, set[str]]:
    sending, _, _ = tables()
    keys: dict[str, set[str]] = {}
    for _stripe_types, bento_types, cell in sending:
        for kind in bento_types:
            keys[kind] = cell | COMMON
    return keys


def test_the_translators_send_only_documented_details_keys(
    account, deliver, no_lookup, documented_keys
):
    """Every payload of tests/payloads through the real pipeline (and a movement)."""
    payloads = [json.loads(p.read_text()) for p in sorted(PAYLOADS.glob("*.json"))]
    payloads.sort(key=lambda e: (e["created"], e["id"]))
    deliver(*payloads)
    rows = list(OutboxEvent.objects.filter(kind="event"))
    sent = {row.event_type for row in rows}
    assert {"$MrrChanged", "$InvoicePaid", "$CheckoutSessionCompleted"} <= sent
    for row in rows:
        details = set(row.payload["details"])
        assert details <= documented_keys[row.event_type], row.event_type
