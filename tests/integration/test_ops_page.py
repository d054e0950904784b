"""The operator page over HTTP on SQLite and PostgreSQL: off without a credential, Basic auth
only, CSRF-checked posts, guarded transitions (a row no longer in the state shown is refused),
and an audit row for every action, refused ones included."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from bot.web.app import create_app
from config import load_settings
from handlers.outcomes import LINK_PLACEHOLDER
from storage.db import make_session_factory
from storage.models import OpsAudit, OutboxMessage

TOKEN = "o" * 40


def _row(session: object, key: str, text: str = "hello") -> OutboxMessage:
    now = dt.datetime.now(dt.UTC)
    row = OutboxMessage(dedupe_key=key, kind="dm", priority=10, recipient_x_user_id=9,
                        text=text, status="failed", attempts=8, next_attempt_at=now,
                        created_at=now, last_error="gave up after 8 attempts: 503")
    session.add(row)  # type: ignore[attr-defined]
    return row


def test_the_page_is_off_without_a_credential(engine: Engine) -> None:
    with TestClient(create_app(load_settings(), make_session_factory(engine))) as web:
        assert web.get("/ops", auth=("ops", "")).status_code == 404


def test_actions_are_guarded_and_audited(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        plain, link = _row(session, "plain"), _row(session, "link", f"go {LINK_PLACEHOLDER}")
        session.flush()
        plain_id, link_id = plain.id, link.id
    app = create_app(load_settings(ops_token=TOKEN), sessions)
    with TestClient(app) as web:
        assert web.get("/ops").status_code == 401
        assert web.get("/ops", auth=("root", TOKEN)).status_code == 401
        page = web.get("/ops", auth=("ops", TOKEN))
        assert page.status_code == 200 and f'id="outbox-{plain_id}"' in page.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert web.post(f"/ops/outbox/{plain_id}/retry", auth=("ops", TOKEN),
                        data={"csrf": "0" * 64}).status_code == 403
        assert web.post(f"/ops/outbox/{plain_id}/retry", auth=("ops", TOKEN),
                        data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}
                        ).status_code == 403
        for target in (plain_id, plain_id, link_id):  # the second retry finds it pending
            done = web.post(f"/ops/outbox/{target}/retry", auth=("ops", TOKEN),
                            data={"csrf": csrf}, follow_redirects=False)
            assert done.status_code == 303
        assert web.post("/ops/outbox/1/explode", auth=("ops", TOKEN),
                        data={"csrf": csrf}).status_code == 404
    with sessions() as session:
        assert session.get(OutboxMessage, plain_id).status == "pending"  # type: ignore[union-attr]
        assert session.get(OutboxMessage, link_id).status == "failed"  # type: ignore[union-attr]
        trail = [(a.target, a.outcome, a.detail) for a in
                 session.scalars(select(OpsAudit).order_by(OpsAudit.id))]
    assert [(t, o) for t, o, _ in trail] == [
        (f"outbox:{plain_id}", "done"), (f"outbox:{plain_id}", "refused"),
        (f"outbox:{link_id}", "refused")]
    assert "link was erased" in trail[2][2]
