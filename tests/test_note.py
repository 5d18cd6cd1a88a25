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
    assert head.text == "-$13.14B" and "of selling at the close" in browser.find_element("css selector", "p.headline").text
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
    assert len(rows) == 1 and "2026-02-04" in rows[0].text and "-$13.14B" in rows[0].text
    rows[0].find_element("tag name", "a").click()
    assert browser.find_element("id", "headline-total").text == "-$13.14B"


def test_estimate_html_option_and_api(tmp_path):
    from tests.conftest import run_cli

    out = tmp_path / "note.html"
    res = run_cli("estimate", "--html", out)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert 'id="headline-total"' in text and "-$13.14B" in text
    again = run_cli("estimate", "--html", out)
    assert again.returncode == 2 and "already exists" in again.stderr
    uni = load_universe()
    assert "<!DOCTYPE html>" in estimate(uni, {"NDX": -0.02}).to_html()


def test_index_skips_unreadable_folders(tmp_path):
    (tmp_path / "2026-01-02").mkdir()
    (tmp_path / "2026-01-02" / "estimate.json").write_text("{not json")
    assert "0 reports" in render_index(tmp_path)
    assert SMALL_UNIVERSE  # the small universe is what the escaping test builds on


# ---- the note as a reader sees it (issue 30, item 4) -----------------------------------------------


def _cells(drv, table_id: str) -> dict[str, list[str]]:
    """A table's rows by their first cell: every cell's text as shown (hidden columns included)."""
    rows = drv.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
        ".map(r => Array.from(r.cells).map(c => c.textContent));", table_id,
    )
    return {r[0]: r for r in rows}


def test_company_names_never_nan(browser, report):
    from lev_flows import replay
    from lev_flows.present.note import text_or_na

    names = {r.ticker: r.name for r in replay().tables["by_stock"].head(100)}
    # stocks held by single-stock funds only take the catalog's name of their underlying
    assert (names["IREN"], names["ASTS"], names["BMNR"]) == ("IREN Limited", "AST SpaceMobile, Inc.",
                                                            "Bitmine Immersion Technologies, Inc")
    folder, _ = report
    browser.get((folder / "report.html").as_uri())
    stocks = _cells(browser, "table-stocks")
    assert stocks["IREN"][1] == "IREN Limited" and stocks["BMNR"][1] == "Bitmine Immersion Technologies, Inc"
    shown = browser.execute_script("return Array.from(document.querySelectorAll('td')).map(c => c.textContent);")
    assert "nan" not in shown and "None" not in shown
    assert [text_or_na(v) for v in (None, float("nan"), " ", "Nvidia")] == ["n/a", "n/a", "n/a", "Nvidia"]


def test_every_table_fits_at_1400_px_and_at_phone_width(browser, report):
    """No table is cut (wider than its box) at 1400 px nor at 390 px; on a phone the optional
    columns (names, AUM source, method ...) give way and the rebalance stays."""
    folder, _ = report
    try:
        for width in (1400, 390):
            browser.set_window_size(width, 1000)
            browser.get((folder / "report.html").as_uri())
            boxes = browser.execute_script(
                "return Array.from(document.querySelectorAll('div.scroll'))"
                ".map(e => [e.firstChild.id, e.scrollWidth, e.clientWidth]);")
            assert len(boxes) == 7 and all(scroll <= client for _, scroll, client in boxes), (width, boxes)
        heads = [h.text for h in browser.find_elements("css selector", "#table-funds th") if h.is_displayed()]
        assert heads == ["ticker", "L", "underlying", "AUM", "return", "rebalance"]
    finally:
        browser.set_window_size(1200, 1600)
    browser.get((folder / "report.html").as_uri())
    funds = _cells(browser, "table-funds")
    assert funds["SOXL"][8] == "own price / 3" and funds["TQQQ"][8] == "NAV (issuer) / 3"  # the fund's own ticker left out
    assert funds["MUU"][1] == "Direxion Daily MU Bull 2X Shares"


def test_fund_names_are_checked_against_the_underlying(shared):
    import numpy as np
    import pandas as pd
    import yaml

    from lev_flows.analysis.verify import name_flags, verify
    from lev_flows.inputs.catalog import universe_from_data
    from lev_flows.inputs.sources.screener import import_snapshot
    from tests.conftest import SMALL_UNIVERSE

    shipped = load_universe()
    assert shipped.fund_by_ticker["MUU"].name == "Direxion Daily MU Bull 2X Shares" and shipped.fund_by_ticker["MUU"].underlying == "MU"
    assert name_flags(shipped) == {}  # Volatility Shares' ether fund, Big Oil, Gold Miners, Crypto Industry: no false flag
    # the screener's names, as they were, are flagged
    wrong = {"MUU": "Dx Daily Muni Bond Bull 2x Shares", "MSFU": "Direxion Daily MSCI Consumer Discretionary Bull 2x Fund"}
    funds = [f.model_copy(update={"name": wrong[f.ticker]}) if f.ticker in wrong else f for f in shipped.funds]
    assert name_flags(shipped.model_copy(update={"funds": funds})) == {
        "MSFU": "name: mentions an index (MSCI); the underlying is MSFT (Microsoft Corp, equity)",
        "MUU": "name: mentions 'Muni' (fixed income); the underlying is MU (Micron Technology, Inc., equity)",
    }
    # the importer corrects them from its override table
    imported = {f["ticker"]: f for f in import_snapshot(shared / "letf_snapshots/leveraged_etfs_2026-06-01.csv").funds}
    assert imported["MUU"]["name"] == "Direxion Daily MU Bull 2X Shares" and imported["MSFU"]["name"] == "Direxion Daily MSFT Bull 2X Shares"
    # `universe verify` flags a name even where the fund's prices cannot be checked
    small = universe_from_data(yaml.safe_load(SMALL_UNIVERSE.replace("name: Two Bull Stock,", "name: Two Bull Muni Bond,")))
    closes = pd.DataFrame({"STK1": 100.0 + np.arange(120.0)}, index=pd.bdate_range("2025-01-02", periods=120))
    rows = verify(small, closes).table.set_index("ticker")
    assert rows.loc["CCC", "status"] == "flagged" and rows.loc["CCC", "flags"] == (
        "name: mentions 'Muni' (fixed income); the underlying is STK1 (Stock One, equity); no prices in the table")
    assert rows.loc["AAA", "status"] == "not checked"


def test_flow_over_the_closing_auction_is_flagged(browser, report):
    from lev_flows.present.note import auction_flag

    assert [auction_flag(-1.05, True), auction_flag(-1.42, True), auction_flag(-0.6, True), auction_flag(-0.3, False)] == [
        "over the auction", "over the auction", "over half", ""]
    folder, _ = report
    browser.get((folder / "report.html").as_uri())
    liq = _cells(browser, "table-liquidity")
    assert liq["MPWR"][7:] == ["-121.7%", "over the auction"] and liq["MCHP"][7:] == ["-104.4%", "over the auction"]
    for ticker, row in liq.items():  # every row: the flag says what flow / auction says
        ratio = abs(float(row[7].rstrip("%"))) / 100
        assert row[8] == ("over the auction" if ratio > 1 else "over half" if ratio > 0.5 else ""), ticker


def test_rank_and_its_chart_stop_at_the_note_day(browser, report):
    folder, _ = report
    browser.get((folder / "report.html").as_uri())
    days = browser.execute_script(
        "return Array.from(document.querySelectorAll('#chart-history rect.bar')).map(r => r.textContent.slice(0, 10));")
    assert len(days) == 260 and max(days) == days[-1] == "2026-02-04"
    assert browser.find_element("css selector", "#chart-history rect.bar:last-of-type").get_attribute("class") == "bar hl"
    ticks = [t.text for t in browser.find_elements("css selector", "#chart-history text.tick")]
    assert ticks == ["-$25B", "$0", "+$25B", "2025-01-23", "2026-02-04"]  # a y-axis, and the first and last day
    assert browser.find_element("id", "rank").text.startswith("-$13.14B: rank 26 by size of the 524 sessions to 2026-02-04")


def test_rank_of_a_history_running_past_the_day_ignores_the_later_days():
    """Hand-made history: the note's day (-10B) is the largest by size up to it; a later day of
    -20B (look-ahead) must not push it to rank 2, nor show in the chart."""
    import datetime as dt

    import pandas as pd

    from lev_flows import replay
    from lev_flows.analysis.history import HistoryResult

    est = replay()
    days = pd.bdate_range("2026-01-05", "2026-03-31")
    flows = pd.Series([1e9 * (i % 5 - 2) for i in range(len(days))], index=days)
    flows[pd.Timestamp("2026-02-04")], flows[pd.Timestamp("2026-03-02")] = -10e9, -20e9
    empty = pd.DataFrame()
    h = HistoryResult(daily=pd.DataFrame({"rebalance_usd": flows}), by_index=empty, top_stocks=empty, aum_usd=empty,
                      underlying_return=empty, rebalance_by_fund=empty, note="hand-made")
    html = render_note(est, history=h, generated=dt.datetime(2026, 2, 4, 22, 0))
    before = int((days <= "2026-02-04").sum())
    assert before == 23
    assert f"-$10.00B: rank 1 by size of the {before} sessions to 2026-02-04 (top 4%), rank 1 among the selling ones" in html
    chart = html[html.index('id="chart-history"'):]
    chart = chart[:chart.index("</svg>")]
    assert "2026-03-02" not in chart and chart.count('class="bar ') == before and chart.count('class="bar hl"') == 1
    assert f"Daily net rebalance (USD), the {before} sessions to 2026-02-04" in chart
    one = HistoryResult(daily=pd.DataFrame({"rebalance_usd": [-10e9]}, index=[pd.Timestamp("2026-02-04")]), by_index=empty,
                        top_stocks=empty, aum_usd=empty, underlying_return=empty, rebalance_by_fund=empty, note="one day")
    assert "rank 1 by size of the 1 session to 2026-02-04 (top 100%), rank 1 among the selling ones, z = n/a (one value)." in (
        render_note(est, history=one, generated=dt.datetime(2026, 2, 4, 22, 0)))


def test_plural_sessions_and_sector_shares(report):
    import re

    from lev_flows import replay
    from lev_flows.present.note import plural

    assert [plural(1, "session"), plural(2, "session"), plural(0, "session")] == ["1 session", "2 sessions", "0 sessions"]
    folder, _ = report
    html = (folder / "report.html").read_text()
    assert re.search(r"\b1 sessions\b", html) is None and "median gap 1 session)" in html and "median of 1 session old" in html
    # the sector share is of the gross |flow|: buying sectors too, all positive, adding up to 100 %
    sectors = replay().tables["by_sector"].head()
    gross = sum(abs(r.flow_usd) for r in sectors)
    assert all(r.share == pytest.approx(abs(r.flow_usd) / gross, rel=1e-12) for r in sectors)
    assert sum(r.share for r in sectors) == pytest.approx(1.0, rel=1e-12) and min(r.share for r in sectors) > 0
    energy = next(r for r in sectors if r.sector == "Energy")
    assert energy.flow_usd > 0 and energy.share == pytest.approx(20.1e6 / 12.848e9, rel=0.01)
    assert "share of |flow|" in html and 'id="sector-share"' in html
