"""Chaos run: real web and worker processes killed with SIGKILL every 1–8 s under a bounded
load (public and DM payments, right/wrong/concurrent/no confirmations, cancels, escrow), X
faults (429, 5xx, slow, reset, an outage) switched on and off; then drain and check:

- ``tweetpay ledger verify`` clean; the money in wallets and escrow unchanged;
- each confirmed intent exactly one transfer, none for the others;
- at most one public reply per mention; no message doubled or lost on X (each sent row is on
  X once under its id, each bot message on X belongs to exactly one row); nothing stuck.

    .venv/bin/python -m benchmarks.chaos --seconds 180                        # SQLite
    .venv/bin/python -m benchmarks.chaos --seconds 180 --postgres-url URL --workers 2 --webs 2

It prints the counts and exits 1 on any violation. ``make test`` runs a short one
(tests/e2e/test_chaos.py).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import make_url

from benchmarks.scratch_db import scratch_database

BIN = Path(sys.executable).parent
LINK = re.compile(r"https?://\S+/c/([A-Za-z0-9_\-]+)")
PINS = {"alice": "482916", "bob": "739251"}
FAULTS = ("429", "500", "503", "slow", "reset")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


class Fleet:
    """The emulator (never killed), the web and worker processes (killed and restarted)."""

    def __init__(self, env: dict[str, str], webs: list[int], workers: int, log: Path) -> None:
        self.env, self.webs, self.log = env, webs, log.open("ab")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills = collections.Counter[str]()
        self.names = [f"web{i}" for i in range(len(webs))] + [f"worker{i}" for i in range(workers)]

    def start(self, name: str) -> None:
        env = dict(self.env)
        if name.startswith("web"):
            env["TWEETPAY_WEB_PORT"] = str(self.webs[int(name[3:])])
            cmd = [str(BIN / "tweetpay"), "web"]
        else:
            cmd = [str(BIN / "tweetpay"), "worker", "--emulator-url", env["CHAOS_EMULATOR"]]
        self.procs[name] = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=self.log)

    def kill_one(self, rng: random.Random) -> None:
        name = rng.choice(self.names)
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()
        self.kills[name[:3]] += 1
        self.start(name)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class Load:
    """Bounded load on the emulator's control API and the web pages."""

    def __init__(self, control: Any, webs: list[int], rng: random.Random) -> None:
        self.control, self.webs, self.rng = control, webs, rng
        self.confirmed_tokens: set[str] = set()
        self.counts = collections.Counter[str]()

    def step(self, n: int) -> None:
        r = self.rng.random()
        amount = self.rng.randint(1, 3)
        if r < 0.3:
            self.control.tweet("alice", f"@Smoney #envoyer {amount}€ @bob chaos {n}")
            self.counts["public payment"] += 1
        elif r < 0.55:
            self.control.dm("bob", f"#envoyer {amount}€ @alice chaos {n}")
            self.counts["DM payment"] += 1
        elif r < 0.65:
            self.control.tweet("alice", f"@Smoney #envoyer 1€ @carol chaos {n}")  # escrow
            self.counts["escrow payment"] += 1
        elif r < 0.72:
            self.control.tweet(f"curieux{n % 7}", f"@Smoney #aide ({n})")
            self.counts["help"] += 1
        elif r < 0.78:
            self.control.dm("alice", "#annuler")
            self.counts["cancel"] += 1
        else:
            self.confirm_some()

    def confirm_some(self) -> None:
        posts = self.control.bot_posts()["dms"]
        users = {u["username"]: str(u["id"]) for u in self.control.users()}
        for handle in ("alice", "bob"):
            for dm in posts:
                match = LINK.search(str(dm.get("text", "")))
                if (not match or str(dm.get("recipient_id")) != users[handle]
                        or match[1] in self.confirmed_tokens):
                    continue
                self.confirmed_tokens.add(match[1])
                choice = self.rng.random()
                if choice < 0.15:
                    self.counts["never confirmed"] += 1
                    continue
                if choice < 0.3:
                    self._post(match[1], "000000")
                    self.counts["wrong PIN"] += 1
                if choice < 0.45:  # two at once: one transfer at most
                    threads = [threading.Thread(target=self._post, args=(match[1], PINS[handle]))
                               for _ in range(2)]
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                    self.counts["concurrent doubles"] += 1
                else:
                    self._post(match[1], PINS[handle])
                    self.counts["confirmations"] += 1

    def _post(self, token: str, pin: str) -> None:
        base = f"http://127.0.0.1:{self.rng.choice(self.webs)}"
        try:
            page = requests.get(f"{base}/c/{token}", timeout=5)
            fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
            fields["pin"] = pin
            requests.post(f"{base}/c/{token}", data=fields, timeout=10,
                          headers={"Origin": base})
        except requests.RequestException:
            self.counts["web unreachable (killed)"] += 1


def run(seconds: float, postgres_url: str | None, workers: int, webs_n: int,
        kill_every: tuple[float, float], outage: float, seed: int) -> int:
    from bot.emulator.client import ControlClient

    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="tweetpay-chaos-"))
    emu_port, webs = _port(), [_port() for _ in range(webs_n)]
    # A PostgreSQL database is dropped after a clean run, kept (and named) after a violation.
    database = contextlib.ExitStack()
    url = (database.enter_context(scratch_database(postgres_url, "chaos")) if postgres_url
           else f"sqlite:///{tmp / 'chaos.sqlite3'}")
    emulator = f"http://127.0.0.1:{emu_port}"
    env = {**os.environ, "TWEETPAY_DATA_DIR": str(tmp), "TWEETPAY_DATABASE_URL": url,
           "TWEETPAY_EMULATOR_PORT": str(emu_port), "CHAOS_EMULATOR": emulator,
           "TWEETPAY_PUBLIC_BASE_URL": f"http://127.0.0.1:{webs[0]}",
           "TWEETPAY_POLL_MENTIONS_SECONDS": "1", "TWEETPAY_POLL_DMS_SECONDS": "1",
           "TWEETPAY_OUTBOX_SECONDS": "0.5", "TWEETPAY_X_TIMEOUT_SECONDS": "2",
           "TWEETPAY_EXPIRY_SECONDS": "2", "TWEETPAY_WORKER_METRICS_PORT": "0",
           "TWEETPAY_X_DMS_PER_15_MINUTES": "600", "TWEETPAY_X_POSTS_PER_15_MINUTES": "600",
           "TWEETPAY_DM_COMMANDS_PER_HOUR": "0", "TWEETPAY_CONFIRMATION_TTL_SECONDS": "60"}
    log = tmp / "processes.log"
    emu = subprocess.Popen([str(BIN / "tweetpay"), "emulator", "--port", str(emu_port),
                            "--memory"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    fleet = Fleet(env, webs, workers, log)
    try:
        _wait(f"{emulator}/_control/users")
        control = ControlClient(emulator)
        for endpoint in ("dm_events", "conversation_events", "send_dm", "create_tweet",
                         "user_by_username", "mentions", "user_tweets"):
            control.rate_limit(endpoint, 100_000)
        for i in range(7):
            control.create_user(f"curieux{i}")
        subprocess.run([str(BIN / "tweetpay"), "db", "upgrade"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        initial = _seed(url, env, emulator)
        for name in fleet.names:
            fleet.start(name)
        for port in webs:
            _wait(f"http://127.0.0.1:{port}/healthz")
        load = Load(control, webs, rng)
        faults_on, n, end = False, 0, time.monotonic() + seconds
        next_kill = time.monotonic() + rng.uniform(*kill_every)
        outage_at = time.monotonic() + seconds / 2 if outage else None
        while time.monotonic() < end:
            n += 1
            try:
                load.step(n)
            except RuntimeError:  # the control API refused (e.g. a duplicate): no event
                load.counts["refused by the emulator"] += 1
            now = time.monotonic()
            if now >= next_kill:
                fleet.kill_one(rng)
                next_kill = now + rng.uniform(*kill_every)
            if n % 15 == 0:
                faults_on = not faults_on
                control.clear_faults()
                if faults_on:
                    for _ in range(3):
                        control.fault("*", rng.choice(FAULTS), count=rng.randint(1, 4),
                                      delay=rng.choice([1.0, 3.0]))
            if outage_at is not None and now >= outage_at:
                control.fault("*", "503", count=1_000_000)
                time.sleep(outage)
                control.clear_faults()
                outage_at = None
            time.sleep(0.25)
        control.clear_faults()
        load.confirm_some()
        drained = _drain(url, seconds=90)
        fleet.stop()
        problems, counts = _check(url, env, control, initial)
        if not drained:
            problems.append("not drained within 90 s (rows pending or sending)")
    finally:
        fleet.stop()
        emu.send_signal(signal.SIGTERM)
        emu.wait(timeout=10)
    print(f"chaos: {seconds:.0f} s, {'PostgreSQL' if postgres_url else 'SQLite'}, "
          f"{workers} worker(s), {webs_n} web(s); kills {dict(fleet.kills)}")
    print("load:", dict(load.counts))
    for key, value in counts.items():
        print(f"  {key}: {value}")
    for problem in problems:
        print("VIOLATION:", problem)
    if problems:
        database.pop_all()  # kept for the post-mortem
    database.close()
    kept = f", database {make_url(url).database}" if problems and postgres_url else ""
    print("OK" if not problems else f"{len(problems)} violation(s); logs in {tmp}{kept}")
    return 1 if problems else 0


def _seed(url: str, env: dict[str, str], emulator: str) -> int:
    import datetime as dt

    from bot.sandbox import RemoteEmulator, sandbox_users, seed_accounts
    from config import load_settings
    from storage.db import make_engine, make_session_factory

    settings = load_settings(database_url=url, data_dir=env["TWEETPAY_DATA_DIR"])
    engine = make_engine(url)
    users = sandbox_users(RemoteEmulator(emulator))
    seed_accounts(make_session_factory(engine), settings, users, dt.datetime.now(dt.UTC))
    total = _money(engine)
    engine.dispose()
    return total


def _money(engine: Any) -> int:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT COALESCE(SUM(balance_cents), 0) FROM accounts "
            "WHERE kind IN ('user', 'pro', 'escrow')")).scalar_one())


def _drain(url: str, seconds: float) -> bool:
    import sqlalchemy as sa

    from storage.db import make_engine

    engine = make_engine(url)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            with engine.connect() as conn:
                busy = conn.execute(sa.text(
                    "SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'pending') + "
                    "(SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending') "
                    "AND kind IN ('dm', 'reply'))")).scalar_one()
            if not busy:
                return True
            time.sleep(1)
        return False
    finally:
        engine.dispose()


def _check(url: str, env: dict[str, str], control: Any,
           initial: int) -> tuple[list[str], dict[str, Any]]:
    import sqlalchemy as sa

    from storage.db import make_engine

    problems: list[str] = []
    verify = subprocess.run([str(BIN / "tweetpay"), "ledger", "verify"], env=env,
                            capture_output=True, text=True)
    if verify.returncode != 0:
        problems.append(f"ledger verify: {verify.stdout.strip()[-500:]}")
    engine = make_engine(url)
    with engine.connect() as conn:
        money = _money(engine)
        intents = collections.Counter(dict(conn.execute(sa.text(
            "SELECT status, COUNT(*) FROM payment_intents GROUP BY status")).all()))
        bad_transfers = conn.execute(sa.text(
            "SELECT i.id, i.status, COUNT(t.id) FROM payment_intents i LEFT JOIN transfers t "
            "ON t.idempotency_key = 'intent:' || CAST(i.id AS VARCHAR(20)) GROUP BY i.id, "
            "i.status HAVING (i.status = 'confirmed' AND COUNT(t.id) <> 1) OR "
            "(i.status <> 'confirmed' AND COUNT(t.id) <> 0)")).all()
        rows = conn.execute(sa.text(
            "SELECT id, kind, status, remote_id, delivery_state FROM outbox "
            "WHERE kind IN ('dm', 'reply')")).all()
        inbox = collections.Counter(dict(conn.execute(sa.text(
            "SELECT status, COUNT(*) FROM inbox GROUP BY status")).all()))
    engine.dispose()
    if money != initial:
        problems.append(f"money in wallets and escrow {money} ≠ {initial} at the start")
    if bad_transfers:
        problems.append(f"intents whose transfers disagree with their state: {bad_transfers}")
    bot_id = next(str(u["id"]) for u in control.users() if u["username"] == "Smoney")
    on_x = {str(t["id"]): t for t in control.tweets() if str(t["author_id"]) == bot_id}
    on_x_dms = {str(d["id"]): d for d in control.dms() if str(d["sender_id"]) == bot_id}
    replies_per_parent = collections.Counter(
        ref["id"] for t in on_x.values() for ref in t.get("referenced_tweets", [])
        if ref["type"] == "replied_to")
    doubled_replies = {p: c for p, c in replies_per_parent.items() if c > 1}
    if doubled_replies:
        problems.append(f"mentions with more than one public reply: {doubled_replies}")
    claimed = collections.Counter(r.remote_id for r in rows if r.remote_id)
    recorded_twice = {k: c for k, c in claimed.items() if c > 1}
    lost = [r.id for r in rows if r.status == "sent" and r.remote_id not in on_x
            and r.remote_id not in on_x_dms and not str(r.remote_id).startswith("xchat:")]
    orphans = [i for i in [*on_x, *on_x_dms] if i not in claimed]
    if recorded_twice:
        problems.append(f"X messages recorded by two rows: {recorded_twice}")
    if lost:
        problems.append(f"rows recorded sent but absent from X: {lost[:10]}")
    if orphans:
        problems.append(f"bot messages on X no row accounts for (doubled): {len(orphans)}")
    stuck = [r.id for r in rows if r.status in ("pending", "sending")]
    if stuck or inbox.get("pending"):
        problems.append(f"stuck: {len(stuck)} outbox rows, {inbox.get('pending', 0)} inbox")
    in_doubt = [r.id for r in rows if r.delivery_state == "in_doubt"]
    counts = {
        "intents": dict(intents), "inbox": dict(inbox),
        "outbox": dict(collections.Counter(r.status for r in rows)),
        "bot replies on X": len(on_x), "bot DMs on X": len(on_x_dms),
        "rows left in doubt": len(in_doubt), "money (cents)": f"{money} (start {initial})",
        "doubled": len(orphans), "lost": len(lost),
        "ledger verify": "clean" if verify.returncode == 0 else "FINDINGS",
    }
    return problems, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--webs", type=int, default=1)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds of X outage")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.exit(run(args.seconds, args.postgres_url, args.workers, args.webs, (1.0, 8.0),
                 args.outage, args.seed))


if __name__ == "__main__":
    main()
