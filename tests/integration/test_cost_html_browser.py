"""The `--html` reports of `lambdakit cost compat` and `lambdakit cost plan`, opened in a real
headless Chromium (Debian's `chromium`, installed by `make browser`): the charts rendered (a
screenshot that is not blank, one Plotly plot with drawn traces per chart of the page) and
the page logged nothing to the console (no uncaught error, no failed script).

Each check is shown able to fail: a blank page whose script throws is rendered the same way
and must be reported blank, without plots, and with its error on the console.

The browser is required, not optional: a missing `chromium` fails with how to install it. One
Chromium run per page takes the screenshot, dumps the DOM after the scripts ran and logs the
console, so the module stays within a few seconds.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from lambdakit.cli import main

pytestmark = pytest.mark.integration

DATA = Path(__file__).parent.parent / "unit" / "data" / "cost"
WINDOW = (1400, 2400)
CONSOLE = re.compile(r"\bCONSOLE\b")
# Charts each page draws: compat (cost vs volume; memory and duration) and plan (those two,
# the breakdown, the capacity view and, with --backlog, the drain times).
COMPAT_CHARTS, PLAN_CHARTS = 2, 5


@dataclass(frozen=True)
class Rendered:
    png: bytes
    dom: str
    console: list[str]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail(
            "Chromium is not installed, and the HTML report tests need a real browser: "
            "run `make browser` (Debian's `chromium` package)"
        )
    return found


def render(chromium: str, page: Path, profile: Path) -> Rendered:
    """Open ``page`` in headless Chromium: the screenshot, the DOM after its scripts ran, and
    every console message (Chromium logs them to stderr as ``CONSOLE`` lines)."""
    shot = page.with_suffix(".png")
    done = subprocess.run(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--screenshot={shot}",
            "--dump-dom",
            "--enable-logging=stderr",
            "--v=0",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists(), f"no screenshot; chromium said: {done.stderr[-2000:]}"
    console = [line for line in done.stderr.splitlines() if CONSOLE.search(line)]
    return Rendered(shot.read_bytes(), done.stdout, console)


def pixels(png: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, channels (3: RGB, 4: RGBA) and the rows of pixels of an 8-bit,
    non-interlaced PNG (what Chromium writes), decoded with zlib and the PNG row filters, so
    no imaging library is needed. Rows filtered "Up" (most of them) are added to the row above
    all at once, as one big integer with the carries masked; the others byte by byte."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks = 8, []
    width = height = channels = 0
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        body = png[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, interlace) == (8, 0), (depth, interlace)
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            chunks.append(body)
    raw = zlib.decompress(b"".join(chunks))
    stride, c = width * channels, channels
    low = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    rows: list[bytes] = []
    up = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1 : start + 1 + stride]
        if kind == 2:  # Up: each byte plus the byte above, modulo 256
            a, b = int.from_bytes(line, "big"), int.from_bytes(up, "big")
            line = (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(stride, "big")
        elif kind in (1, 3, 4):  # Sub, Average, Paeth: each byte depends on its left
            out = bytearray(line)
            for x in range(stride):
                left = out[x - c] if x >= c else 0
                if kind == 1:
                    out[x] = (out[x] + left) & 255
                elif kind == 3:
                    out[x] = (out[x] + (left + up[x]) // 2) & 255
                else:
                    above, corner = up[x], (up[x - c] if x >= c else 0)
                    guess = left + above - corner
                    pa, pb, pc = abs(guess - left), abs(guess - above), abs(guess - corner)
                    near = left if pa <= pb and pa <= pc else above if pb <= pc else corner
                    out[x] = (out[x] + near) & 255
            line = bytes(out)
        rows.append(line)
        up = line
    return width, height, channels, rows


def colours(png: bytes) -> tuple[int, float]:
    """Distinct colours of the screenshot and the fraction of pixels that differ from the
    most common one (the background): a blank page has 1 colour and 0.0."""
    width, height, channels, rows = pixels(png)
    counts: Counter[tuple[int, int, int]] = Counter()
    for row in rows:
        counts.update(zip(row[0::channels], row[1::channels], row[2::channels], strict=True))
    background = max(counts.values())
    return len(counts), 1 - background / (width * height)


def plots(dom: str) -> list[str]:
    """The rendered Plotly plots of the DOM, one string per chart of the page: what follows
    each chart's container up to the next one."""
    return dom.split('<div class="lk-chart">')[1:]


def assert_rendered(rendered: Rendered, charts: int) -> None:
    assert rendered.console == [], "\n".join(rendered.console)
    assert rendered.dom.count('class="plot-container plotly"') == charts
    drawn = plots(rendered.dom)
    assert len(drawn) == charts
    for index, chart in enumerate(drawn):
        assert 'class="main-svg"' in chart, f"chart {index} has no SVG: Plotly did not draw it"
        assert 'class="trace' in chart or "<table" in chart, f"chart {index} has no trace"
    distinct, inked = colours(rendered.png)
    assert distinct >= 20, f"only {distinct} colours: the screenshot looks blank"
    assert inked > 0.02, f"{inked:.1%} of the screenshot differs from the background"


def test_the_compat_report_renders_its_charts_without_console_errors(
    chromium: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "compat.html"
    assert main(["cost", "compat", str(DATA / "input.prop"), "--html", str(page)]) == 0
    capsys.readouterr()
    assert_rendered(render(chromium, page, tmp_path / "profile"), COMPAT_CHARTS)


def test_the_plan_report_renders_its_charts_without_console_errors(
    chromium: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "plan.html"
    argv = [
        *("cost", "plan", "--per-day", "10000000", "--backlog", "1000000"),
        *("--batch-sizes", "1,10,100", "--windows", "0,1", "--memory", "512,1024"),
        *("--cpu-ms-per-record", "2", "--io-ms-per-record", "10", "--overhead-ms", "5"),
        *("--base-memory-mb", "60", "--init-ms", "200", "--html", str(page)),
    ]
    assert main(argv) == 0
    capsys.readouterr()
    assert_rendered(render(chromium, page, tmp_path / "profile"), PLAN_CHARTS)


def test_the_checks_fail_on_a_blank_page_whose_script_throws(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><div class="lk-chart"><div id="chart"></div></div>'
        '<script>throw new Error("chart data missing")</script></body></html>'
    )
    rendered = render(chromium, page, tmp_path / "profile")
    assert any("chart data missing" in line for line in rendered.console), rendered.console
    with pytest.raises(AssertionError, match="chart data missing"):
        assert_rendered(rendered, 1)
    # Each other check, alone, also refuses this page.
    assert rendered.dom.count('class="plot-container plotly"') == 0
    assert 'class="main-svg"' not in plots(rendered.dom)[0]
    assert colours(rendered.png) == (1, 0.0)
