"""Checks at quiet: what the Bento stand-in holds and the outbox's rows against the model."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from .bento_standin import LIMIT_PER_MINUTE, ChaosBento
from .model import Expected
from .workload import Event


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    wrong_fields: list[tuple[int, str, dict, dict | None]] = field(default_factory=list)
    wrong_events: list[str] = field(default_factory=list)
    wrong_values: list[str] = field(default_factory=list)
    forwarded_ignored: list[str] = field(default_factory=list)
    ghosts: list[tuple[int, str]] = field(default_factory=list)
    rate: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    #: (event id, type) accepted more than once: resends under the same unique.key.
    resends: int = 0
    resent_value_keys: int = 0
    extra_keys: list[tuple[int, str, str]] = field(default_factory=list)
    maybe_missing: int = 0
    optional_without_fields: int = 0
    bento_events: int = 0
    #: ``$MrrChanged`` events seen, and people whose moves do not add up to their MRR.
    movements: int = 0
    movement_sums_apart: int = 0
    #: People (not ``Expected.unchained``) whose moves do not chain from 0 to their MRR.
    broken_chains: list[str] = field(default_factory=list)
    max_per_minute: int = 0

    def failures(self) -> dict[str, int]:
        return {
            "lost": len(self.lost),
            "duplicates": len(self.duplicates),
            "wrong_fields": len(self.wrong_fields) + len(self.ghosts),
            "wrong_events": len(self.wrong_events),
            "wrong_values": len(self.wrong_values),
            "forwarded_ignored": len(self.forwarded_ignored),
            "rate_limit": len(self.rate),
            "rows": len(self.rows),
            "mrr_moves": len(self.broken_chains),
        }

    @property
    def ok(self) -> bool:
        return not any(self.failures().values())


def same(value, expected) -> bool:
    if isinstance(expected, Decimal):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return Decimal(str(value)) == expected
    return value == expected


def check(
    expected: Expected,
    bento: ChaosBento,
    site_uuids: list[str],
    accepted: set[str],
    rows: dict[str, list[tuple]],
    no_email_keys: set[str],
) -> Findings:
    f = Findings()
    site_of_uuid = {u: i for i, u in enumerate(site_uuids)}
    # --- events and values, from the requests Bento accepted ---------------------------
    seen: dict[str, set[tuple[int, str]]] = defaultdict(set)
    copies: dict[tuple[str, str], int] = defaultdict(int)
    key_values: dict[str, set[tuple[str, int]]] = defaultdict(set)
    key_count: dict[str, int] = defaultdict(int)
    #: (site, email) → Stripe event id → the $MrrChanged details (resends collapse).
    movements: dict[tuple[int, str], dict[str, dict]] = defaultdict(dict)
    for request in bento.accepted("batch/events"):
        site = site_of_uuid[request.site_uuid]
        for item in request.body["events"]:
            details = item.get("details") or {}
            event_id = details.get("stripe_event_id", "")
            if item["type"] == "$MrrChanged":
                movements[(site, item["email"])][event_id] = details
                continue
            seen[event_id].add((site, item["type"]))
            copies[(event_id, item["type"])] += 1
            value, unique = details.get("value"), details.get("unique")
            if value is not None:
                key = (unique or {}).get("key", "")
                key_values[key].add((value["currency"], value["amount"]))
                key_count[key] += 1
                if not key:
                    f.wrong_values.append(f"{event_id}: a value without unique.key")
    f.bento_events = len(seen)
    f.resends = sum(n - 1 for n in copies.values())
    f.resent_value_keys = sum(n - 1 for n in key_count.values())
    for event_id, got in seen.items():
        if event_id in expected.never:
            f.forwarded_ignored.append(f"{event_id} ({expected.never[event_id]}) reached Bento")
            continue
        want = expected.events.get(event_id)
        if want is None:
            f.wrong_events.append(f"{event_id}: not an event of the workload")
        elif len(got) > 1:
            f.duplicates.append(f"{event_id}: {sorted(got)}")
        elif got != {want}:
            f.wrong_events.append(f"{event_id}: got {sorted(got)}, want {want}")
    for event_id in expected.events:
        if event_id not in accepted:
            f.lost.append(f"{event_id}: never accepted by the webhook")
        elif event_id not in seen:
            if event_id in expected.maybe:
                f.maybe_missing += 1
            else:
                f.lost.append(f"{event_id}: no Bento event")
    totals: dict[str, tuple[str, int]] = {}
    for key, values in key_values.items():
        if len(values) > 1:
            f.wrong_values.append(f"unique.key {key} came with different values {sorted(values)}")
        if key not in expected.keys:
            f.wrong_values.append(f"unique.key {key} is not one the workload can give")
        ccy, amount = sorted(values)[0]
        obj = key.split(":", 1)[0]
        prev = totals.get(obj, (ccy, 0))
        if prev[0] != ccy:
            f.wrong_values.append(f"{obj}: values in {prev[0]} and {ccy}")
        totals[obj] = (ccy, prev[1] + amount)
    for obj, want_value in expected.values.items():
        got_value = totals.get(obj, (want_value[0], 0))
        if got_value != want_value:
            f.wrong_values.append(f"{obj}: Bento counts {got_value}, the model {want_value}")
    check_movements(f, expected, movements)
    # --- fields --------------------------------------------------------------------------
    for site, people in expected.fields.items():
        state = bento.bento(site_uuids[site]).subscribers
        for email, want in people.items():
            got = state.get(email)
            optional = email in expected.optional.get(site, set())
            if got is None or (optional and got == {}):
                # An optional person (frozen by a re-route or disconnect, email learnt by a
                # lookup) may be missing, or known to Bento by an event without fields.
                if not optional:
                    f.wrong_fields.append((site, email, want, None))
                elif got == {}:
                    f.optional_without_fields += 1
                continue
            if any(not same(got.get(k), v) for k, v in want.items()):
                f.wrong_fields.append((site, email, want, got))
            for k in set(got) - set(want):
                f.extra_keys.append((site, email, k))
        for email in expected.absent.get(site, set()):
            if email in state:
                f.ghosts.append((site, email))
        for email in set(state) - set(people) - expected.absent.get(site, set()):
            f.ghosts.append((site, email))
    # --- Bento's limit -------------------------------------------------------------------
    for uuid in site_uuids:
        for family in ("batch", "fetch"):
            most = bento.max_per_minute(uuid, family)
            f.max_per_minute = max(f.max_per_minute, most)
            if most > LIMIT_PER_MINUTE:
                f.rate.append(f"site {site_of_uuid[uuid]} {family}: {most} requests in a minute")
    if bento.breaches:
        f.rate.append(f"{bento.breaches} requests over Bento's limit were answered 429")
    # --- rows left behind ----------------------------------------------------------------
    for status in ("sending", "pending", "failed", "dead"):
        for row in rows.get(status, []):
            f.rows.append(f"outbox row {row[0]} left {status}: {row[1:]}")
    for row in rows.get("held", []):
        if row[2] not in no_email_keys:
            f.rows.append(f"outbox row {row[0]} held, but the model knows an email: {row[1:]}")
    for row in rows.get("records", []):
        f.rows.append(f"Stripe event {row[0]} left {row[1]}: {row[2][:200]}")
    return f


def _kind(previous: Decimal, now: Decimal) -> set[str]:
    if previous == 0:
        return {"new", "reactivation"}
    if now == 0:
        return {"churn"}
    return {"expansion"} if now > previous else {"contraction"}


def check_movements(
    f: Findings, expected: Expected, movements: dict[tuple[int, str], dict[str, dict]]
) -> None:
    """Each ``$MrrChanged`` goes with an event of the workload that reached Bento (never
    an ignored one), under ``<its id>:mrr``, names a real move and the right kind of it.
    Per person, in the order Bento got them, the moves chain (each starts where the one
    before ended) from 0 to the MRR the model expects, and a person with MRR has moves: a
    failure, except for ``Expected.unchained`` people (a re-route, a disconnect or an
    email change sets their fields without a move), whose sums are only counted."""
    for site, people in expected.fields.items():
        for email, want_fields in people.items():
            want_mrr = want_fields.get("mrr")
            if want_mrr and (site, email) not in movements and email not in expected.unchained:
                f.broken_chains.append(f"{email} on site {site}: MRR {want_mrr}, no $MrrChanged")
    for (site, email), by_event in movements.items():
        total = Decimal(0)
        chain: list[tuple[Decimal, Decimal]] = []
        for event_id, details in by_event.items():
            f.movements += 1
            if event_id in expected.never:
                f.forwarded_ignored.append(f"{event_id}: $MrrChanged of an ignored event")
            elif event_id not in expected.events:
                f.wrong_events.append(f"{event_id}: $MrrChanged of no workload event")
            if (details.get("unique") or {}).get("key") != f"{event_id}:mrr":
                f.wrong_events.append(f"{event_id}: $MrrChanged under {details.get('unique')}")
            previous = Decimal(str(details.get("previous_mrr")))
            now = Decimal(str(details.get("mrr")))
            if previous == now or details.get("movement") not in _kind(previous, now):
                f.wrong_events.append(f"{event_id}: $MrrChanged {details}")
            total += now - previous
            chain.append((previous, now))
        want = expected.fields.get(site, {}).get(email, {}).get("mrr")
        if want is not None and total != want:
            f.movement_sums_apart += 1
        if want is None or email in expected.unchained:
            continue
        starts = [Decimal(0)] + [now for _, now in chain]
        if [p for p, _ in chain] != starts[:-1] or starts[-1] != want:
            moves = ", ".join(f"{p} -> {n}" for p, n in chain)
            f.broken_chains.append(f"{email} on site {site}: moves {moves}, the model {want}")


def describe(
    email: str, expected: Expected, events: dict[str, Event], deliveries: dict[str, int]
) -> list[str]:
    """The events of a person, for the report of a failing run."""
    lines = []
    for event_id in expected.person_events.get(email, []):
        e = events[event_id]
        lines.append(
            f"  {e.created} {e.id} {e.type} {e.account} {e.obj.get('id')} "
            f"delivered {deliveries.get(event_id, 0)}x"
        )
    return lines
