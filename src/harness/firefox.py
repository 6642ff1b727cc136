"""Firefox for the tests and benchmarks: Debian's firefox-esr, driven over WebDriver BiDi.

Why a bridge: Playwright's Firefox is a patched build that only `playwright install` can fetch, and
geckodriver is not packaged by Debian either. npm's puppeteer-core speaks WebDriver BiDi to a stock
Firefox, so `firefox_bridge.mjs` runs it in Node and this module talks to it in JSON lines. The
methods are few on purpose: what the tests do with a page, in the words of a user (a field by its
label, a button by its name).

    with closing(Firefox()) as firefox:
        context = firefox.new_context()          # a fresh profile: its own storage and cache
        page = context.new_page()
        page.goto("http://127.0.0.1:8000/")
        page.fill("Username", "alice")
        page.click_button("Sign in")
        page.wait_for("[data-view=signed-in]")
        context.take_records().console_errors()  # what its pages (and their workers) logged
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Literal

from sitebuild.paths import NODE_MODULES

from .page_records import ConsoleMessage, PageRecords, RecordedRequest
from .python_start import (
    PYTHON_DECIDED,
    READ_PYTHON_START,
    check_python_start,
    start_not_decided,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Firefox",
    "FirefoxContext",
    "FirefoxError",
    "FirefoxPage",
    "find_firefox",
    "find_node",
]

CANDIDATES = ("/usr/lib/firefox-esr/firefox-esr", "firefox-esr", "firefox")
BRIDGE = Path(__file__).with_name("firefox_bridge.mjs")
# Booting Pyodide takes seconds; on a loaded 2-core machine, many.
DEFAULT_TIMEOUT_S = 60.0
# Beyond a call's own timeout, how long the bridge may take to answer before it is deemed stuck.
BRIDGE_GRACE_S = 30.0
State = Literal["visible", "hidden", "attached"]


class FirefoxError(RuntimeError):
    """A call failed in the browser; `name` is the JavaScript error's (`TimeoutError`, ...)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def find_firefox() -> str | None:
    """The Firefox to launch: `FIREFOX_PATH`, else Debian's firefox-esr or any firefox on PATH."""
    configured = os.environ.get("FIREFOX_PATH")
    if configured:
        return configured
    return next(filter(None, map(shutil.which, CANDIDATES)), None)


def find_node() -> str | None:
    return shutil.which("node")


class Firefox:
    """A headless Firefox behind the Node bridge, until `close()`."""

    def __init__(
        self,
        executable: str | None = None,
        *,
        profile_dir: Path | None = None,
        node: str | None = None,
        start_timeout_s: float = 60.0,
    ) -> None:
        executable = executable or find_firefox()
        node = node or find_node()
        if executable is None or node is None:
            raise FileNotFoundError("Firefox needs a firefox(-esr) executable and Node.js")
        if not (NODE_MODULES / "puppeteer-core").is_dir():
            raise FileNotFoundError(
                "puppeteer-core is not installed: run `python3 build.py` (npm ci)"
            )
        self.executable = executable
        # Kept open for the life of the bridge (a pipe could fill up and block it), read on failure.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        command = [node, str(BRIDGE), executable, str(profile_dir or "")]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
        )
        # Both pipes exist: asked for above.
        self._stdin: IO[bytes] = self._process.stdin  # type: ignore[assignment]
        self._stdout: IO[bytes] = self._process.stdout  # type: ignore[assignment]
        self._buffer = b""
        self._last_id = 0
        hello = self._read_message(start_timeout_s)
        self.version: str = hello["version"]

    def __repr__(self) -> str:
        state = "running" if self._process.poll() is None else "closed"
        return f"Firefox({self.version!r}, {state})"

    def new_context(self) -> FirefoxContext:
        return FirefoxContext(self, self.call("newContext"))

    def close(self) -> None:
        """Closing stdin tells the bridge to close Firefox and exit."""
        if self._process.poll() is None:
            self._stdin.close()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def call(self, method: str, timeout_s: float = DEFAULT_TIMEOUT_S, **params: Any) -> Any:
        """One request to the bridge, and its answer."""
        self._last_id += 1
        request = {
            "id": self._last_id,
            "method": method,
            "params": {**params, "timeoutMs": timeout_s * 1000},
        }
        try:
            self._stdin.write(json.dumps(request).encode() + b"\n")
            self._stdin.flush()
        except BrokenPipeError:
            raise self._bridge_failed("the bridge has exited") from None
        answer = self._read_message(timeout_s + BRIDGE_GRACE_S)
        if "error" in answer:
            raise FirefoxError(answer["error"]["name"], answer["error"]["message"])
        return answer["result"]

    def _read_message(self, timeout_s: float) -> dict[str, Any]:
        stdout = self._stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._bridge_failed(f"no answer within {timeout_s:.0f} s")
            if select.select([stdout], [], [], remaining)[0]:
                chunk = os.read(stdout, 65536)
                if not chunk:
                    raise self._bridge_failed("the bridge has exited")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def _bridge_failed(self, reason: str) -> FirefoxError:
        """The error to raise, with what the bridge (and Firefox through it) wrote to stderr."""
        self._stderr.seek(0)
        return FirefoxError(
            "BridgeError", f"{reason}:\n{self._stderr.read().decode(errors='replace')}"
        )


class FirefoxContext:
    """A fresh profile (a WebDriver BiDi user context): its pages share storage with each other only."""

    def __init__(self, firefox: Firefox, context_id: str) -> None:
        self.firefox = firefox
        self.id = context_id
        self.records = PageRecords()

    def __repr__(self) -> str:
        return f"FirefoxContext({self.id!r})"

    def new_page(self) -> FirefoxPage:
        return FirefoxPage(self, self.firefox.call("newPage", context=self.id))

    def take_records(self) -> PageRecords:
        """Everything recorded so far (kept in `records`), including what arrived since the last call."""
        taken = self.firefox.call("takeRecords", context=self.id)
        self.records.console += [ConsoleMessage(**message) for message in taken["console"]]
        self.records.page_errors += taken["pageErrors"]
        self.records.requests += [
            RecordedRequest(
                request["method"], request["url"], request["headers"], request["postData"]
            )
            for request in taken["requests"]
        ]
        return self.records

    def clear_records(self) -> None:
        self.take_records().clear()

    def close(self) -> None:
        self.firefox.call("closeContext", context=self.id)


class FirefoxPage:
    """A tab. Every wait has a timeout (`DEFAULT_TIMEOUT_S` unless given) and raises FirefoxError."""

    def __init__(self, context: FirefoxContext, page_id: str) -> None:
        self.context = context
        self.id = page_id

    def __repr__(self) -> str:
        return f"FirefoxPage({self.id!r} in {self.context.id!r})"

    def goto(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._call("goto", timeout_s, url=url)

    def reload(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._call("reload", timeout_s)

    def fill(self, label: str, value: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """Type `value` into the field labelled `label`, once it is visible and enabled."""
        self._call("fill", timeout_s, label=label, value=value)

    def click_button(self, name: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._call("clickButton", timeout_s, name=name)

    def wait_for(
        self, selector: str, state: State = "visible", timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        """Wait for a CSS selector (or puppeteer's `::-p-text(...)`) to be in `state`."""
        self._call("waitFor", timeout_s, selector=selector, state=state)

    def wait_for_text(self, text: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.wait_for(f"::-p-text({text})", "visible", timeout_s)

    def wait_until_ready(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """Python has started and drawn its first view; raises PythonDidNotStart as soon as the
        page says it will not, or when it has not decided in time."""
        read_start = f"() => {READ_PYTHON_START}"
        try:
            self.wait_for(PYTHON_DECIDED, "attached", timeout_s)
        except FirefoxError as error:
            if error.name != "TimeoutError":
                raise
            raise start_not_decided(self.evaluate(read_start), timeout_s) from None
        check_python_start(self.evaluate(read_start))

    def count(self, selector: str) -> int:
        return int(self._call("count", DEFAULT_TIMEOUT_S, selector=selector))

    def text_of(self, selector: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
        """The rendered text of the first match, whitespace collapsed."""
        return str(self._call("textOf", timeout_s, selector=selector))

    def evaluate(self, function: str, *args: Any) -> Any:
        """Call a JavaScript function, given as source (`"key => localStorage.getItem(key)"`), with
        JSON arguments; its JSON-serialisable result."""
        return self._call("evaluate", DEFAULT_TIMEOUT_S, source=function, args=list(args))

    def read_storage(self, key: str) -> str | None:
        value = self.evaluate("key => localStorage.getItem(key)", key)
        return None if value is None else str(value)

    def write_storage(self, key: str, value: str) -> None:
        self.evaluate("(key, value) => localStorage.setItem(key, value)", key, value)

    def close(self) -> None:
        self._call("closePage", DEFAULT_TIMEOUT_S)

    def _call(self, method: str, timeout_s: float, **params: Any) -> Any:
        return self.context.firefox.call(method, timeout_s, page=self.id, **params)
