"""The ledger's SQL, written once per engine (``storage.ledger`` runs it): SQLite's four short
statements on the driver, PostgreSQL's one data-modifying CTE, and the reads."""

from __future__ import annotations

from sqlalchemy import text

from storage.models import UTCDateTime

_SQLITE_ACCOUNTS = (
    "SELECT id, code, balance_cents, allow_negative FROM accounts WHERE code IN (?, ?)"
)
_SQLITE_INSERT_TRANSFER = (
    "INSERT INTO transfers (idempotency_key, kind, debit_account_id, credit_account_id,"
    " amount_cents, memo, reverses_transfer_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING RETURNING id"
)
_SQLITE_UPDATE_BALANCES = (
    "UPDATE accounts SET balance_cents = balance_cents + CASE id WHEN ? THEN ? ELSE ? END"
    " WHERE id IN (?, ?)"
)
_SQLITE_INSERT_POSTINGS = (
    "INSERT INTO postings (transfer_id, account_id, amount_cents, created_at)"
    " VALUES (?, ?, ?, ?), (?, ?, ?, ?)"
)

# One statement, one round trip while the rows are locked. FOR UPDATE applies after ORDER BY,
# so the two account rows are locked in ascending id order whatever the direction.
_PG_TRANSFER = """
WITH acc AS MATERIALIZED (
    SELECT id, code, balance_cents, allow_negative FROM accounts
    WHERE code IN (%(debit)s, %(credit)s) ORDER BY id FOR UPDATE
),
d AS (SELECT * FROM acc WHERE code = %(debit)s),
c AS (SELECT * FROM acc WHERE code = %(credit)s),
t AS (
    INSERT INTO transfers (idempotency_key, kind, debit_account_id, credit_account_id,
                           amount_cents, memo, reverses_transfer_id, created_at)
    SELECT %(key)s::varchar, %(kind)s::varchar, d.id, c.id, %(cents)s::bigint,
           %(memo)s::varchar, %(reverses)s::integer, %(now)s::timestamptz
    FROM d CROSS JOIN c
    WHERE d.allow_negative OR d.balance_cents >= %(cents)s::bigint
    ON CONFLICT DO NOTHING
    RETURNING id, debit_account_id, credit_account_id
),
u AS (
    UPDATE accounts a SET balance_cents = a.balance_cents + CASE
        WHEN a.id = t.debit_account_id THEN -%(cents)s::bigint ELSE %(cents)s::bigint END
    FROM t WHERE a.id IN (t.debit_account_id, t.credit_account_id)
),
p AS (
    INSERT INTO postings (transfer_id, account_id, amount_cents, created_at)
    SELECT t.id, t.debit_account_id, -%(cents)s::bigint, %(now)s::timestamptz FROM t
    UNION ALL
    SELECT t.id, t.credit_account_id, %(cents)s::bigint, %(now)s::timestamptz FROM t
)
SELECT (SELECT id FROM t), (SELECT balance_cents FROM d), (SELECT balance_cents FROM c),
       (SELECT allow_negative FROM d)
"""

_EXISTING_TRANSFER = text(
    "SELECT t.id, d.code, c.code, t.amount_cents, t.kind, t.memo, t.reverses_transfer_id"
    " FROM transfers t JOIN accounts d ON d.id = t.debit_account_id"
    " JOIN accounts c ON c.id = t.credit_account_id WHERE t.{column} = :value"
)
_BY_KEY = text(_EXISTING_TRANSFER.text.format(column="idempotency_key"))
_BY_ID = text(_EXISTING_TRANSFER.text.format(column="id"))
_BY_REVERSED = text(_EXISTING_TRANSFER.text.format(column="reverses_transfer_id"))
_BALANCE = text("SELECT balance_cents FROM accounts WHERE code = :code")
_HISTORY = text(
    "SELECT p.transfer_id, o.code, p.amount_cents, t.kind, t.memo, t.created_at"
    " FROM accounts a JOIN postings p ON p.account_id = a.id"
    " JOIN transfers t ON t.id = p.transfer_id"
    " JOIN accounts o ON o.id = CASE WHEN p.account_id = t.debit_account_id"
    "   THEN t.credit_account_id ELSE t.debit_account_id END"
    " WHERE a.code = :code ORDER BY p.id DESC LIMIT :limit"
).columns(created_at=UTCDateTime())
