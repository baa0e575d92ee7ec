"""The ``stripe-app.json`` a platform uploads for Stripe App installs, derived from the code.

Stripe delivers an event to an app only with ``event_read`` plus, for each event type, one of
the permissions its reference lists (https://docs.stripe.com/stripe-apps/reference/permissions);
the app's own API calls (email and coupon lookups) need the read permission of each object
they fetch. The permissions come from the registered translators' event types, so a new
translator brings its permission (or the manifest command names the type it cannot map).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..translators.registry import registry

#: Always requested: without it no event reaches the app.
EVENT_READ = "event_read"


@dataclass(frozen=True)
class Rule:
    """Event types starting with ``prefix`` need ``permission`` (None: ``event_read`` alone)."""

    prefix: str
    permission: str | None
    purpose: str
    #: Whether a Stripe page we could read names this mapping (see the README).
    confirmed: bool = True


#: Most specific prefix first. Stripe's permission reference lists charge.* → charge_read,
#: charge.dispute.* → dispute_read, customer.* → customer_read, customer.subscription.* →
#: subscription_read, invoice.* → invoice_read, checkout.session.* → checkout_session_read,
#: and account.application.* with event_read alone.
EVENT_RULES: tuple[Rule, ...] = (
    Rule("account.application.", None, ""),
    Rule("apps.install.", None, "", confirmed=False),
    Rule(
        "charge.dispute.",
        "dispute_read",
        "Read disputes, so a lost dispute comes off a customer's lifetime value in Bento.",
    ),
    Rule(
        "charge.refund.",
        "charge_read",
        "Read refunds of charges, so refunded money comes off a customer's lifetime value.",
        confirmed=False,
    ),
    Rule(
        "charge.",
        "charge_read",
        "Read charges, to send payments to Bento and keep each customer's lifetime value.",
    ),
    Rule(
        "checkout.session.",
        "checkout_session_read",
        "Read completed Checkout sessions, to send them to Bento as events.",
    ),
    Rule(
        "customer.subscription.",
        "subscription_read",
        "Read subscriptions, to keep each customer's plan, status and MRR in Bento.",
    ),
    Rule(
        "customer.discount.",
        "customer_read",
        "Read customers' discounts, so MRR in Bento is what they really pay.",
        confirmed=False,
    ),
    Rule(
        "customer.",
        "customer_read",
        "Read customers, to find each person's email and keep their Bento fields current.",
    ),
    Rule(
        "invoice.",
        "invoice_read",
        "Read invoices, to send invoice events (paid, failed, ...) to Bento.",
    ),
    Rule(
        "product.",
        "product_read",
        "Read products, so Bento events and fields name what a customer bought.",
    ),
    Rule(
        "price.",
        "plan_read",
        "Read prices, so Bento events name each item's price, nickname and interval.",
        confirmed=False,
    ),
    Rule(
        "plan.",
        "plan_read",
        "Read plans (prices of older API versions), to name each item's plan.",
        confirmed=False,
    ),
)

#: Objects the app fetches with the install's token (held people's emails, coupons by id,
#: products and prices the catalogue does not know, checkout sessions' line items).
OBJECT_PERMISSIONS: tuple[Rule, ...] = (
    Rule("", "customer_read", "Look up a customer's email when an event does not carry it."),
    Rule("", "charge_read", "Look up the charge a refund or dispute belongs to."),
    Rule(
        "",
        "product_read",
        "Look up a product (and its prices) an event names only by id, to name it in Bento.",
    ),
    Rule(
        "",
        "plan_read",
        "Look up a price an invoice line names only by id, for its nickname and interval.",
        confirmed=False,
    ),
    Rule(
        "",
        "checkout_session_read",
        "Read a Checkout session's line items (its webhook has none), to name what was bought.",
    ),
    Rule(
        "",
        "coupon_read",
        "Read a coupon a discount names only by id, so MRR reflects it.",
        confirmed=False,
    ),
)


def rule_for(event_type: str) -> Rule | None:
    """The rule of ``event_type``, or None when no permission is known for it."""
    for rule in EVENT_RULES:
        if event_type.startswith(rule.prefix):
            return rule
    return None


def unmapped(event_types: list[str] | None = None) -> list[str]:
    """Handled event types whose permission is unknown (the manifest cannot be made then)."""
    types = registry.handled_types() if event_types is None else event_types
    return [t for t in types if rule_for(t) is None]


def permissions(event_types: list[str] | None = None) -> list[dict[str, str]]:
    """``event_read`` and one entry per permission the event types and lookups need, each with
    its purpose (the first purpose wins where two need the same permission)."""
    types = registry.handled_types() if event_types is None else event_types
    missing = unmapped(types)
    if missing:
        raise ValueError(
            "No Stripe App permission is known for the event type(s) "
            f"{', '.join(missing)}: add a rule to bento_stripe.stripe_app.manifest.EVENT_RULES."
        )
    found: dict[str, str] = {
        EVENT_READ: "Receive the Stripe events of your account that Bento turns into activity."
    }
    for event_type in types:
        rule = rule_for(event_type)
        if rule is not None and rule.permission and rule.permission not in found:
            found[rule.permission] = rule.purpose
    for rule in OBJECT_PERMISSIONS:
        found.setdefault(str(rule.permission), rule.purpose)
    return [{"permission": name, "purpose": purpose} for name, purpose in found.items()]


def build(
    *, redirect_uris: list[str], app_id: str, name: str, version: str, icon: str = ""
) -> dict:
    """The manifest: OAuth API access, public distribution, the redirect URIs, the permissions."""
    manifest: dict = {
        "id": app_id,
        "version": version,
        "name": name,
        "distribution_type": "public",
        "stripe_api_access_type": "oauth",
        "allowed_redirect_uris": list(redirect_uris),
        "permissions": permissions(),
    }
    if icon:
        manifest["icon"] = icon
    return manifest
