"""The daily note as a web page, checked in a real browser (Debian's chromium, headless, driven
by Selenium through chromedriver): what a person sees, sorting, no console error, no request
leaving the file, untrusted text shown as text, a phone-width layout."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from lev_flows import estimate, load_universe
from lev_flows.present.note import esc, render_index, render_note
from tests.conftest import SMALL_RETURNS, SMALL_UNIVERSE

EVIL = '<img src=x onerror="window.hacked=1"><script>window.hacked=2</script> & "quoted"'


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        why = "browser tests need chromium and chromedriver: apt-get install chromium chromium-driver"
        if os.environ.get("CI", "").lower() == "true":  # CI installs them (.ci/run): a skip there is a failure
            pytest.fail(f"{why} (CI=true: a skip is a failure)")
        pytest.skip(why)
    return browser, driver


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_path), options=options)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def report(shared, tmp_path_factory):
    """The daily report of 2026-02-04 on the shared prices, as `daily` writes it."""
    import datetime as dt

    from lev_flows.inputs.sources.local import LocalPrices
    from lev_flows.jobs.daily import run_daily, write_report

    root = tmp_path_factory.mktemp("reports")
    result = run_daily(load_universe(), LocalPrices(shared / "prices"), as_of=dt.date(2026, 2, 4))
    folder = write_report(result, root)
    return folder, json.loads((folder / "estimate.json").read_text())


def _bars(drv, chart_id: str) -> list[float]:
    return drv.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' rect.bar'))"
        ".map(r => [parseFloat(r.getAttribute('width')), parseFloat(r.getAttribute('height'))]);", chart_id,
    )


def test_the_page_weighs_under_a_megabyte_and_is_self_contained(report):
    folder, _ = report
    html = (folder / "report.html").read_text()
    assert (folder / "report.html").stat().st_size < 1_000_000
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "<link" not in html and "src=" not in html  # no stylesheet, script or image from elsewhere
    assert (folder.parent / "index.html").exists()


def test_what_a_person_sees(browser, report):
    folder, doc = report
    browser.get((folder / "report.html").as_uri())
    head = browser.find_element("id", "headline-total")
    assert float(head.get_attribute("data-usd")) == pytest.approx(doc["total"]["rebalance_usd"], abs=0.01)
    assert head.text == "-$13.08B" and "of selling at the close" in browser.find_element("css selector", "p.headline").text
    # each chart is drawn, one bar per row of its table
    for chart, n in (("chart-index", len(doc["by_index"])), ("chart-sector", len(doc["by_sector"])), ("chart-stocks", 15)):
        bars = _bars(browser, chart)
        assert len(bars) == n, chart
        assert max(w for w, _ in bars) > 100 and all(h > 0 for _, h in bars), chart
    history = _bars(browser, "chart-history")
    assert len(history) == 260
    assert "rank" in browser.find_element("id", "rank").text
    assert browser.find_element("id", "table-liquidity").text.count("MPWR") == 1
    assert "Morgan Stanley" in browser.find_element("id", "table-scorecard").text
    warnings = browser.find_elements("css selector", "#warnings li")
    assert len(warnings) == len(doc["warnings"]) + len(doc["fetch"]["failed"])
    # no console error, and nothing but the file itself was requested
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    urls = set()
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.add(msg["params"]["request"]["url"])
    assert urls and all(u.startswith(("file://", "data:")) for u in urls), urls


def test_sorting_a_table_reorders_it(browser, report):
    folder, _ = report
    browser.get((folder / "report.html").as_uri())

    def column(table_id: str, col: int) -> list[str]:
        return browser.execute_script(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
            ".map(r => r.cells[arguments[1]].dataset.v);", table_id, col,
        )

    before = column("table-index", 2)
    header = browser.find_elements("css selector", "#table-index th")[2]  # AUM
    header.click()
    first = [float(v) for v in column("table-index", 2)]
    assert first == sorted(first, reverse=True) and header.get_attribute("aria-sort") == "descending"
    header.click()
    second = [float(v) for v in column("table-index", 2)]
    assert second == sorted(second) and second != [float(v) for v in before]
    name = browser.find_elements("css selector", "#table-funds th")[0]  # ticker, text
    name.click()
    tickers = column("table-funds", 0)
    assert tickers == sorted(tickers, reverse=True)


def test_phone_width_has_no_horizontal_page_scroll(browser, report):
    folder, _ = report
    browser.set_window_size(390, 844)
    try:
        browser.get((folder / "report.html").as_uri())
        inner, body = browser.execute_script("return [window.innerWidth, document.body.scrollWidth];")
        assert body <= inner, (body, inner)
    finally:
        browser.set_window_size(1200, 1600)


def test_untrusted_text_renders_as_text(browser, small_universe, tmp_path):
    funds = [f.model_copy(update={"name": EVIL}) if f.ticker == "AAA" else f for f in small_universe.funds]
    est = estimate(small_universe.model_copy(update={"funds": funds}), SMALL_RETURNS)
    est.warnings.append(EVIL)
    html = render_note(est)
    assert "<script>window.hacked" not in html and esc(EVIL) in html
    page = tmp_path / "evil.html"
    page.write_text(html)
    browser.get(page.as_uri())
    assert browser.execute_script("return window.hacked === undefined;")
    cells = [c.text for c in browser.find_elements("css selector", "#table-funds td")]
    assert EVIL in cells
    assert EVIL in browser.find_element("id", "warnings").text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_index_page_lists_reports_and_links_to_them(browser, report, tmp_path):
    folder, doc = report
    index = folder.parent / "index.html"
    browser.get(index.as_uri())
    rows = browser.find_elements("css selector", "#table-reports tbody tr")
    assert len(rows) == 1 and "2026-02-04" in rows[0].text and "-$13.08B" in rows[0].text
    rows[0].find_element("tag name", "a").click()
    assert browser.find_element("id", "headline-total").text == "-$13.08B"


def test_estimate_html_option_and_api(tmp_path):
    from tests.conftest import run_cli

    out = tmp_path / "note.html"
    res = run_cli("estimate", "--html", out)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert 'id="headline-total"' in text and "-$13.08B" in text
    again = run_cli("estimate", "--html", out)
    assert again.returncode == 2 and "already exists" in again.stderr
    uni = load_universe()
    assert "<!DOCTYPE html>" in estimate(uni, {"NDX": -0.02}).to_html()


def test_index_skips_unreadable_folders(tmp_path):
    (tmp_path / "2026-01-02").mkdir()
    (tmp_path / "2026-01-02" / "estimate.json").write_text("{not json")
    assert "0 reports" in render_index(tmp_path)
    assert SMALL_UNIVERSE  # the small universe is what the escaping test builds on
