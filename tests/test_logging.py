"""Log lines about an event, a delivery or a connection carry searchable context (one
adapter), and the JSON formatter of the docs writes it."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from django.test import Client

from bento_stripe.logs import FIELDS, JsonFormatter, get_logger
from bento_stripe.processing import events as processing_events
from bento_stripe.webhooks.views import record_once

from .stripe_events import load, post

PACKAGE = Path(__file__).resolve().parent.parent / "bento_stripe"


def test_keywords_become_record_attributes(caplog):
    logger = get_logger("bento_stripe.test")
    with caplog.at_level(logging.INFO, logger="bento_stripe"):
        logger.info("hello %s", "there", account="acct_1", event="evt_1", site=3, delivery="b1")
    (record,) = caplog.records
    assert record.getMessage() == "hello there"
    assert (record.stripe_account, record.stripe_event_id, record.site_id, record.delivery_id) == (
        "acct_1",
        "evt_1",
        3,
        "b1",
    )


def test_the_json_formatter_writes_one_searchable_line():
    logger = logging.getLogger("bento_stripe.test.json")
    record = logger.makeRecord(
        logger.name, logging.WARNING, __file__, 1, "Bento POST failed: %s", ("503",), None,
        extra={"site_id": 7, "stripe_account": "acct_9"},
    )  # fmt: skip
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Bento POST failed: 503"
    assert (line["level"], line["logger"], line["site_id"], line["stripe_account"]) == (
        "WARNING",
        "bento_stripe.test.json",
        7,
        "acct_9",
    )
    assert "stripe_event_id" not in line  # only the context a line has


@pytest.mark.django_db
def test_a_failed_event_logs_its_event_and_account(account, caplog, monkeypatch):
    assert record_once(load("charge_succeeded"))
    from bento_stripe.models import StripeEventRecord

    def boom(*args, **kwargs):
        raise RuntimeError("translator broke")

    monkeypatch.setattr(processing_events, "apply", boom)
    with caplog.at_level(logging.ERROR, logger="bento_stripe"):
        processing_events.process_claimed(list(StripeEventRecord.objects.all()))
    (record,) = [r for r in caplog.records if "Processing Stripe event" in r.getMessage()]
    assert record.stripe_event_id == load("charge_succeeded")["id"]
    assert record.stripe_account == load("charge_succeeded")["account"]


@pytest.mark.django_db
def test_a_refused_webhook_logs_its_endpoint(endpoint, caplog):
    with caplog.at_level(logging.WARNING, logger="bento_stripe"):
        post(Client(), endpoint, load("charge_succeeded"), secret="whsec_not_the_right_one")
    (record,) = [r for r in caplog.records if "Refused a Stripe webhook" in r.getMessage()]
    assert record.webhook_endpoint == str(endpoint.djstripe_uuid)


def test_every_module_logs_through_the_adapter():
    direct = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(r"^logger = logging\.getLogger\(.*$", text, flags=re.M):
            direct.append(f"{path.relative_to(PACKAGE)}: {match.group(0)}")
    assert not direct, "log through bento_stripe.logs.get_logger:\n" + "\n".join(direct)
    assert set(FIELDS.values()) >= {"stripe_account", "stripe_event_id", "site_id", "delivery_id"}
