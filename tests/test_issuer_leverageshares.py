"""Leverage Shares' per-fund Full Holdings CSVs over HTTP on 127.0.0.1: one request per fund at
``/us/storage/holdings/{TICKER}_Holdings.csv``, net assets and shares from the file's fund-level
fields (the swap line's MarketValue is its exposure), and every fault (retry, 404, HTML, empty,
another layout, a file of another fund, thousands, a future date, a day-first date). Fixtures:
three funds' holdings of 2026-02-03 in the Filepoint layout (swap, bills / money market, cash)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from werkzeug import Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.leverageshares import (
    PROVIDER,
    LeverageSharesProvider,
)
from tests.servers import issuer_client, observation_rows

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "leverageshares"
FILES = {t: (FIXTURES / f"{t}_Holdings.csv").read_text() for t in ("AAOG", "SNDG", "SKHX")}
FEB3 = dt.date(2026, 2, 3)
#: the Themes ETF Trust's own holdings export (themesetfs.com): another layout
THEMES_LAYOUT = ("id,date,account,stock_ticker,cusip,security_name,shares,price,market_value,weightings,net_assets,"
                 "shares_outstanding,creation_units,money_market_flag,country_code,country_full,sector\n"
                 "1,2026-02-03,BOTT,\"002747 C2\",BFCCQJ9,\"Estun Automation Co Ltd\",263600.000000,28.450000,"
                 "1117198.74,1.70,65732424.000000,1580000,158.0000,0,CH,China,Industrials\n")


def client() -> HttpClient:
    return issuer_client(attempts=2)


def path(ticker: str) -> str:
    return f"/us/storage/holdings/{ticker}_Holdings.csv"


def serve(server, ticker: str, text: str | None = None, status: int = 200, content_type: str = "text/csv") -> str:
    body = FILES[ticker] if text is None else text
    server.expect_request(path(ticker)).respond_with_data(body, status=status, content_type=content_type)
    return server.url_for(path(ticker))


def fetch(server, tickers):
    return LeverageSharesProvider(client(), server.url_for("/")).fetch(tickers)


def edited(ticker: str, old: str, new: str, count: int = 1) -> str:
    assert FILES[ticker].count(old) == count, old
    return FILES[ticker].replace(old, new)


# ---- good files ---------------------------------------------------------------------------------


def test_good_files_give_net_assets_and_shares_of_each_fund(server):
    urls = {t: serve(server, t) for t in FILES}
    result = fetch(server, ["aaog", "SNDG", "SKHX"])
    assert result.failed == {} and result.asked == ["AAOG", "SKHX", "SNDG"]
    assert observation_rows(result.observations, "AAOG") == [("AAOG", FEB3, 18420615.37, None, 750000.0)]
    assert observation_rows(result.observations, "SNDG") == [("SNDG", FEB3, 61284530.12, None, 1150000.0)]
    assert observation_rows(result.observations, "SKHX") == [("SKHX", FEB3, 9870412.55, None, 400000.0)]
    frame = result.observations.set_index("ticker")
    assert frame["source"].to_dict() == urls
    assert set(frame["source_kind"]) == {"issuer_nav"} and frame["nav"].isna().all()


def test_one_request_per_fund_at_the_real_path(server):
    serve(server, "AAOG")
    serve(server, "SKHX")
    fetch(server, ["SKHX", "AAOG"])
    assert sorted(req.path for req, _ in server.log) == [path("AAOG"), path("SKHX")]
    provider = LeverageSharesProvider(client(), "https://leverageshares.com/")
    assert provider.requests(["SNDG"]) == [("SNDG", "https://leverageshares.com/us/storage/holdings/SNDG_Holdings.csv")]
    assert (PROVIDER.issuer, PROVIDER.url_env, PROVIDER.default_url) == (
        "Leverage Shares", "LEV_FLOWS_LEVERAGESHARES_URL", "https://leverageshares.com")


def test_the_sum_of_market_values_is_not_taken_for_a_swap_fund():
    # the swap line carries its exposure (about 2x net assets); NetAssets is the fund's figure
    provider = LeverageSharesProvider(client(), "http://127.0.0.1:1")
    got = provider.parse("SNDG", 200, FILES["SNDG"].encode(), "u")
    assert [(o.aum_usd, o.shares_outstanding) for o in got] == [(61284530.12, 1150000.0)]
    without_shares = "\n".join(",".join(line.split(",")[:10]) for line in FILES["SKHX"].strip().splitlines())
    got = provider.parse("SKHX", 200, without_shares.encode(), "u")
    assert [(o.aum_usd, o.shares_outstanding) for o in got] == [(9870412.55, None)]


# ---- faults -------------------------------------------------------------------------------------


def test_http_500_then_success_is_retried(server):
    answers = iter([Response("busy", status=500), Response(FILES["AAOG"], content_type="text/csv")])
    server.expect_request(path("AAOG")).respond_with_handler(lambda request: next(answers))
    result = fetch(server, ["AAOG"])
    assert result.failed == {} and observation_rows(result.observations, "AAOG") == [("AAOG", FEB3, 18420615.37, None, 750000.0)]
    assert [req.path for req, _ in server.log] == [path("AAOG")] * 2


FAULTS = [
    ("Not Found", 404, "text/plain", "SNDG: not found (HTTP 404) ("),
    ("<!DOCTYPE html><html><head><title>Leverage Shares</title></head><body>Page not found</body></html>", 200,
     "text/html", "SNDG: HTML page instead of the Leverage Shares holdings CSV ("),
    ("", 200, "text/csv", "SNDG: empty body ("),
    (THEMES_LAYOUT, 200, "text/csv", ("SNDG: not a Leverage Shares holdings file: no Date, Account, MarketValue, "
                                      "Weightings, NetAssets column (header: id, date, account, stock_ticker,")),
    (FILES["SKHX"], 200, "text/csv", "SNDG: the file is for SKHX, not SNDG ("),
    (FILES["SNDG"].splitlines()[0] + "\n", 200, "text/csv", "SNDG: no holdings rows ("),
]


@pytest.mark.parametrize(("body", "status", "content_type", "reason"), FAULTS)
def test_a_bad_answer_fails_that_fund_only_with_the_reason(server, body, status, content_type, reason):
    url = serve(server, "SNDG", body, status, content_type)
    serve(server, "AAOG")
    result = fetch(server, ["SNDG", "AAOG"])
    assert list(result.failed) == ["SNDG"]
    assert result.failed["SNDG"].startswith(reason) and result.failed["SNDG"].endswith(f"({url})")
    assert observation_rows(result.observations, "AAOG") == [("AAOG", FEB3, 18420615.37, None, 750000.0)]


def test_a_fund_the_issuer_does_not_list_is_failed_the_others_kept(server):
    # the site has no file for a fund it does not run: HTTP 404
    server.expect_request(path("ZZZZ")).respond_with_data("Not Found", status=404, content_type="text/plain")
    url = server.url_for(path("ZZZZ"))
    serve(server, "SKHX")
    result = fetch(server, ["ZZZZ", "SKHX"])
    assert result.failed == {"ZZZZ": f"ZZZZ: not found (HTTP 404) ({url})"}
    assert observation_rows(result.observations, "SKHX") == [("SKHX", FEB3, 9870412.55, None, 400000.0)]


def test_net_assets_in_thousands_fail_that_fund_only(server):
    url = serve(server, "AAOG", edited("AAOG", ",18420615.37,", ",18420.62,", count=3))
    serve(server, "SKHX")
    result = fetch(server, ["AAOG", "SKHX"])
    assert result.failed == {"AAOG": "AAOG: 2026-02-03: net assets look given in thousands (NetAssets 18,420.62 "
                                     f"against MarketValue / Weightings 18,420,392) ({url})"}
    assert observation_rows(result.observations, "AAOG") == [] and len(observation_rows(result.observations, "SKHX")) == 1


def test_net_assets_that_disagree_with_the_weights_fail_that_fund(server):
    url = serve(server, "SKHX", edited("SKHX", ",9870412.55,", ",4935206.28,", count=3))
    result = fetch(server, ["SKHX"])
    assert result.failed == {"SKHX": "SKHX: 2026-02-03: NetAssets 4,935,206.28 disagree with MarketValue / "
                                     f"Weightings 9,870,529 ({url})"}


def test_net_assets_that_differ_between_rows_fail_that_fund(server):
    text = FILES["SKHX"].replace("5400000.00,54.71%,9870412.55", "5400000.00,54.71%,9870412.56")
    url = serve(server, "SKHX", text)
    result = fetch(server, ["SKHX"])
    assert result.failed == {
        "SKHX": f"SKHX: 2026-02-03: NetAssets differs between rows (9,870,412.55, 9,870,412.56) ({url})"}


def test_a_future_date_fails_that_fund_only(server):
    url = serve(server, "SKHX", edited("SKHX", "02/03/2026", "02/05/2026", count=3))
    serve(server, "SNDG")
    result = fetch(server, ["SKHX", "SNDG"])
    assert result.failed == {"SKHX": f"SKHX: date 2026-02-05 is in the future (today is 2026-02-04) ({url})"}
    assert observation_rows(result.observations, "SNDG") == [("SNDG", FEB3, 61284530.12, None, 1150000.0)]


def test_a_day_first_date_fails_that_fund_naming_it_and_the_url(server):
    url = serve(server, "SNDG", edited("SNDG", "02/03/2026", "13/01/2026", count=4))
    serve(server, "SKHX")
    result = fetch(server, ["SNDG", "SKHX"])
    assert result.failed == {
        "SNDG": f"SNDG: Date: '13/01/2026' is a day-first date (expected month/day/year) ({url})"}
    assert observation_rows(result.observations, "SKHX") == [("SKHX", FEB3, 9870412.55, None, 400000.0)]
