"""Real-browser fixtures: the app served by `streamlit run` on a free port, driven by Playwright in Debian's
Chromium, on a store built from real data (the demo conversation, the first LoCoMo conversation when the
shared data is there, and memories whose text is hostile HTML)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser_helpers import ARTIFACTS, LONG_MS, RECORD_ALERTS
from support import REPO, SHARED_DATA, T0

CHROMIUM = "/usr/bin/chromium"
XSS_TEXTS = [
    "<script>window.__xss = 1; alert('xss')</script> I keep my notes in a script tag",
    "<img src=x onerror=\"window.__xss = 1; alert('xss')\"> my avatar image",
    'She said "it\'s `rm -rf` time" & left </div><b>bold</b>',
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser_store(tmp_path_factory, real_embedder):
    from memviz.clock import SimulatedClock
    from memviz.demo import seed_if_empty
    from memviz.engine import MemoryEngine, clock_start_for
    from memviz.importers import load
    from memviz.models import MemoryInput
    from memviz.store import MemoryStore

    db = tmp_path_factory.mktemp("browser_store")
    store = MemoryStore(db)
    engine = MemoryEngine(store, real_embedder, SimulatedClock(0.0))
    seed_if_empty(engine)
    locomo = SHARED_DATA / "locomo" / "locomo_dev.json"
    if locomo.exists():
        first = next(iter(load(locomo, "locomo").groups.values()))
        engine.ingest(first)
    engine.clock.set(clock_start_for(store))
    engine.write(
        [
            MemoryInput(text=t, speaker="Mallory", session_id="xss", id=f"xss:{n}", dataset="hostile")
            for n, t in enumerate(XSS_TEXTS)
        ]
    )
    return db


@pytest.fixture
def fresh_store(tmp_path_factory, real_embedder):
    """A new store per test, for the tests that write through the UI (the demo import, a typed memory): one
    memory that is not from the demo (an empty store would be seeded with the demo as soon as the app opens it)."""
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.models import MemoryInput
    from memviz.store import MemoryStore

    db = tmp_path_factory.mktemp("fresh_store")
    engine = MemoryEngine(MemoryStore(db), real_embedder, SimulatedClock(T0))
    engine.write(
        [
            MemoryInput(
                text="A note written before the demo was imported.",
                speaker="Tester",
                session_id="before",
                id="before:0",
            )
        ]
    )
    return db


@pytest.fixture(scope="session")
def app_url(browser_store):
    port = _free_port()
    env = os.environ | {"MEMVIZ_DB": str(browser_store), "HF_HUB_OFFLINE": "1"}
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "streamlit.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + LONG_MS / 1000
    while True:  # poll the health endpoint until it answers (or the server has died, or the bound has passed)
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=5).status == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail(
                f"streamlit did not answer /_stcore/health within {LONG_MS // 1000} s (exit code "
                f"{proc.poll()}); its log:\n{(ARTIFACTS / 'streamlit.log').read_text()[-3000:]}"
            )
        time.sleep(0.25)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="session", autouse=True)
def _long_expect_timeout():
    """``expect(...)`` waits up to the long bound too (its default is 5 s)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=LONG_MS)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: `bash run.sh test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh page that fails the test if any JavaScript dialog (an injected alert) opens."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    # Every implicit wait (an action waiting for its element, a navigation) gets the long bound too.
    ctx.set_default_timeout(LONG_MS)
    ctx.set_default_navigation_timeout(LONG_MS)
    ctx.add_init_script(RECORD_ALERTS)
    pg = ctx.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    yield pg
    ctx.close()
    assert not dialogs, f"a script injected through memory text ran: {dialogs}"
