"""A real browser for tests: Debian's ``chromium``, run headless as a subprocess.

Two things a test can ask of it, each a fresh browser with a profile of its
own under the test's temporary directory:

- :func:`screenshot`: the page as a PNG of the window's size;
- :func:`rendered_dom`: the DOM the browser built (``--dump-dom``), after
  the page's own scripts and, when given, one more script of the test's,
  added to a copy of the page: a test learns the laid-out size of an
  element by having such a script write it into an attribute.

No browser, no test: :func:`browser` fails the test, with the line that
installs one, rather than skip it (``.ci/run`` installs it).

Nothing here reaches the network: the flags turn off every background
request the browser would make on its own, and pages are opened from files.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["MISSING", "browser", "rendered_dom", "screenshot"]

MISSING = (
    "chromium is not installed (not on PATH): the HTML report's browser tests need it; "
    "install it with `apt-get install -y chromium` (Debian/Ubuntu)"
)

# A wedged browser must fail the test, not hang the run; a normal start takes seconds.
_TIMEOUT_S = 120
_FLAGS = (
    "--headless",
    "--no-sandbox",  # containers run tests as root, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def browser() -> str:
    """The path of ``chromium``; fails the calling test when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(MISSING, pytrace=False)
    return found


def screenshot(page: Path, png: Path, profile: Path, *, width: int, height: int) -> Path:
    """Open ``page`` in a ``width`` x ``height`` window and save what it shows to ``png``."""
    _run(page, profile, f"--screenshot={png}", f"--window-size={width},{height}")
    if not png.is_file():
        raise AssertionError(f"chromium wrote no screenshot to {png}")
    return png


def rendered_dom(page: Path, profile: Path, *, script: str = "") -> str:
    """The DOM chromium built from ``page`` (with ``script`` run at the end of its body)."""
    if script:
        copy = page.with_name(f"{page.stem}.measured{page.suffix}")
        text = page.read_text(encoding="utf-8")
        copy.write_text(
            text.replace("</body>", f"<script>{script}</script></body>"), encoding="utf-8"
        )
        page = copy
    return _run(page, profile, "--dump-dom", "--window-size=1280,1600")


def _run(page: Path, profile: Path, *flags: str) -> str:
    command = [browser(), *_FLAGS, f"--user-data-dir={profile}", *flags, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise AssertionError(
            f"chromium exited with status {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return done.stdout
