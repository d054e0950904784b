"""The app as its users drive it, for the integration tests: a device session opened the real
way (#compte by DM, then the login link), a push subscription held by the push-service
stand-in, and the app's pages through Starlette's test client (one cookie jar per person)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

ORIGIN = {"Origin": "http://testserver"}
LOGIN = re.compile(r"https?://\S+/l/([A-Za-z0-9_\-]+)")
CSRF = re.compile(r'data-csrf="([^"]+)"')
CONFIRM_FORM = re.compile(r'action="/app/confirm/(\d+)"')


@dataclass
class Device:
    handle: str
    client: TestClient
    subscription: dict[str, Any] | None = None

    def home(self) -> str:
        page = self.client.get("/")
        assert page.status_code == 200, page.text
        return page.text

    def csrf(self) -> str:
        match = CSRF.search(self.home())
        assert match, "not signed in"
        return match.group(1)

    def to_confirm(self) -> list[int]:
        return [int(i) for i in CONFIRM_FORM.findall(self.home())]

    def confirm(self, intent_id: int, pin: str) -> tuple[int, str]:
        page = self.home()
        block = page[page.index(f'action="/app/confirm/{intent_id}"'):]
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', block.split("</form>")[0]))
        fields["pin"] = pin
        response = self.client.post(f"/app/confirm/{intent_id}", data=fields, headers=ORIGIN)
        return response.status_code, response.text


def sign_in(world: Any, handle: str, stand_in: Any = None) -> Device:
    """#compte by DM, the login link from the bot's DM, then (optionally) push on."""
    world.dm(handle, "#compte")
    world.runtime.tick()
    texts = [t for t in world.dms_to(handle) if LOGIN.search(t)]
    assert texts, f"no login link for {handle}"
    match = LOGIN.search(texts[-1])
    assert match
    client = TestClient(world.web.app, base_url="http://testserver")
    response = client.post(f"/l/{match.group(1)}", headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303, response.text
    device = Device(handle, client)
    if stand_in is not None:
        device.subscription = stand_in.subscribe()
        done = client.post("/app/push", json=device.subscription,
                           headers={**ORIGIN, "x-csrf": device.csrf()})
        assert done.status_code == 200, done.text
    return device
