"""The report pages in a real browser: headless Chromium (Debian's
``chromium`` and ``chromium-driver``, which scripts/test.sh installs when they
are missing) opens the pages that ``--html`` and :meth:`entangle.Report.to_html`
write from the sample data, fails on any console error, checks that every
section renders at a sane size and reads every keyed number back from the
rendered page against the ``--json`` output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import entangle

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH = 1280

# What the pages hold, in order.
ANALYSIS_SECTIONS = ["summary", "profile", "grid", "correlation", "samples"]


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(
            f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install chromium chromium-driver "
            "(scripts/test.sh installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={WIDTH},1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def at_path(value, key: str):
    for part in key.split("."):
        value = value[int(part)] if part.isdigit() else value[part]
    return value


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def check_page(driver, page: Path, result: dict, sections: list[str]) -> int:
    """Opens ``page``; checks the console, the sections' sizes, the pictures
    and every keyed number against ``result``; returns how many numbers."""
    driver.get(page.resolve().as_uri())
    assert console_errors(driver) == []
    found = driver.execute_script(
        "return [...document.querySelectorAll('section')].map(s => "
        "[s.id, s.getBoundingClientRect().width, s.getBoundingClientRect().height])"
    )
    assert [s[0] for s in found] == sections
    for name, width, height in found:
        assert 300 < width <= WIDTH and 40 < height < 20000, (name, width, height)
    # Nothing wider than the window, every picture decoded.
    assert driver.execute_script("return document.documentElement.scrollWidth") <= WIDTH
    broken = driver.execute_script(
        "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"
    )
    assert broken == 0
    alts = driver.execute_script(
        "return [...document.querySelectorAll('img, svg')]"
        ".filter(e => !(e.getAttribute('alt') || e.querySelector('title'))).length"
    )
    assert alts == 0, "every picture has a text alternative"
    numbers = driver.execute_script(
        "return [...document.querySelectorAll('[data-key]')].map(e => "
        "[e.dataset.key, e.dataset.value, e.textContent])"
    )
    for key, value, text in numbers:
        expected = at_path(result, key)
        assert float(value) == expected, key
        assert float(text) == pytest.approx(expected, rel=1e-3, abs=1e-12), key
    return len(numbers)


def test_command_line_pages_render_with_the_json_numbers(browser, cli, samples, tmp_path):
    arranged = tmp_path / "arranged.parquet"
    order = tmp_path / "order.json"
    page = tmp_path / "arrange.html"
    data = ["--array", "pixels", "--shape", "16,16", "--label", "bright_blob", "--max-samples", "300"]
    result = cli.json(
        "arrange", samples / "images_2d_shuffled.parquet", "-o", arranged,
        *data, "--order-out", order, "--html", page,
    )
    # 16×16: levels 1–4 with 4, 16, 64 and 256 partitions; the tables hold
    # the first three levels' partitions (64 at most), every level's means.
    assert check_page(browser, page, result, [*ANALYSIS_SECTIONS, "order"]) == 2 * (
        2 * 4 + 3 + 4 + 16 + 64
    )
    embedded = browser.execute_script(
        "return JSON.parse(document.getElementById('order-file').textContent)"
    )
    assert embedded == json.loads(order.read_text())
    browser.find_element("id", "download-order").click()
    assert console_errors(browser) == []
    shot = tmp_path / "arrange.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000

    profile_page = tmp_path / "profile.html"
    profile = cli.json(
        "profile", samples / "images_2d_shuffled.parquet", *data, "--html", profile_page
    )
    assert check_page(browser, profile_page, profile, ANALYSIS_SECTIONS) == 2 * 4 + 3 + 4 + 16 + 64

    apply_page = tmp_path / "apply.html"
    cli(
        "apply", samples / "images_2d.parquet", "--order", order,
        "-o", tmp_path / "applied.parquet", "--html", apply_page,
    )
    check_page(browser, apply_page, {}, ["summary", "order"])


def test_python_reports_are_the_dictionaries_with_their_page(browser, cli, samples, tmp_path):
    source = samples / "signals_1d_shuffled.parquet"
    report = entangle.arrange(
        source, tmp_path / "py.parquet", features_prefix="x", label="spike", max_samples=300
    )
    expected = cli.json(
        "arrange", source, "-o", tmp_path / "cli.parquet", "--features-prefix", "x",
        "--label", "spike", "--max-samples", "300",
    )
    assert isinstance(report, entangle.Report) and isinstance(report, dict)
    assert dict(report) == expected and report["before"] == expected["before"]
    page = tmp_path / "report.html"
    report.to_html(page)
    # 64 signals on a line: levels 1–6 with 1, 4, 8, 16, 32, 64 partitions.
    numbers = check_page(browser, page, expected, [*ANALYSIS_SECTIONS, "names", "order"])
    assert numbers == 2 * (2 * 6 + 3 + 1 + 4 + 8 + 16 + 32 + 64)
    names = browser.execute_script(
        "return [...document.querySelectorAll('#names td')].map(td => td.title)"
    )
    assert len(names) == 64 and all(" — position " in n for n in names)

    # Jupyter's view: the same page in an iframe, its style kept to itself.
    cell = tmp_path / "notebook.html"
    cell.write_text(f"<!DOCTYPE html><html><body>{report._repr_html_()}</body></html>")
    browser.get(cell.resolve().as_uri())
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    sections = browser.execute_script(
        "return [...document.querySelectorAll('section')].map(s => s.id)"
    )
    browser.switch_to.default_content()
    assert sections == [*ANALYSIS_SECTIONS, "names", "order"]
    assert console_errors(browser) == []

    profile = entangle.profile(source, features_prefix="x", max_samples=300)
    assert "<iframe" in profile._repr_html_() and profile.html.startswith("<!DOCTYPE html>")
    applied = entangle.apply(
        source, _order(tmp_path, report), tmp_path / "a.parquet"
    )
    assert dict(applied) == {"rows": 2000, "features": 64}
    assert "id=\"order-file\"" in applied.html


def _order(tmp_path: Path, report: dict) -> Path:
    """The order file of an arrangement, as the page embeds it."""
    start = report.html.index('id="order-file">') + len('id="order-file">')
    path = tmp_path / "order.json"
    path.write_text(report.html[start : report.html.index("</script>", start)])
    return path
