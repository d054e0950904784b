"""What ``tweetpay ledger verify`` checks on the stored data: one SQL query per invariant,
each returning the rows that break it (so a finding names them).

The ledger's own invariants (``storage.ledger``): balances sum to 0, each account's balance
is the sum of its postings, no user or Pro account is overdrawn, every transfer is two
postings that balance, a reversal mirrors what it reverses. Then those of the rows that move
money (``storage.transitions``): each system account has its sign (escrow never below 0,
card funding never above), the escrow account holds exactly the holds still held, each hold
is released once at most (and once if it is no longer held), and an intent's state agrees
with its transfers (confirmed: exactly one; cancelled, expired, failed, awaiting: none).
On PostgreSQL all checks read one snapshot, even while money moves.
"""

from __future__ import annotations

from sqlalchemy import Engine

# The release transfers of hold h (storage.escrow: claim, or refund for cancel and expiry).
_RELEASE_KEYS = "'escrow:' || h.id || ':claim', 'escrow:' || h.id || ':refund'"

_FINDING_LIMIT = 50
_CHECKS: tuple[tuple[str, str], ...] = (
    (
        "sum of all account balances is {1}, not 0",
        "SELECT 'all', COALESCE(SUM(balance_cents), 0) FROM accounts"
        " HAVING COALESCE(SUM(balance_cents), 0) <> 0",
    ),
    (
        "sum of all postings is {1}, not 0",
        "SELECT 'all', COALESCE(SUM(amount_cents), 0) FROM postings"
        " HAVING COALESCE(SUM(amount_cents), 0) <> 0",
    ),
    (
        "account {0}: balance {1} but its postings sum to {2}",
        "SELECT a.code, a.balance_cents, COALESCE(SUM(p.amount_cents), 0) FROM accounts a"
        " LEFT JOIN postings p ON p.account_id = a.id GROUP BY a.id, a.code, a.balance_cents"
        " HAVING a.balance_cents <> COALESCE(SUM(p.amount_cents), 0) ORDER BY a.id",
    ),
    (
        "account {0} ({1}) is overdrawn: {2}",
        "SELECT code, kind, balance_cents FROM accounts"
        " WHERE kind IN ('user', 'pro') AND balance_cents < 0 ORDER BY id",
    ),
    (
        "transfer {0}: postings do not balance or do not match its amount {1}",
        "SELECT t.id, t.amount_cents FROM transfers t LEFT JOIN postings p"
        " ON p.transfer_id = t.id GROUP BY t.id, t.amount_cents"
        " HAVING COUNT(p.id) <> 2 OR COALESCE(SUM(p.amount_cents), 0) <> 0"
        " OR SUM(CASE WHEN p.account_id = t.debit_account_id"
        "   AND p.amount_cents = -t.amount_cents THEN 1 ELSE 0 END) <> 1"
        " OR SUM(CASE WHEN p.account_id = t.credit_account_id"
        "   AND p.amount_cents = t.amount_cents THEN 1 ELSE 0 END) <> 1"
        " ORDER BY t.id",
    ),
    (
        "transfer {0} does not mirror transfer {1}, which it claims to reverse",
        "SELECT r.id, o.id FROM transfers r JOIN transfers o ON o.id = r.reverses_transfer_id"
        " WHERE r.amount_cents <> o.amount_cents OR r.debit_account_id <> o.credit_account_id"
        " OR r.credit_account_id <> o.debit_account_id ORDER BY r.id",
    ),
    # -- the rows that move money ---------------------------------------------------------
    (
        "system account {0} ({1}) has the wrong sign: {2}",
        # Card funding only pays out (top-ups); escrow and payouts in flight only hold what
        # they were given.
        "SELECT code, kind, balance_cents FROM accounts"
        " WHERE (kind IN ('escrow', 'in_flight') AND balance_cents < 0)"
        " OR (kind = 'card_funding' AND balance_cents > 0) ORDER BY id",
    ),
    (
        "escrow holds {1} but the holds still held sum to {2}",
        "SELECT a.code, a.balance_cents, COALESCE((SELECT SUM(h.amount_cents)"
        " FROM escrow_holds h WHERE h.status = 'held'), 0) FROM accounts a"
        " WHERE a.kind = 'escrow' AND a.balance_cents <> COALESCE((SELECT SUM(h.amount_cents)"
        " FROM escrow_holds h WHERE h.status = 'held'), 0)",
    ),
    (
        "escrow hold {0} ({1}) was released {2} time(s)",
        # Held: never released; claimed, cancelled or refunded: exactly once.
        "SELECT h.id, h.status, COUNT(t.id) FROM escrow_holds h LEFT JOIN transfers t"
        f" ON t.idempotency_key IN ({_RELEASE_KEYS}) GROUP BY h.id, h.status"
        " HAVING COUNT(t.id) <> CASE WHEN h.status = 'held' THEN 0 ELSE 1 END ORDER BY h.id",
    ),
    (
        "intent {0} is {1} but has {2} transfer(s)",
        # Confirmed: exactly one transfer (key intent:<id>); any other state: none.
        "SELECT i.id, i.status, COUNT(t.id) FROM payment_intents i LEFT JOIN transfers t"
        " ON t.idempotency_key = 'intent:' || i.id GROUP BY i.id, i.status, i.transfer_id"
        " HAVING COUNT(t.id) <> CASE WHEN i.status = 'confirmed' THEN 1 ELSE 0 END"
        " OR (i.status <> 'confirmed' AND i.transfer_id IS NOT NULL) ORDER BY i.id",
    ),
)




def verify(engine: Engine) -> list[str]:
    """Every finding, as a sentence (empty: all good)."""
    findings: list[str] = []
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # One snapshot for all checks, even while transfers are being posted.
            conn.execution_options(isolation_level="REPEATABLE READ")
        for message, sql in _CHECKS:
            rows = conn.exec_driver_sql(f"{sql} LIMIT {_FINDING_LIMIT}").fetchall()
            findings.extend(message.format(*row) for row in rows)
        conn.rollback()
    return findings
