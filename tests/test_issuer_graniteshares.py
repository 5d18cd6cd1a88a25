"""GraniteShares over HTTP on 127.0.0.1: per fund, its page ``/etfs/{ticker}/`` (for the product
id) then its product data ``/product/{id}/en-us/`` (NAV, AUM, NavDate), and every fault on either
request (retry, 404, HTML, empty, another layout, a fund not listed, thousands, a future date, a
day-first date). Fixtures: three fund pages (the markup the public scrapers read: the scrolling
ticker's ``pId`` blocks with ``data-id``) and their product data of 2026-02-03."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from werkzeug import Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.graniteshares import (
    PROVIDER,
    GraniteSharesProvider,
    product_id,
)
from tests.servers import issuer_client, observation_rows

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "graniteshares"
PAGES = {t: (FIXTURES / f"etfs_{t.lower()}.html").read_text() for t in ("NVDL", "CONL", "PTIR")}
IDS = {"NVDL": "1096", "CONL": "1102", "PTIR": "1167"}
DATA = {t: json.loads((FIXTURES / f"product_{pid}.json").read_text()) for t, pid in IDS.items()}
FEB3 = dt.date(2026, 2, 3)
NVDL_ROW = ("NVDL", FEB3, 4102609331.56, 88.4127, None)


def client() -> HttpClient:
    return issuer_client(attempts=2)


def page_path(ticker: str) -> str:
    return f"/etfs/{ticker.lower()}/"


def data_path(ticker: str) -> str:
    return f"/product/{IDS[ticker]}/en-us/"


def serve_page(server, ticker: str, text: str | None = None, status: int = 200, content_type: str = "text/html") -> str:
    body = PAGES[ticker] if text is None else text
    server.expect_request(page_path(ticker)).respond_with_data(body, status=status, content_type=content_type)
    return server.url_for(page_path(ticker))


def serve_data(server, ticker: str, payload=None, status: int = 200, content_type: str = "application/json") -> str:
    body = json.dumps(DATA[ticker] if payload is None else payload) if not isinstance(payload, str) else payload
    server.expect_request(data_path(ticker)).respond_with_data(body, status=status, content_type=content_type)
    return server.url_for(data_path(ticker))


def serve_fund(server, ticker: str, payload=None) -> str:
    serve_data(server, ticker, payload)
    return serve_page(server, ticker)


def fetch(server, tickers):
    return GraniteSharesProvider(client(), server.url_for("/")).fetch(tickers)


def patched(ticker: str, **fields) -> dict:
    return {**DATA[ticker], **fields}


# ---- good answers -------------------------------------------------------------------------------


def test_good_answers_give_nav_and_net_assets_of_each_fund(server):
    pages = {t: serve_fund(server, t) for t in IDS}
    result = fetch(server, ["nvdl", "CONL", "PTIR"])
    assert result.failed == {} and result.asked == ["CONL", "NVDL", "PTIR"]
    assert observation_rows(result.observations, "NVDL") == [NVDL_ROW]
    assert observation_rows(result.observations, "CONL") == [("CONL", FEB3, 708438062.41, 21.3385, None)]
    assert observation_rows(result.observations, "PTIR") == [("PTIR", FEB3, 921718249.82, 45.0718, None)]
    assert result.observations.set_index("ticker")["source"].to_dict() == pages


def test_the_page_then_the_product_data_at_the_real_paths(server):
    serve_fund(server, "NVDL")
    fetch(server, ["NVDL"])
    assert [req.path for req, _ in server.log] == ["/etfs/nvdl/", "/product/1096/en-us/"]
    provider = GraniteSharesProvider(client(), "https://www.graniteshares.com/")
    assert provider.requests(["PTIR"]) == [("PTIR", "https://www.graniteshares.com/etfs/ptir/")]
    assert provider.data_url("1167") == "https://www.graniteshares.com/product/1167/en-us/"
    assert (PROVIDER.issuer, PROVIDER.url_env, PROVIDER.default_url) == (
        "GraniteShares", "LEV_FLOWS_GRANITESHARES_URL", "https://www.graniteshares.com")


def test_the_product_id_is_the_funds_own_among_all_the_pages_ids():
    for ticker, pid in IDS.items():
        assert product_id(PAGES[ticker].encode(), ticker) == pid
    # a page with only the fund's title block (no links): the pId block naming the ticker
    bare = b'<html><body><span class="etf-ticker pId" data-id="1109"> TSLR </span></body></html>'
    assert product_id(bare, "TSLR") == "1109"


def test_shares_are_read_when_the_product_data_gives_them(server):
    serve_fund(server, "NVDL", patched("NVDL", SharesOutstanding=46403000))
    result = fetch(server, ["NVDL"])
    assert result.failed == {} and observation_rows(result.observations, "NVDL") == [("NVDL", FEB3, 4102609331.56, 88.4127, 46403000.0)]


# ---- faults -------------------------------------------------------------------------------------


def test_http_500_then_success_is_retried_on_both_requests(server):
    pages = iter([Response("busy", status=500), Response(PAGES["NVDL"], content_type="text/html")])
    data = iter([Response("busy", status=503), Response(json.dumps(DATA["NVDL"]), content_type="application/json")])
    server.expect_request(page_path("NVDL")).respond_with_handler(lambda request: next(pages))
    server.expect_request(data_path("NVDL")).respond_with_handler(lambda request: next(data))
    result = fetch(server, ["NVDL"])
    assert result.failed == {} and observation_rows(result.observations, "NVDL") == [NVDL_ROW]
    assert [req.path for req, _ in server.log] == [page_path("NVDL")] * 2 + [data_path("NVDL")] * 2


NOT_JSON = "HTML page instead of the product JSON (it answers JSON only after a fund page) ("
PAGE_FAULTS = [
    ("Not Found", 404, "text/plain", "CONL: not found (HTTP 404) ("),
    ("", 200, "text/html", "CONL: empty body ("),
    ("<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>", 200, "text/html",
     "CONL: no product id for CONL on the fund page (not a fund page, or its layout changed) ("),
    ('{"Message": "An error has occurred."}', 200, "application/json",
     "CONL: not a GraniteShares fund page (not HTML: '{\"Message\": \"An error has occurred.\"}') ("),
]


@pytest.mark.parametrize(("body", "status", "content_type", "reason"), PAGE_FAULTS)
def test_a_bad_fund_page_fails_that_fund_only(server, body, status, content_type, reason):
    url = serve_page(server, "CONL", body, status, content_type)
    serve_fund(server, "NVDL")
    result = fetch(server, ["CONL", "NVDL"])
    assert list(result.failed) == ["CONL"]
    assert result.failed["CONL"].startswith(reason) and result.failed["CONL"].endswith(f"({url})")
    assert observation_rows(result.observations, "NVDL") == [NVDL_ROW]


DATA_FAULTS = [
    ("Not Found", 404, "text/plain", "PTIR: product data not found (HTTP 404) ("),
    ("<!DOCTYPE html><html><body>GraniteShares</body></html>", 200, "text/html", "PTIR: " + NOT_JSON),
    ("", 200, "application/json", "PTIR: empty product data ("),
    ('{"Message": "An error has occurred."}', 200, "application/json",
     "PTIR: not GraniteShares product data: no Nav, AUM, NavDate field (fields: Message) ("),
    ('[{"Nav": 45.0718}]', 200, "application/json", "PTIR: product data is not a JSON object ("),
]


@pytest.mark.parametrize(("body", "status", "content_type", "reason"), DATA_FAULTS)
def test_bad_product_data_fails_that_fund_only_naming_the_data_url(server, body, status, content_type, reason):
    serve_page(server, "PTIR")
    url = serve_data(server, "PTIR", body, status, content_type)
    serve_fund(server, "NVDL")
    result = fetch(server, ["PTIR", "NVDL"])
    assert list(result.failed) == ["PTIR"]
    assert result.failed["PTIR"].startswith(reason) and result.failed["PTIR"].endswith(f"({url})")
    assert observation_rows(result.observations, "NVDL") == [NVDL_ROW]


def test_a_fund_graniteshares_does_not_list_is_failed_the_others_kept(server):
    server.expect_request("/etfs/zzzz/").respond_with_data("Not Found", status=404, content_type="text/plain")
    serve_fund(server, "NVDL")
    result = fetch(server, ["ZZZZ", "NVDL"])
    assert result.failed == {"ZZZZ": f"ZZZZ: not found (HTTP 404) ({server.url_for('/etfs/zzzz/')})"}
    assert observation_rows(result.observations, "NVDL") == [NVDL_ROW]


def test_net_assets_in_thousands_fail_that_fund_only(server):
    page = serve_fund(server, "NVDL", patched("NVDL", AUM=4102609.33, SharesOutstanding=46403000))
    serve_fund(server, "CONL")
    result = fetch(server, ["NVDL", "CONL"])
    assert result.failed == {"NVDL": "NVDL 2026-02-03: net assets look given in thousands NAV x shares (88.4127 x "
                                     f"46,403,000 = 4,102,614,518 against 4,102,609) ({page})"}
    assert observation_rows(result.observations, "NVDL") == [] and len(observation_rows(result.observations, "CONL")) == 1


def test_a_future_date_fails_that_fund_only(server):
    page = serve_fund(server, "CONL", patched("CONL", NavDate="2026-02-05T00:00:00"))
    serve_fund(server, "PTIR")
    result = fetch(server, ["CONL", "PTIR"])
    assert result.failed == {"CONL": f"CONL: date 2026-02-05 is in the future (today is 2026-02-04) ({page})"}
    assert observation_rows(result.observations, "PTIR") == [("PTIR", FEB3, 921718249.82, 45.0718, None)]


def test_a_day_first_date_fails_that_fund_naming_it_and_the_url(server):
    serve_page(server, "PTIR")
    url = serve_data(server, "PTIR", patched("PTIR", NavDate="13/01/2026"))
    serve_fund(server, "NVDL")
    result = fetch(server, ["PTIR", "NVDL"])
    assert result.failed == {
        "PTIR": f"PTIR: NavDate: '13/01/2026' is a day-first date (expected month/day/year) ({url})"}
    assert observation_rows(result.observations, "NVDL") == [NVDL_ROW]


def test_a_figure_that_is_not_a_number_fails_that_fund(server):
    serve_page(server, "CONL")
    url = serve_data(server, "CONL", patched("CONL", AUM="n/a*"))
    result = fetch(server, ["CONL"])
    assert result.failed == {"CONL": f"CONL: AUM: 'n/a*' is not a number ({url})"}
