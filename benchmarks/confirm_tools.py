"""What ``benchmarks.confirm`` measures with: the Argon2id ceiling, CPU seconds of processes,
the web server in its own process, keep-alive HTTP clients, throwaway PostgreSQL databases."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.security import PinHasher

PIN = "482916"
# token, the form to post, the lane: items of one lane go in order on one connection (a
# passkey's counter must grow from one assertion to the next); lane -1: any connection.
Item = tuple[str, dict[str, str], int]


def argon2_ceiling(hasher: PinHasher, seconds: float, threads: int) -> tuple[float, float]:
    """PIN checks per second with ``threads`` threads busy verifying (argon2 drops the GIL),
    and the CPU seconds one check costs."""
    pin_hash = hasher.hash(PIN)
    cpu = time.process_time()
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            assert hasher.verify(pin_hash, PIN)
            counts[i] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total = sum(counts)
    return total / (time.perf_counter() - started), (time.process_time() - cpu) / max(total, 1)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (the web server's workers), from Linux /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                todo += [int(c) for c in
                         Path(f"/proc/{current}/task/{task}/children").read_text().split()]
            except OSError:
                continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (Linux /proc), 0 for any that is gone."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def pg_backends(url: str) -> list[int]:
    """The PostgreSQL backends serving the benchmark's own database (the app's pool)."""
    if not url.startswith("postgresql"):
        return []
    parsed = make_url(url)
    engine = create_engine(parsed, poolclass=NullPool)
    with engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = %(db)s AND pid <> pg_backend_pid()",
            {"db": parsed.database},
        ).scalars()
        result = list(pids)
    engine.dispose()
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, *, workers: int, no_verifier: bool = False
                 ) -> subprocess.Popen[bytes]:
    """``bot.web.server.serve`` on ``port`` with ``workers`` processes (the production
    setting), public URL http://localhost:<port> (passkeys need a host name).
    ``no_verifier``: passkey signatures are not checked (the passkey ceiling)."""
    env = {
        **os.environ,
        "TWEETPAY_DATABASE_URL": url,
        "TWEETPAY_WEB_PORT": str(port),
        "TWEETPAY_WEB_WORKERS": str(workers),
        "TWEETPAY_PUBLIC_BASE_URL": f"http://localhost:{port}",
        "TWEETPAY_LOG_LEVEL": "WARNING",
    }
    verifier = "from bot.passkeys import NoVerifier; kw = {'passkey_verifier': NoVerifier()}; " \
        if no_verifier else "kw = {}; "
    code = (
        "from bot.logging import configure_logging; from bot.web.server import serve; "
        "from config import load_settings; s = load_settings(); " + verifier +
        "configure_logging(s.log_level, 'json'); serve(s, **kw)"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(
        f"the web server did not start: {server.stderr.read() if server.stderr else ''}"
    )


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and make sure none of its workers outlives it."""
    tree = [(pid, _started(pid)) for pid in descendants(server.pid)[1:]]
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)
    for pid, started in tree:
        # Only the same process (its start time): a pid freed meanwhile may be someone else's.
        if started is not None and _started(pid) == started:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _started(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _request(port: int, token: str, form: dict[str, str]) -> bytes:
    body = urlencode(form).encode()
    head = (
        f"POST /c/{token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Origin: http://localhost:{port}\r\nSec-Fetch-Site: same-origin\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _receive(sock: socket.socket, buffer: bytearray) -> None:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    buffer += chunk


def _exchange(sock: socket.socket, request: bytes, buffer: bytearray) -> int:
    """Send one request on a keep-alive connection and read its whole response (the server
    always sends Content-Length); return the status. ``buffer`` holds what was read past
    it (nothing: one request at a time)."""
    sock.sendall(request)
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        _receive(sock, buffer)
    head = bytes(buffer[:end]).lower()
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        raise ConnectionError("a response without Content-Length")
    stop = head.find(b"\r\n", at + 2)
    length = int(head[at + 17 : stop if stop >= 0 else len(head)])
    total = end + 4 + length
    while len(buffer) < total:
        _receive(sock, buffer)
    status = int(head[9:12])
    del buffer[:total]
    return status


def drive(port: int, work: list[Item], clients: int) -> tuple[float, float, dict[int, int]]:
    """POST every item with ``clients`` keep-alive connections; return (per s, the clients'
    CPU seconds, statuses). The requests are encoded before the clock starts and the
    responses read with bare sockets: the load generator shares the cores it measures, so it
    spends as little of them as it can (0.2 ms of CPU per confirmation, ``http.client`` took
    0.6-0.7)."""
    shared: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    lanes: list[list[bytes]] = [[] for _ in range(clients)]
    for token, form, lane in work:
        request = _request(port, token, form)
        if lane < 0:
            shared.put(request)
        else:
            lanes[lane % clients].append(request)
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client(own: list[bytes]) -> None:
        # Each client connects when it starts, as browsers do: opened all at once, the
        # connections land unevenly on the web workers (whichever accepts first).
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        seen: dict[int, int] = {}
        buffer = bytearray()
        pending = iter(own)
        while True:
            request = next(pending, None)
            if request is None:
                try:
                    request = shared.get_nowait()
                except queue.Empty:
                    break
            status = _exchange(sock, request, buffer)
            seen[status] = seen.get(status, 0) + 1
        sock.close()
        with lock:
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=client, args=(lanes[i],)) for i in range(clients)]
    cpu = time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return len(work) / elapsed, cpu, statuses
