"""The security headers of every page: no cache, no referrer, a strict CSP (no script at all
on the link pages), no framing. The app's pages run our own scripts only."""

from __future__ import annotations

CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"x-robots-tag", b"noindex, nofollow"),
]
# The app's pages (bot.web.app_pages) run our own scripts (no inline script, no eval): its
# live list, its service worker, its push subscription. Every other page runs none.
APP_CSP = CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self'; "
                      "connect-src 'self'; worker-src 'self'; manifest-src 'self';")
APP_HEADERS = [(k, APP_CSP.encode() if k == b"content-security-policy" else v)
               for k, v in SECURITY_HEADERS]
