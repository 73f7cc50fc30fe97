"""The HTML report in a real headless browser (Debian's chromium): opt-in.

Marked ``browser`` and skipped unless selected with ``-m browser`` (and unless chromium
is installed), so the default test run neither needs a browser nor spends the seconds:

    apt-get install -y chromium
    OMP_NUM_THREADS=1 .venv/bin/pytest tests/report/test_browser.py -m browser
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tunegate.cli import main

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VERDICT_RED = (0xB7 / 255, 0x1C / 255, 0x1C / 255)  # the FAILED banner's background


def _load_samples() -> ModuleType:
    """tests/report/sample_runs.py, loaded by path: the tests are not a package."""
    name = "tunegate_tests_sample_runs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("sample_runs.py"))
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture(autouse=True)
def _opt_in(request: pytest.FixtureRequest) -> None:
    if "browser" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("opt-in: select with -m browser")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")


def test_report_renders_to_a_non_blank_screenshot(tmp_path):
    import numpy as np
    from matplotlib import image

    samples = _load_samples()
    db = samples.history(tmp_path / "history.sqlite", samples.nights(6))
    assert main(["report", "--history", str(db), "--out", str(tmp_path / "out")]) == 0
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=1280,2000",
         (tmp_path / "out" / "report.html").as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 20_000
    pixels = image.imread(shot)[:, :, :3]  # floats in [0, 1]
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 0.05  # not one flat colour
    background = np.abs(pixels - pixels[-1, -1]).sum(axis=2) > 0.1
    assert background.mean() > 0.05  # a good share of the page is drawn on
    banner = np.abs(pixels - np.array(VERDICT_RED)).max(axis=2) < 0.03
    assert banner.sum() > 10_000  # the FAILED verdict banner, styled by the inline CSS
