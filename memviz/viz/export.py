"""Exports of plotly figures: a self-contained HTML page (works offline) and PNG / SVG through kaleido and a local
Chromium. Pure functions (no streamlit); :mod:`memviz.viz.attention` re-exports them."""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import threading
import time

import plotly.graph_objects as go

from memviz.errors import MemvizError

#: plotly chart config: modebar "download as image" works in the browser without kaleido.
PLOTLY_CONFIG: dict = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "filename": "memviz-attention", "scale": 2},
}


class ExportNotAvailableError(MemvizError, RuntimeError):
    """PNG/SVG export needs the ``kaleido`` package and a Chrome/Chromium browser on this machine."""


def figure_html(fig: go.Figure) -> str:
    """A self-contained HTML page of ``fig`` (plotly.js inlined, ~4.5 MB, no network needed)."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config=PLOTLY_CONFIG)


_kaleido_lock = threading.Lock()
_kaleido_started = False


def _browser_path() -> str | None:
    for cand in (
        os.environ.get("BROWSER_PATH"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
        shutil.which("chrome"),
    ):
        if cand and os.path.exists(cand):
            return cand
    return None


def image_export_available() -> bool:
    """Whether :func:`figure_image` can work here: ``kaleido`` is installed and a Chrome/Chromium is found."""
    return importlib.util.find_spec("kaleido") is not None and _browser_path() is not None


def figure_image(fig: go.Figure, fmt: str = "png", scale: float = 2.0) -> bytes:
    """``fig`` as PNG or SVG bytes, rendered by kaleido in a local headless Chromium (no network).

    The first call starts one browser for the process (~3 s); later calls take ~0.3 s. Raises
    ExportNotAvailableError when kaleido or a browser is missing, ValueError for another format.
    """
    global _kaleido_started
    if fmt not in ("png", "svg"):
        raise ValueError(f"format must be png or svg, got {fmt!r}")
    browser = _browser_path()
    if importlib.util.find_spec("kaleido") is None or browser is None:
        raise ExportNotAvailableError(
            "PNG/SVG export needs the kaleido package and Chromium (apt-get install chromium); "
            "use the chart's camera button or the HTML download instead"
        )
    import warnings

    import kaleido

    os.environ.setdefault("BROWSER_PATH", browser)
    with _kaleido_lock:
        if not _kaleido_started:
            kaleido.start_sync_server(silence_warnings=True)
            atexit.register(kaleido.stop_sync_server, silence_warnings=True)
            _kaleido_started = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "kopts is ignored if using a server"
            for attempt in range(3):
                try:
                    return fig.to_image(format=fmt, scale=scale if fmt == "png" else 1.0)
                except Exception as e:  # the browser failed to start; on a loaded machine kaleido's page may
                    # not have loaded its scripts yet ("kaleido_scopes is not defined"): try again
                    if attempt == 2:
                        raise ExportNotAvailableError(f"{fmt.upper()} export failed: {e}") from e
                    time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable: the last attempt returns or raises")
