"""SEC EDGAR N-PORT provider against a loopback server serving the real layouts (fixtures in
``tests/fixtures/edgar``): the fund ticker file, two registrants' submissions (one with an older
page), and NPORT-P ``primary_doc.xml`` files of four series. No test touches the internet.

Hand-worked figures (flows at the month end: N_{m-1} = (N_m - F_m) / (1 + r_m / 100),
F = sales + reinvestment - redemption; r in percent):

TQQQ, filing 0001752724-26-016321 (quarter Sep-Nov 2025), N_Nov = 27,412,385,120.55
    F_Nov = 3,405,776,990.80 - 2,120,448,275.35 = 1,285,328,715.45, r_Nov = -6.47
    N_Oct = (27,412,385,120.55 - 1,285,328,715.45) / 0.9353 = 27,934,412,921.09
    F_Oct = 1,877,203,118.25 - 2,968,551,003.10 = -1,091,347,884.85, r_Oct = 13.05
    N_Sep = (27,934,412,921.09 + 1,091,347,884.85) / 1.1305 = 25,675,153,300.26
TQQQ, 0001752724-25-231207 (Jun-Aug), N_Aug = 23,384,291,876.12
    F_Aug = 1,980,447,215.05 - 1,733,562,088.90 = 246,885,126.15, r_Aug = 2.94
    N_Jul = (23,384,291,876.12 - 246,885,126.15) / 1.0294 = 22,476,594,861.05
    F_Jul = 1,422,950,312.70 - 2,876,004,119.25 = -1,453,053,806.55, r_Jul = 7.12
    N_Jun = (22,476,594,861.05 + 1,453,053,806.55) / 1.0712 = 22,339,104,432.04
TQQQ, 0001752724-25-172034 (Mar-May, on the older page), N_May = 19,873,604,218.77
    F_May = 2,350,771,093.20 - 4,902,668,457.95 = -2,551,897,364.75, r_May = 28.40
    N_Apr = (19,873,604,218.77 + 2,551,897,364.75) / 1.2840 = 17,465,343,912.40
    F_Apr = 4,410,229,871.35 - 3,888,104,276.40 = 522,125,594.95, r_Apr = 0.85
    N_Mar = (17,465,343,912.40 - 522,125,594.95) / 1.0085 = 16,800,414,791.72
SQQQ, 0001752724-26-016330 (Sep-Nov), N_Nov = 2,918,440,372.18
    F_Nov = 702,331,984.10 - 1,129,884,410.55 = -427,552,426.45, r_Nov = 4.71
    N_Oct = (2,918,440,372.18 + 427,552,426.45) / 1.0471 = 3,195,485,434.66
    F_Oct = 1,633,104,528.65 - 812,449,007.35 = 820,655,521.30, r_Oct = -11.88
    N_Sep = (3,195,485,434.66 - 820,655,521.30) / 0.8812 = 2,694,995,362.41
SQQQ, 0001752724-25-231215 (Jun-Aug), N_Aug = 2,410,778,903.64
    F_Aug = 988,114,305.90 - 1,042,276,513.35 = -54,162,207.45, r_Aug = -3.12
    N_Jul = (2,410,778,903.64 + 54,162,207.45) / 0.9688 = 2,544,324,020.53
    F_Jul = 1,250,387,722.40 - 690,554,197.65 = 559,833,524.75, r_Jul = -6.33
    N_Jun = (2,544,324,020.53 - 559,833,524.75) / 0.9367 = 2,118,597,732.23
SOXL, 0001193125-25-301448 (Aug-Oct, Direxion's fiscal quarter), N_Oct = 12,604,117,925.31
    F_Oct = 3,966,102,884.75 - 6,311,870,552.10 = -2,345,767,667.35, r_Oct = 37.82
    N_Sep = (12,604,117,925.31 + 2,345,767,667.35) / 1.3782 = 10,847,399,211.04
    F_Sep = 2,877,015,406.20 - 5,120,338,712.65 = -2,243,323,306.45, r_Sep = 33.55
    N_Aug = (10,847,399,211.04 + 2,243,323,306.45) / 1.3355 = 9,802,113,453.76
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from lev_flows.inputs.sources import edgar
from lev_flows.inputs.sources.edgar import (
    EdgarNport,
    NportFiling,
    best_per_month,
    filing_candidates,
    month_end,
    parse_nport,
)
from lev_flows.inputs.sources.http import HttpClient, HttpSettings

FIXTURES = Path(__file__).parent / "fixtures" / "edgar"
D = dt.date
SINCE = D(2019, 1, 1)  # the provider's default

ARCHIVE = "/Archives/edgar/data"
TQQQ_NOV, TQQQ_AUG, TQQQ_MAY = "0001752724-26-016321", "0001752724-25-231207", "0001752724-25-172034"
SQQQ_NOV, SQQQ_AUG = "0001752724-26-016330", "0001752724-25-231215"
QLD_NOV, SOXL_OCT = "0001752724-26-016344", "0001193125-25-301448"
CIK_OF = {TQQQ_NOV: 1174610, TQQQ_AUG: 1174610, TQQQ_MAY: 1174610, SQQQ_NOV: 1174610, SQQQ_AUG: 1174610,
          QLD_NOV: 1174610, SOXL_OCT: 1424958}
#: forms in the indexes that are not NPORT-P: never asked for
OTHER_FORMS = ("0001174610-26-000012", "0001174610-25-000031", "0001193125-25-290002")

#: (ticker, month end) -> (net assets, exact?) from the hand-worked figures above
EXPECTED = {
    ("TQQQ", D(2025, 3, 31)): (16_800_414_791.72, False), ("TQQQ", D(2025, 4, 30)): (17_465_343_912.40, False),
    ("TQQQ", D(2025, 5, 31)): (19_873_604_218.77, True), ("TQQQ", D(2025, 6, 30)): (22_339_104_432.04, False),
    ("TQQQ", D(2025, 7, 31)): (22_476_594_861.05, False), ("TQQQ", D(2025, 8, 31)): (23_384_291_876.12, True),
    ("TQQQ", D(2025, 9, 30)): (25_675_153_300.26, False), ("TQQQ", D(2025, 10, 31)): (27_934_412_921.09, False),
    ("TQQQ", D(2025, 11, 30)): (27_412_385_120.55, True),
    ("SQQQ", D(2025, 6, 30)): (2_118_597_732.23, False), ("SQQQ", D(2025, 7, 31)): (2_544_324_020.53, False),
    ("SQQQ", D(2025, 8, 31)): (2_410_778_903.64, True), ("SQQQ", D(2025, 9, 30)): (2_694_995_362.41, False),
    ("SQQQ", D(2025, 10, 31)): (3_195_485_434.66, False), ("SQQQ", D(2025, 11, 30)): (2_918_440_372.18, True),
    ("SOXL", D(2025, 8, 31)): (9_802_113_453.76, False), ("SOXL", D(2025, 9, 30)): (10_847_399_211.04, False),
    ("SOXL", D(2025, 10, 31)): (12_604_117_925.31, True),
}
#: the filing (accession, filing date) each expected row comes from
FROM = {"TQQQ": {5: (TQQQ_MAY, D(2025, 7, 29)), 8: (TQQQ_AUG, D(2025, 10, 29)), 11: (TQQQ_NOV, D(2026, 1, 28))},
        "SQQQ": {8: (SQQQ_AUG, D(2025, 10, 29)), 11: (SQQQ_NOV, D(2026, 1, 28))},
        "SOXL": {10: (SOXL_OCT, D(2025, 12, 23))}}


def xml_path(accession: str) -> str:
    return f"{ARCHIVE}/{CIK_OF[accession]}/{accession.replace('-', '')}/primary_doc.xml"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def serve(server: HTTPServer, replace: dict[str, object] | None = None) -> None:
    """Every fixture at its real path; ``replace`` maps a path to other bytes, or to a
    ``(status, body)`` answer."""
    files = {
        "/files/company_tickers_mf.json": fixture("company_tickers_mf.json"),
        "/submissions/CIK0001174610.json": fixture("CIK0001174610.json"),
        "/submissions/CIK0001174610-submissions-001.json": fixture("CIK0001174610-submissions-001.json"),
        "/submissions/CIK0001424958.json": fixture("CIK0001424958.json"),
        **{xml_path(acc): fixture(f"nport/{acc}.xml") for acc in CIK_OF},
    }
    files.update(replace or {})
    for path, answer in files.items():
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        server.expect_request(path).respond_with_response(Response(body, status=status))


def provider(server: HTTPServer, attempts: int = 1) -> EdgarNport:
    client = HttpClient(HttpSettings(attempts=attempts, backoff_s=0, timeout_s=2, deadline_s=5, concurrency=2, cache_dir=None))
    base = server.url_for("/").rstrip("/")
    return EdgarNport(client, base_url=base, data_url=base)


def url(server: HTTPServer, accession: str) -> str:
    return server.url_for(xml_path(accession))


def rows_of(result, ticker: str) -> dict[dt.date, tuple]:
    frame = result.observations[result.observations["ticker"] == ticker]
    return {r.date: (r.aum_usd, r.source, r.published, r.source_kind, r.nav, r.shares_outstanding)
            for r in frame.itertuples()}


def expected_rows(server: HTTPServer, ticker: str, since: dt.date = SINCE) -> dict[dt.date, tuple]:
    out = {}
    for (t, day), (aum, exact) in EXPECTED.items():
        if t != ticker or day < since:
            continue
        quarter_end = min(m for m in FROM[t] if m >= day.month)
        accession, filed = FROM[t][quarter_end]
        source = url(server, accession) + ("" if exact else "#derived")
        out[day] = (aum, source, filed, "nport", None, None)
    return out


def assert_rows(result, server: HTTPServer, ticker: str, since: dt.date = SINCE) -> None:
    got, want = rows_of(result, ticker), expected_rows(server, ticker, since)
    assert sorted(got) == sorted(want)
    for day in want:
        assert got[day][0] == pytest.approx(want[day][0], abs=0.011), (ticker, day)
        assert got[day][1:4] == want[day][1:4], (ticker, day)
        assert got[day][4] is None or got[day][4] != got[day][4]  # no NAV in N-PORT (None or NaN)


def paths(server: HTTPServer) -> list[str]:
    return [req.path for req, _ in server.log]


# ---- a good run -----------------------------------------------------------------------------------


def test_good_files_give_exact_quarter_ends_and_derived_months(server):
    serve(server)
    result = provider(server).fetch(["tqqq", "SQQQ", "SOXL"])
    assert result.failed == {}
    assert result.asked == ["SOXL", "SQQQ", "TQQQ"]
    assert result.provider == "SEC EDGAR N-PORT"
    assert len(result.observations) == 9 + 6 + 3
    for ticker in ("TQQQ", "SQQQ", "SOXL"):
        assert_rows(result, server, ticker)
    frame = result.observations
    assert set(frame["timing"]) == {"close"} and set(frame["source_kind"]) == {"nport"}
    tqqq = rows_of(result, "TQQQ")
    assert tqqq[D(2025, 11, 30)][0] == 27_412_385_120.55  # exact: the filing's netAssets as written
    assert tqqq[D(2025, 10, 31)][1].endswith("/000175272426016321/primary_doc.xml#derived")


def test_the_requests_made(server):
    serve(server)
    provider(server).fetch(["TQQQ", "SOXL"])
    asked = paths(server)
    assert asked.count("/files/company_tickers_mf.json") == 1
    assert asked.count("/submissions/CIK0001174610.json") == 1
    assert asked.count("/submissions/CIK0001174610-submissions-001.json") == 1  # the older page, listed in filings.files
    assert asked.count("/submissions/CIK0001424958.json") == 1
    # every NPORT-P once, SQQQ's and QLD's too (the series is only known from the XML) ...
    assert sorted(p for p in asked if p.startswith(ARCHIVE)) == sorted(xml_path(a) for a in CIK_OF)
    assert "/Archives/edgar/data/1174610/000175272426016321/primary_doc.xml" in asked
    # ... and never another form (485BPOS, N-CSR, 497)
    assert not any(a.replace("-", "") in p for p in asked for a in OTHER_FORMS)
    agent = server.log[0][0].headers.get("User-Agent")
    assert agent and agent.startswith("lev_flows/")


def test_since_skips_older_pages_and_months(server):
    serve(server)
    result = provider(server).fetch(["TQQQ"], since=D(2025, 8, 1))
    assert result.failed == {}
    # the older page ends 2025-07-30: not asked; the Aug filing's derived Jun and Jul are before since
    assert "/submissions/CIK0001174610-submissions-001.json" not in paths(server)
    assert sorted(rows_of(result, "TQQQ")) == [D(2025, 8, 31), D(2025, 9, 30), D(2025, 10, 31), D(2025, 11, 30)]
    assert_rows(result, server, "TQQQ", since=D(2025, 8, 1))


def test_env_vars_name_the_hosts(server, monkeypatch):
    serve(server)
    base = server.url_for("/").rstrip("/")
    monkeypatch.setenv("LEV_FLOWS_SEC_URL", base)
    monkeypatch.setenv("LEV_FLOWS_SEC_DATA_URL", base + "/")
    source = EdgarNport(HttpClient(HttpSettings(attempts=1, backoff_s=0, cache_dir=None)))
    assert source.tickers_url() == base + "/files/company_tickers_mf.json"
    assert source.submissions_url(1174610) == base + "/submissions/CIK0001174610.json"
    assert source.filing_url(1174610, TQQQ_NOV) == base + "/Archives/edgar/data/1174610/000175272426016321/primary_doc.xml"
    assert source.fetch(["SOXL"]).failed == {}
    monkeypatch.delenv("LEV_FLOWS_SEC_URL")
    monkeypatch.delenv("LEV_FLOWS_SEC_DATA_URL")
    source = EdgarNport(HttpClient(HttpSettings(attempts=1, cache_dir=None)))
    assert source.tickers_url() == "https://www.sec.gov/files/company_tickers_mf.json"
    assert source.submissions_url(1424958) == "https://data.sec.gov/submissions/CIK0001424958.json"


def test_requests_are_spread_over_seconds(server, monkeypatch):
    serve(server)
    waits: list[float] = []
    monkeypatch.setattr(edgar.time, "sleep", waits.append)
    source = provider(server)
    source.requests_per_second = 2
    result = source.fetch(["TQQQ", "SQQQ"])
    assert result.failed == {}
    assert len(result.observations) == 15
    assert len(waits) == 2 and all(0.5 < w <= 1 for w in waits)  # 6 filings in slices of 2: a pause between slices


# ---- faults, one by one -------------------------------------------------------------------------


def test_http_500_then_success_is_retried(server):
    server.expect_oneshot_request(xml_path(TQQQ_NOV)).respond_with_data("busy", status=500)
    server.expect_oneshot_request("/submissions/CIK0001424958.json").respond_with_data("busy", status=503)
    serve(server)
    result = provider(server, attempts=2).fetch(["TQQQ", "SOXL"])
    assert result.failed == {}
    assert_rows(result, server, "TQQQ")
    assert_rows(result, server, "SOXL")
    assert paths(server).count(xml_path(TQQQ_NOV)) == 2
    assert paths(server).count("/submissions/CIK0001424958.json") == 2


def test_a_ticker_not_in_the_file(server):
    serve(server)
    result = provider(server).fetch(["SOXL", "XYZQ"])
    assert not result.failed and result.not_covered == {"XYZQ": f"XYZQ: not in the SEC fund ticker file ({server.url_for('/files/company_tickers_mf.json')})"}
    assert_rows(result, server, "SOXL")


def test_a_series_without_filings(server):
    serve(server)
    result = provider(server).fetch(["UPRO", "TQQQ"])
    where = server.url_for("/submissions/CIK0001174610.json")
    assert result.failed == {"UPRO": ("UPRO: none of the 6 NPORT-P filings of CIK 1174610 since 2019-01-01 is for "
                                      f"series S000024905 ({where})")}
    assert_rows(result, server, "TQQQ")


def test_a_registrant_without_nport_filings(server):
    direxion = json.loads(fixture("CIK0001424958.json"))
    recent = direxion["filings"]["recent"]
    for key in recent:
        recent[key] = recent[key][1:]  # only the 497 left
    serve(server, {"/submissions/CIK0001424958.json": json.dumps(direxion).encode()})
    result = provider(server).fetch(["SOXL", "SQQQ"])
    where = server.url_for("/submissions/CIK0001424958.json")
    assert result.failed == {"SOXL": f"SOXL: CIK 1424958 has no NPORT-P filing reported since 2019-01-01 ({where})"}
    assert not any(p.startswith(f"{ARCHIVE}/1424958") for p in paths(server))
    assert_rows(result, server, "SQQQ")


def test_an_xml_that_is_not_nport(server):
    serve(server, {xml_path(SQQQ_NOV): fixture("nport/ncen_primary_doc.xml")})
    result = provider(server).fetch(["TQQQ", "SQQQ"])
    assert result.failed == {
        SQQQ_NOV: f"{SQQQ_NOV}: not an N-PORT XML (root {{http://www.sec.gov/edgar/ncen}}edgarSubmission) ({url(server, SQQQ_NOV)})"}
    assert_rows(result, server, "TQQQ")
    # SQQQ keeps the quarter that could be read (Jun-Aug)
    assert sorted(rows_of(result, "SQQQ")) == [D(2025, 6, 30), D(2025, 7, 31), D(2025, 8, 31)]


def test_an_html_page_instead_of_the_filing(server):
    serve(server, {xml_path(TQQQ_NOV): fixture("sec_undeclared_tool.html")})
    result = provider(server).fetch(["TQQQ", "SOXL"])
    assert result.failed == {TQQQ_NOV: f"{TQQQ_NOV}: an HTML page, not an N-PORT XML ({url(server, TQQQ_NOV)})"}
    assert sorted(rows_of(result, "TQQQ")) == [D(2025, m, month_end(D(2025, m, 1)).day) for m in range(3, 9)]
    assert_rows(result, server, "SOXL")


def test_an_html_page_instead_of_the_ticker_file(server):
    serve(server, {"/files/company_tickers_mf.json": fixture("sec_undeclared_tool.html")})
    result = provider(server).fetch(["TQQQ", "SOXL"])
    where = server.url_for("/files/company_tickers_mf.json")
    line = f"SEC fund ticker file: an HTML page, not the SEC fund ticker file ({where})"
    assert result.failed == {"SOXL": f"SOXL: {line}", "TQQQ": f"TQQQ: {line}"}
    assert result.observations.empty and paths(server) == ["/files/company_tickers_mf.json"]


def test_http_404_and_403_and_an_empty_body(server):
    serve(server, {xml_path(SOXL_OCT): (404, b"Not Found"), xml_path(QLD_NOV): b"",
                   "/submissions/CIK0001174610-submissions-001.json": (403, fixture("sec_undeclared_tool.html"))})
    result = provider(server).fetch(["SOXL", "TQQQ", "SQQQ"])
    where = server.url_for("/submissions/CIK0001424958.json")
    page = "CIK0001174610-submissions-001.json"
    assert result.failed == {
        SOXL_OCT: f"{SOXL_OCT}: not found (HTTP 404) ({url(server, SOXL_OCT)})",
        "SOXL": f"SOXL: none of the 1 NPORT-P filings of CIK 1424958 since 2019-01-01 is for series S000024402; "
                f"1 could not be read ({SOXL_OCT}) ({where})",
        QLD_NOV: f"{QLD_NOV}: empty body ({url(server, QLD_NOV)})",
        page: f"{page}: HTTP 403 (SEC refuses a User-Agent without a contact e-mail, or too many requests) "
              f"({server.url_for('/submissions/' + page)})",
    }
    # TQQQ loses the older page's quarter (Mar-May) only; SQQQ is whole
    assert sorted(rows_of(result, "TQQQ")) == [D(2025, m, month_end(D(2025, m, 1)).day) for m in range(6, 12)]
    assert_rows(result, server, "SQQQ")


def test_a_submissions_file_in_another_layout(server):
    serve(server, {"/submissions/CIK0001174610.json": fixture("company_tickers_mf.json")})
    result = provider(server).fetch(["TQQQ", "SQQQ", "SOXL"])
    where = server.url_for("/submissions/CIK0001174610.json")
    reason = f"CIK0001174610.json: no filings.recent (not a submissions file) ({where})"
    assert result.failed == {"TQQQ": f"TQQQ: the filing index of CIK 1174610 cannot be read: {reason}",
                             "SQQQ": f"SQQQ: the filing index of CIK 1174610 cannot be read: {reason}"}
    assert_rows(result, server, "SOXL")


def test_a_filing_whose_series_is_another_funds(server):
    # SQQQ's November accession serves TQQQ's XML: it is TQQQ's filing, not SQQQ's
    serve(server, {xml_path(SQQQ_NOV): fixture(f"nport/{TQQQ_NOV}.xml")})
    result = provider(server).fetch(["TQQQ", "SQQQ"])
    assert result.failed == {}
    assert sorted(rows_of(result, "SQQQ")) == [D(2025, 6, 30), D(2025, 7, 31), D(2025, 8, 31)]
    assert_rows(result, server, "TQQQ")  # one row a month end, from its own accession


def test_a_future_report_date_fails_the_fund(server):
    text = fixture(f"nport/{SQQQ_NOV}.xml").replace(b"<repPdDate>2025-11-30<", b"<repPdDate>2026-02-28<")
    serve(server, {xml_path(SQQQ_NOV): text})
    result = provider(server).fetch(["SQQQ", "TQQQ"])
    assert result.failed == {
        "SQQQ": f"SQQQ: date 2026-02-28 is in the future (today is 2026-02-04) ({url(server, SQQQ_NOV)})"}
    assert sorted(rows_of(result, "SQQQ")) == []
    assert_rows(result, server, "TQQQ")


def test_a_day_first_report_date_fails_the_fund(server):
    text = fixture(f"nport/{SQQQ_NOV}.xml").replace(b"<repPdDate>2025-11-30<", b"<repPdDate>30/11/2025<")
    serve(server, {xml_path(SQQQ_NOV): text})
    result = provider(server).fetch(["SQQQ", "TQQQ"])
    assert result.failed == {
        "SQQQ": (f"SQQQ: NPORT-P {SQQQ_NOV}: repPdDate: '30/11/2025' is a day-first date (expected month/day/year) "
                 f"({url(server, SQQQ_NOV)})")}
    assert_rows(result, server, "TQQQ")


def test_an_amendment_replaces_the_quarter_end(server):
    proshares = json.loads(fixture("CIK0001174610.json"))
    recent = proshares["filings"]["recent"]
    amendment = "0001752724-26-021877"
    row = {"accessionNumber": amendment, "form": "NPORT-P/A", "filingDate": "2026-02-03", "reportDate": "2025-11-30"}
    for key in recent:
        recent[key].insert(0, row.get(key, recent[key][2]))
    text = fixture(f"nport/{TQQQ_NOV}.xml").replace(b"<submissionType>NPORT-P<", b"<submissionType>NPORT-P/A<")
    text = text.replace(b"<netAssets>27412385120.55<", b"<netAssets>27415003117.90<")
    amended = f"{ARCHIVE}/1174610/{amendment.replace('-', '')}/primary_doc.xml"
    serve(server, {"/submissions/CIK0001174610.json": json.dumps(proshares).encode(), amended: text})
    result = provider(server).fetch(["TQQQ"])
    where = server.url_for(amended)
    assert result.failed == {}
    tqqq = rows_of(result, "TQQQ")
    assert len(tqqq) == 9
    assert tqqq[D(2025, 11, 30)][:3] == (27_415_003_117.90, where, D(2026, 2, 3))
    # the derived months: the amendment's (same quarter, later filed)
    # N_Oct = (27,415,003,117.90 - 1,285,328,715.45) / 0.9353 = 27,937,212,020.15
    assert tqqq[D(2025, 10, 31)][0] == pytest.approx(27_937_212_020.15, abs=0.011)
    assert tqqq[D(2025, 10, 31)][2] == D(2026, 2, 3)


# ---- the arithmetic, directly -------------------------------------------------------------------------


def test_month_ends():
    assert month_end(D(2025, 11, 28)) == D(2025, 11, 30)
    assert month_end(D(2025, 2, 3), back=2) == D(2024, 12, 31)
    assert month_end(D(2024, 3, 29), back=1) == D(2024, 2, 29)


def test_the_class_of_the_ticker_and_gaps_in_returns():
    filing = NportFiling("S000000001", D(2025, 12, 31), 1_000_000.0,
                         {"C1": (1.0, 2.0, 3.0), "C2": (None, 10.0, -20.0)}, (None, 50_000.0, -100_000.0))
    # class C2: N_Nov = (1,000,000 + 100,000) / 0.8 = 1,375,000; N_Oct = (1,375,000 - 50,000) / 1.1 = 1,204,545.45
    rows = filing_candidates(filing, "C2", "u", D(2026, 2, 20))
    assert [(c.date, c.aum_usd, c.source, c.exact) for c in rows] == [
        (D(2025, 12, 31), 1_000_000.0, "u", True), (D(2025, 11, 30), 1_375_000.0, "u#derived", False),
        (D(2025, 10, 31), 1_204_545.45, "u#derived", False)]
    # an unknown class of a multi-class series: nothing derived
    assert [c.date for c in filing_candidates(filing, "C9", "u", D(2026, 2, 20))] == [D(2025, 12, 31)]
    # month 3's return N/A: the chain stops at once
    gap = NportFiling("S1", D(2025, 12, 31), 1_000_000.0, {"": (1.0, 2.0, None)}, (0.0, 0.0, 0.0))
    assert len(filing_candidates(gap, "C1", "u", D(2026, 2, 20))) == 1


def test_a_fund_launched_in_the_quarter_derives_no_negative_month():
    # launched in December: N_Nov = (5,000,000 - 5,100,000) / 1.02 < 0 -> dropped, and so is October
    filing = NportFiling("S1", D(2025, 12, 31), 5_000_000.0, {"C1": (None, None, 2.0)}, (None, None, 5_100_000.0))
    assert [c.date for c in filing_candidates(filing, "C1", "u", D(2026, 2, 20))] == [D(2025, 12, 31)]


def test_exact_beats_derived_and_the_nearer_quarter_wins():
    q1 = NportFiling("S1", D(2025, 3, 31), 100.0, {"C": (0.0, 0.0, 0.0)}, (0.0, 0.0, 0.0))
    # a monthly filer: the April filing derives Feb and Mar; Mar is q1's exact figure, and Feb is
    # one month back from q1's end against two from April's
    apr = NportFiling("S1", D(2025, 4, 30), 110.0, {"C": (0.0, 0.0, 10.0)}, (0.0, 0.0, 0.0))
    rows = best_per_month(filing_candidates(q1, "C", "q1", D(2025, 5, 30)) + filing_candidates(apr, "C", "apr", D(2025, 6, 30)),
                          since=D(2025, 1, 1))
    assert [(c.date, c.aum_usd, c.source) for c in rows] == [
        (D(2025, 1, 31), 100.0, "q1#derived"), (D(2025, 2, 28), 100.0, "q1#derived"),
        (D(2025, 3, 31), 100.0, "q1"), (D(2025, 4, 30), 110.0, "apr")]


def test_parse_reads_the_real_layout():
    filing = parse_nport(fixture(f"nport/{SOXL_OCT}.xml"))
    assert filing == NportFiling("S000024402", D(2025, 10, 31), 12_604_117_925.31,
                                 {"C000071880": (-1.27, 33.55, 37.82)},
                                 (pytest.approx(-894_782_132.45), pytest.approx(-2_243_323_306.45),
                                  pytest.approx(-2_345_767_667.35)))
