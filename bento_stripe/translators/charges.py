"""Charges, refunds and disputes: the only events that move money."""

from __future__ import annotations

from typing import Any

from ..ledger.parse import charge_email, object_id, refunded_of_captured, text
from .base import BentoEvent, TranslationContext
from .items import invoice_items
from .registry import builtin


def _charge_details(obj: dict) -> dict:
    return {
        "amount": obj.get("amount"),
        "amount_captured": obj.get("amount_captured"),
        "amount_refunded": obj.get("amount_refunded"),
        "currency": (obj.get("currency") or "").upper() or None,
        "status": obj.get("status"),
        "description": obj.get("description"),
        # Legacy API versions name the charge's invoice on the charge itself.
        "invoice": object_id(obj.get("invoice")) or None,
        "payment_intent": object_id(obj.get("payment_intent")) or None,
    }


@builtin("charge.succeeded", "charge.captured")
def charge_paid(ctx: TranslationContext) -> list[BentoEvent]:
    """A captured charge adds its amount to the person's value, once per charge."""
    row = ctx.ledger.charge(ctx.obj)
    value = ctx.ledger.emit_capture_value(row)
    extra = {"value": value, "unique_key": row.charge_id} if value else {}
    return [
        ctx.bento(
            customer=row.customer_id,
            charge_id=row.charge_id,
            email_hint=charge_email(ctx.obj),
            **_charge_details(ctx.obj),
            **invoice_items(ctx),
            **extra,
        )
    ]


@builtin("charge.failed")
def charge_failed(ctx: TranslationContext) -> list[BentoEvent]:
    """A failed charge: no money, but the person learns of it."""
    row = ctx.ledger.charge(ctx.obj)
    return [
        ctx.bento(
            customer=row.customer_id,
            charge_id=row.charge_id,
            email_hint=charge_email(ctx.obj),
            failure_code=ctx.obj.get("failure_code"),
            failure_message=ctx.obj.get("failure_message"),
            **_charge_details(ctx.obj),
            **invoice_items(ctx),
        )
    ]


@builtin("charge.refunded")
def charge_refunded(ctx: TranslationContext) -> list[BentoEvent]:
    """A refund takes off only the growth of the charge's cumulative refund of captured money."""
    row = ctx.ledger.charge(ctx.obj)
    cumulative = refunded_of_captured(ctx.obj)
    value = ctx.ledger.emit_refund_value(row, cumulative)
    extra = (
        {"value": value, "unique_key": f"{row.charge_id}:refunded:{cumulative}"} if value else {}
    )
    return [
        ctx.bento(
            customer=row.customer_id,
            charge_id=row.charge_id,
            email_hint=charge_email(ctx.obj),
            **_charge_details(ctx.obj),
            **invoice_items(ctx),
            **extra,
        )
    ]


@builtin("charge.refund.updated")
def refund_updated(ctx: TranslationContext) -> list[BentoEvent]:
    """A refund's status changed; money moves only on ``charge.refunded``."""
    charge_id = object_id(ctx.obj.get("charge"))
    row = ctx.ledger.charge_row(charge_id) if charge_id else None
    return [
        ctx.bento(
            customer=object_id(ctx.obj.get("customer")) or (row.customer_id if row else ""),
            charge_id=charge_id,
            amount=ctx.obj.get("amount"),
            currency=text(ctx.obj, "currency").upper() or None,
            status=ctx.obj.get("status"),
            reason=ctx.obj.get("reason"),
            charge=charge_id or None,
            **invoice_items(ctx),
        )
    ]


@builtin(
    "charge.dispute.created",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
def dispute(ctx: TranslationContext) -> list[BentoEvent]:
    """A dispute's news; only a lost one, when it closes, takes the disputed amount off, once.

    Funds withdrawn or reinstated while a dispute is open move no value: the outcome is
    not known yet, and counting both the withdrawal and the loss would count twice.
    """
    row = ctx.ledger.dispute(ctx.obj)
    extra: dict[str, Any] = {}
    if ctx.type == "charge.dispute.closed":
        value = ctx.ledger.emit_lost_value(row)
        if value:
            extra = {"value": value, "unique_key": f"{row.dispute_id}:lost"}
    charge = ctx.ledger.charge_row(row.charge_id)
    return [
        ctx.bento(
            customer=charge.customer_id if charge else "",
            charge_id=row.charge_id,
            amount=ctx.obj.get("amount"),
            currency=(ctx.obj.get("currency") or "").upper() or None,
            status=ctx.obj.get("status"),
            reason=ctx.obj.get("reason"),
            charge=row.charge_id or None,
            **invoice_items(ctx),
            **extra,
        )
    ]
