"""``make chaos``: bento-stripe soaked with Stripe traffic and faults, checked against a model.

    make chaos SEED=7 MINUTES=2          # the CI run
    make chaos SEED=42 MINUTES=20 RATE=45
    .venv/bin/python -m chaos --seed 7 --minutes 2 --database chaos_ci

Starts the whole system (``chaos.system``), sends the seeded workload (``chaos.workload``)
with Stripe's delivery semantics (``chaos.sender``) while faults happen on a seeded
schedule, re-routes one account and disconnects another at quiet points of those
accounts, waits until the outbox is drained (with a cap), then checks what the Bento
stand-in holds against the independent model (``chaos.model``, ``chaos.checks``).
Writes ``chaos/results/latest.json``, prints a table; exits 1 when anything is lost,
doubled or wrong, printing the seed and the first diverging person with their events.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pickle
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchmarks.load import percentile
from benchmarks.run import ROOT
from tests.stripe_api_server import StripeStandIn, serve

from . import checks, model, workload
from .bento_standin import ChaosBento
from .sender import Sender, schedule
from .system import SECRET, System

RESULTS = ROOT / "chaos" / "results"
FAULT_KINDS = (
    "bento_5xx",
    "bento_429_retry_after",
    "bento_429",
    "bento_timeout",
    "stripe_refuses",
    "pg_terminate",
    "qcluster_kill",
    "gunicorn_restart",
    "redis_restart",
)


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fault_plan(seed: int, seconds: float) -> list[tuple[float, str]]:
    """Every kind at least once (a qcluster kill at least twice), more in longer runs, at
    seeded times between 10% and 85% of the sending time."""
    r = random.Random(seed * 31 + 5)
    rounds = max(1, int(seconds // 240))
    kinds: list[str] = []
    for _ in range(rounds):
        kinds += list(FAULT_KINDS)
    kinds.append("qcluster_kill")
    times = sorted(r.uniform(0.1, 0.85) * seconds for _ in kinds)
    r.shuffle(kinds)
    # Keep the two big ones apart from the controls (at 40% and 60%) and from each other.
    return list(zip(times, kinds, strict=True))


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.seconds = args.minutes * 60
        self.work = Path(tempfile.mkdtemp(prefix="bento-chaos-"))
        self.faults: Counter[str] = Counter()
        self.fault_log: list[tuple[float, str, str]] = []
        self.peaks = {"broker": 0, "waiting_events": 0, "outbox_pending": 0}
        self.before: dict[str, set[str]] = {"reroute": set(), "disconnect": set()}
        self.sampling = threading.Event()

    # --- the run -------------------------------------------------------------------------
    def main(self) -> int:
        args = self.args
        n_events = int(args.rate * self.seconds)
        log(f"seed {args.seed}: building about {n_events:,} events; logs in {self.work}")
        self.load = workload.build(args.seed, n_events)
        events = self.load.events
        plan = schedule(events, self.seconds, args.seed)
        self.plan_ids = [(t, events[i].id) for t, i in plan]
        stripe = StripeStandIn()
        stripe.keep_requests = False
        for (account, _), obj in workload.current_objects(events).items():
            stripe.add(account, obj)
        stripe_server = serve(stripe)
        self.stripe = stripe
        bento = ChaosBento({}).start()
        self.bento = bento
        system = System(self.work, args.pg_admin, args.database, bento, stripe.url)
        self.system = system
        sender: Sender | None = None
        result = 1
        started = time.time()
        try:
            system.start()
            log(
                f"system up in {time.time() - started:.0f} s: {len(events):,} events, "
                f"{len(plan):,} deliveries over {self.seconds:.0f} s"
            )
            sender = Sender(events, plan, system.gunicorn_port, system.webhook_path, SECRET)
            self.sender = sender
            sampler = threading.Thread(target=self.sample, daemon=True)
            sampler.start()
            sender.start()
            self.drive(sender)
            sent_seconds = time.time() - sender.start_at
            log(f"all deliveries accepted after {sent_seconds:.0f} s; waiting for quiet")
            quiet_after = self.wait_quiet()
            self.sampling.set()
            result = self.verify(sent_seconds, quiet_after, time.time() - started)
        finally:
            self.sampling.set()
            if sender is not None:
                sender.stop()
            keep = result != 0 and not args.drop_on_failure
            system.stop(drop=not keep)
            if keep:
                log(f"database {args.database} kept for a look (dropped by the next run)")
            bento.stop()
            stripe_server.shutdown()
            stripe_server.server_close()
        return result

    def drive(self, sender: Sender) -> None:
        """Faults and the two controls on their schedule, until every delivery got a 2xx."""
        plan = fault_plan(self.args.seed, self.seconds)
        controls = [(0.4 * self.seconds, "reroute"), (0.6 * self.seconds, "disconnect")]
        # Retention mid-soak, with the shortest retention (--days 0), while Stripe keeps
        # redelivering: pruned event ids must still be deduped.
        prune_at: float | None = 0.5 * self.seconds
        while not sender.done():
            now = sender.now()
            if prune_at is not None and now >= prune_at:
                prune_at = None
                self.fault("prune")
                continue
            if controls and now >= controls[0][0]:
                self.control(sender, controls.pop(0)[1])
                continue
            if plan and now >= plan[0][0]:
                _, kind = plan.pop(0)
                self.fault(kind)
                continue
            time.sleep(0.2)
        for _, kind in controls:  # a run shorter than its controls still does them
            self.control(sender, kind)

    def control(self, sender: Sender, kind: str) -> None:
        index = workload.REROUTED if kind == "reroute" else workload.DISCONNECTED
        account = workload.account_id(index)
        paused = sender.pause()
        with sender.lock:
            before = {
                e.id for e in self.load.events if e.account == account and e.id in sender.accepted
            }
        self.before[kind] = before
        waited = self.wait_account(account, held=kind == "disconnect")
        if kind == "reroute":
            self.system.control("reroute", account, str(workload.REROUTE_TO))
        else:
            self.system.control("disconnect", account)
        sender.resume(paused)
        log(
            f"{kind} of {account} after {len(before)} of its events "
            f"(waited {waited:.1f} s for them to be applied)"
        )

    def wait_account(self, account: str, held: bool, cap: float = 180.0) -> float:
        started = time.time()
        while time.time() - started < cap:
            waiting = self.system.query(
                "SELECT count(*) FROM bento_stripe_stripeeventrecord "
                "WHERE stripe_account_id = %s AND status IN ('received', 'failed')",
                (account,),
            )[0][0]
            holding = self.held_with_email(account) if held else 0
            if not waiting and not holding:
                break
            time.sleep(0.5)
        else:
            log(f"{account}: events still waiting after {cap:.0f} s; the model may disagree")
        return time.time() - started

    def no_email_keys(self) -> set[str]:
        """Customer and charge ids of customers that never have an email (held for good)."""
        if not hasattr(self, "_no_email"):
            customers = {
                e.obj["id"]
                for e in self.load.events
                if e.obj.get("object") == "customer" and not e.obj.get("email")
            }
            charges = {
                e.obj["id"]
                for e in self.load.events
                if e.obj.get("object") == "charge" and e.obj.get("customer") in customers
            }
            self._no_email = customers | charges
        return self._no_email

    def held_with_email(self, account: str) -> int:
        rows = self.system.query(
            "SELECT stripe_person_key FROM bento_stripe_outboxevent "
            "WHERE stripe_account_id = %s AND status = 'held'",
            (account,),
        )
        return sum(1 for (key,) in rows if key not in self.no_email_keys())

    def fault(self, kind: str) -> None:
        s, b, r = self.system, self.bento, random.Random(len(self.fault_log) + self.args.seed)
        detail = ""
        try:
            if kind == "bento_5xx":
                n = r.randint(3, 6)
                for _ in range(n):
                    b.fail(1, status=r.choice([500, 502, 503]))
                detail = f"next {n} requests 5xx"
            elif kind == "bento_429_retry_after":
                n = r.randint(3, 6)
                b.fail(n, status=429, retry_after=str(r.randint(1, 5)))
                detail = f"next {n} requests 429 with Retry-After"
            elif kind == "bento_429":
                n = r.randint(3, 6)
                b.fail(n, status=429)
                detail = f"next {n} requests 429 without Retry-After"
            elif kind == "bento_timeout":
                n = r.randint(2, 5)
                for _ in range(n):
                    b.fail(1, status=504, delay=4.0, process=r.random() < 0.5)
                detail = f"next {n} requests answered after the client's read timeout"
            elif kind == "stripe_refuses":
                seconds = r.uniform(10, 30)
                self.stripe.refusing = True
                threading.Timer(seconds, lambda: setattr(self.stripe, "refusing", False)).start()
                detail = f"Stripe lookups refused for {seconds:.0f} s"
            elif kind == "pg_terminate":
                detail = f"{s.terminate_connections()} backends terminated"
            elif kind == "qcluster_kill":
                n = 1 + self.faults["qcluster_kill"] % 2
                s.kill_qcluster(n)
                detail = f"qcluster {n} SIGKILLed and restarted"
            elif kind == "gunicorn_restart":
                s.restart_gunicorn()
                detail = "gunicorn stopped and started"
            elif kind == "redis_restart":
                s.restart_redis()
                detail = "redis-server killed and started empty"
            elif kind == "prune":
                detail = s.prune(days=0)
        except Exception as exc:  # noqa: BLE001 - a fault that could not be done is reported
            detail = f"could not be done: {exc}"
            kind = f"{kind} (failed)"
        self.faults[kind] += 1
        at = time.time() - self.sender.start_at
        self.fault_log.append((round(at, 1), kind, detail))
        log(f"fault {kind}: {detail}")

    def sample(self) -> None:
        while not self.sampling.wait(1.0):
            with contextlib.suppress(Exception):
                self.peaks["broker"] = max(self.peaks["broker"], self.system.broker_depth())
            with contextlib.suppress(Exception):
                ((waiting,),) = self.system.query(
                    "SELECT count(*) FROM bento_stripe_stripeeventrecord WHERE status = 'received'"
                )
                ((pending,),) = self.system.query(
                    "SELECT count(*) FROM bento_stripe_outboxevent "
                    "WHERE status IN ('pending', 'sending')"
                )
                self.peaks["waiting_events"] = max(self.peaks["waiting_events"], waiting)
                self.peaks["outbox_pending"] = max(self.peaks["outbox_pending"], pending)

    def wait_quiet(self) -> float:
        started = time.time()
        while time.time() - started < self.args.quiet_cap:
            with contextlib.suppress(Exception):
                ((left,),) = self.system.query(
                    "SELECT (SELECT count(*) FROM bento_stripe_stripeeventrecord "
                    "        WHERE status IN ('received', 'failed')) + "
                    "       (SELECT count(*) FROM bento_stripe_outboxevent "
                    "        WHERE status IN ('pending', 'sending')) + "
                    "       (SELECT count(*) FROM bento_stripe_reroute WHERE finished_at IS NULL)"
                )
                if left == 0:
                    self.bento.wait_idle()
                    return time.time() - started
            time.sleep(1.0)
        log(f"not quiet after {self.args.quiet_cap:.0f} s")
        return time.time() - started

    # --- checks --------------------------------------------------------------------------
    def verify(self, sent_seconds: float, quiet_after: float, total: float) -> int:
        events = self.load.events
        by_id = {e.id: e for e in events}
        expected = model.expect(events, self.before["reroute"], self.before["disconnect"])
        rows: dict[str, list[tuple]] = {}
        for status in ("sending", "pending", "failed", "dead", "held"):
            rows[status] = self.system_rows(status)
        rows["records"] = self.system.query(
            "SELECT stripe_event_id, status, note FROM bento_stripe_stripeeventrecord "
            "WHERE status IN ('received', 'failed')"
        )
        site_uuids = [s["uuid"] for s in self.system.sites]
        self.dump(rows)
        found = checks.check(
            expected, self.bento, site_uuids, set(self.sender.accepted), rows, self.no_email_keys()
        )
        lag = self.lags()
        summary = {
            "seed": self.args.seed,
            "minutes": self.args.minutes,
            "rate_asked": self.args.rate,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average": os.getloadavg(),
            "stripe_events": len(events),
            "stripe_events_to_forward": len(expected.events),
            "stripe_events_ignored_or_held": len(expected.never),
            "customers": sum(1 for e in events if e.type == "customer.created"),
            "webhook_posts": self.sender.posts,
            "webhook_statuses": dict(self.sender.statuses),
            "webhook_redeliveries_after_failure": self.sender.retries,
            "sending_seconds": round(sent_seconds, 1),
            "events_per_second_held": round(len(events) / sent_seconds, 1) if sent_seconds else 0,
            "quiet_after_seconds": round(quiet_after, 1),
            "total_seconds": round(total, 1),
            "bento_requests": len(self.bento.requests),
            "bento_statuses": dict(Counter(str(r.status) for r in self.bento.requests)),
            "bento_events_out": found.bento_events,
            "bento_resends_same_key": found.resends,
            "value_resends_same_unique_key": found.resent_value_keys,
            "maybe_events_not_forwarded": found.maybe_missing,
            "mrr_changed_events": found.movements,
            "people_whose_mrr_moves_do_not_add_up": found.movement_sums_apart,
            "max_requests_per_minute_per_site": found.max_per_minute,
            "faults": dict(self.faults),
            "fault_log": self.fault_log,
            "reroute_after_events": len(self.before["reroute"]),
            "disconnect_after_events": len(self.before["disconnect"]),
            "people_checked": sum(len(p) for p in expected.fields.values()),
            "values_checked": len(expected.values),
            "lag_seconds": lag,
            "peak_queue_depth": self.peaks,
            "extra_stale_keys": len(found.extra_keys),
            "frozen_people_without_fields": found.optional_without_fields,
            "failures": found.failures(),
            "ok": found.ok,
        }
        self.report(summary, found, expected, by_id)
        return 0 if found.ok else 1

    def dump(self, rows: dict) -> None:
        """What the checks read, so they can be run again (``--recheck``) after a model fix."""
        state = {
            "events": self.load.events,
            "before": self.before,
            "accepted": dict(self.sender.accepted),
            "rows": rows,
            "requests": list(self.bento.requests),
            "state": dict(self.bento.state),
            "breaches": self.bento.breaches,
            "sites": self.system.sites,
            "no_email": self.no_email_keys(),
        }
        with open(self.work / "state.pickle", "wb") as out:
            pickle.dump(state, out)
        log(f"check inputs saved to {self.work / 'state.pickle'}")

    def system_rows(self, status: str) -> list[tuple]:
        return self.system.query(
            "SELECT id, event_type, stripe_person_key, email, stripe_event_id, last_error "
            "FROM bento_stripe_outboxevent WHERE status = %s ORDER BY id",
            (status,),
        )

    def lags(self) -> dict:
        """Seconds from an event's first accepted POST to its first accepted Bento request."""
        first: dict[str, float] = {}
        for request in self.bento.accepted("batch/events"):
            for item in request.body["events"]:
                first.setdefault(item["details"]["stripe_event_id"], request.at)
        values = [first[i] - t for i, t in self.sender.accepted.items() if i in first]
        return {
            "p50": round(percentile(values, 50), 2),
            "p99": round(percentile(values, 99), 2),
            "max": round(max(values, default=0.0), 2),
        }

    def report(self, summary: dict, found: checks.Findings, expected, by_id) -> None:
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        details = {
            "lost": found.lost[:50],
            "duplicates": found.duplicates[:50],
            "wrong_events": found.wrong_events[:50],
            "wrong_values": found.wrong_values[:50],
            "forwarded_ignored": found.forwarded_ignored[:50],
            "ghosts": found.ghosts[:50],
            "rate": found.rate[:50],
            "rows": found.rows[:50],
            "broken_mrr_chains": found.broken_chains[:50],
            "extra_stale_keys": found.extra_keys[:50],
            "wrong_fields": [
                {"site": s, "email": e, "want": {k: str(v) for k, v in w.items()}, "got": g}
                for s, e, w, g in found.wrong_fields[:20]
            ],
        }
        out.write_text(json.dumps({**summary, "details": details}, indent=2, default=str) + "\n")
        rows = [
            ("seed", summary["seed"]),
            (
                "Stripe events (distinct) / webhook POSTs",
                f"{summary['stripe_events']:,} / {summary['webhook_posts']:,}",
            ),
            ("customers", f"{summary['customers']:,}"),
            ("events/s held while sending", summary["events_per_second_held"]),
            (
                "sending s / quiet after s",
                f"{summary['sending_seconds']} / {summary['quiet_after_seconds']}",
            ),
            ("Bento events out (distinct Stripe ids)", f"{summary['bento_events_out']:,}"),
            ("Bento requests", f"{summary['bento_requests']:,} {summary['bento_statuses']}"),
            ("resends under the same unique.key", summary["value_resends_same_unique_key"]),
            ("resends of any event (same id and type)", summary["bento_resends_same_key"]),
            ("faults", ", ".join(f"{k} {v}" for k, v in sorted(summary["faults"].items()))),
            (
                "lag p50 / p99 / max s",
                f"{summary['lag_seconds']['p50']} / {summary['lag_seconds']['p99']} / {summary['lag_seconds']['max']}",
            ),
            (
                "peak broker / waiting events / outbox",
                f"{self.peaks['broker']} / {self.peaks['waiting_events']} / {self.peaks['outbox_pending']}",
            ),
            ("most requests a minute per site", summary["max_requests_per_minute_per_site"]),
            (
                "people / values checked",
                f"{summary['people_checked']:,} / {summary['values_checked']:,}",
            ),
        ]
        rows += [(name, n) for name, n in summary["failures"].items()]
        width = max(len(r[0]) for r in rows)
        print("\nbento-stripe chaos run")
        print("-" * (width + 40))
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
        print(f"\n{'PASS' if found.ok else 'FAIL'}: written to {out}")
        if found.ok:
            return
        print(
            f"\nFAILED with seed {summary['seed']} (replay: make chaos SEED={summary['seed']} "
            f"MINUTES={summary['minutes']})"
        )
        for name in (
            "lost",
            "duplicates",
            "wrong_events",
            "wrong_values",
            "forwarded_ignored",
            "rows",
            "rate",
        ):
            items = getattr(found, name)
            if items:
                print(f"{name} ({len(items)}), first: {items[0]}")
        person = None
        if found.wrong_fields:
            site, email, want, got = found.wrong_fields[0]
            print(f"\nfirst diverging person: {email} on site {site}")
            print(f"  model: { {k: str(v) for k, v in want.items()} }")
            print(f"  Bento: {got}")
            person = email
        elif found.ghosts:
            site, person = found.ghosts[0]
            print(f"\nfirst diverging person: {person} on site {site} should not be in Bento")
        else:
            for item in found.lost + found.duplicates + found.wrong_events:
                event_id = item.split(":", 1)[0]
                person = next(
                    (p for p, ids in expected.person_events.items() if event_id in ids), None
                )
                if person:
                    print(f"\nfirst diverging person: {person} (event {event_id})")
                    break
        if person:
            deliveries = Counter(i for _, i in self.plan_ids)
            print("  their events (created, id, type, account, object):")
            for line in checks.describe(person, expected, by_id, deliveries):
                print(line)


def recheck(path: Path) -> int:
    """The checks of an earlier run again, on its saved inputs (our own file)."""
    with open(path, "rb") as f:
        saved = pickle.load(f)  # noqa: S301 - a file this module wrote
    bento = ChaosBento({s["uuid"]: (s["publishable"], s["secret"]) for s in saved["sites"]})
    bento.requests, bento.state, bento.breaches = (
        saved["requests"],
        saved["state"],
        saved["breaches"],
    )
    expected = model.expect(
        saved["events"], saved["before"]["reroute"], saved["before"]["disconnect"]
    )
    found = checks.check(
        expected,
        bento,
        [s["uuid"] for s in saved["sites"]],
        set(saved["accepted"]),
        saved["rows"],
        saved["no_email"],
    )
    print(json.dumps(found.failures()))
    for name in ("lost", "duplicates", "wrong_events", "wrong_values", "ghosts", "rows", "rate"):
        for item in getattr(found, name)[:5]:
            print(f"{name}: {item}")
    for site, email, want, got in found.wrong_fields[:5]:
        print(f"wrong fields: site {site} {email}\n  model {want}\n  Bento {got}")
    return 0 if found.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SEED") or 7))
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("MINUTES") or 2))
    parser.add_argument(
        "--rate",
        type=float,
        default=float(os.environ.get("RATE") or 20),
        help="Stripe events a second to send (distinct events, before copies)",
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("CHAOS_DATABASE") or f"chaos_{os.getpid()}",
        help="a PostgreSQL database of the run's own, created and dropped",
    )
    parser.add_argument("--quiet-cap", type=float, default=300.0)
    parser.add_argument(
        "--drop-on-failure", action="store_true", help="drop the database of a failing run too"
    )
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    parser.add_argument("--recheck", metavar="PICKLE", help="run the checks again on saved inputs")
    args = parser.parse_args(argv)
    if args.recheck:
        return recheck(Path(args.recheck))
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print(
            "make chaos needs DATABASE_URL pointing at PostgreSQL (it makes its own database "
            "there)",
            file=sys.stderr,
        )
        return 2
    args.pg_admin = url.rsplit("/", 1)[0] + "/postgres"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return Run(args).main()
