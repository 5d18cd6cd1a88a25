"""Curated knowledge about underlyings: canonical ids, how screener text maps to them, and how
their compositions are built from the raw public files.

This is reviewed data, kept in one place: the screener importer uses ``RULES`` and
``TICKER_OVERRIDES``, the reference builder uses ``COMPOSITIONS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# bucket names used by aggregation (``FlowEstimate.by_index``)
NASDAQ_100 = "Nasdaq-100"
SP_500 = "S&P 500"
RUSSELL_2000 = "Russell 2000"
SEMIS = "Semiconductors"
DOW = "Dow Jones"
MID_SMALL = "S&P MidCap/SmallCap"
SECTOR = "Sectors & industries"
MEGACAP = "FANG+ & mega-cap tech"
SINGLE = "Single stocks"
INTL = "International equity"
OTHER_EQ = "Other equity"
FIXED = "Fixed income"
COMMOD = "Commodities"
CRYPTO = "Crypto"
VOL = "Volatility"
FX = "Currency"
MULTI = "Multi-asset"


@dataclass(frozen=True)
class UnderlyingDef:
    name: str
    kind: str
    asset_class: str
    bucket: str


U = UnderlyingDef
UNDERLYINGS: dict[str, UnderlyingDef] = {
    "NDX": U("Nasdaq-100", "index", "equity", NASDAQ_100),
    "SPXEW": U("S&P 500 Equal Weight", "index", "equity", SP_500),
    "SP5HB": U("S&P 500 High Beta", "index", "equity", OTHER_EQ),
    "SPSIOP": U("S&P Oil & Gas Exploration & Production Select Industry", "index", "equity", SECTOR),
    "MSOGEP": U("Solactive MicroSectors U.S. Oil & Gas Exploration & Production", "index", "equity", SECTOR),
    "GDMJ": U("MVIS Global Junior Gold Miners", "index", "equity", OTHER_EQ),
    "DJINET": U("Dow Jones Internet Composite", "index", "equity", SECTOR),
    "NDX30": U("Nasdaq-100 Top 30", "index", "equity", NASDAQ_100),
    "NDXMEGA": U("Nasdaq-100 Mega", "index", "equity", NASDAQ_100),
    "SPX": U("S&P 500", "index", "equity", SP_500),
    "RTY": U("Russell 2000", "index", "equity", RUSSELL_2000),
    "MID": U("S&P MidCap 400", "index", "equity", MID_SMALL),
    "SML": U("S&P SmallCap 600", "index", "equity", MID_SMALL),
    "INDU": U("Dow Jones Industrial Average", "index", "equity", DOW),
    "SOX": U("NYSE Semiconductor Index", "index", "equity", SEMIS),
    "DJUSSC": U("Dow Jones U.S. Semiconductors", "index", "equity", SEMIS),
    "SOX5EW": U("NYSE Semiconductor Top 5 Equal Weight", "index", "equity", SEMIS),
    "S5INFT": U("Technology Select Sector", "index", "equity", SECTOR),
    "S5FINL": U("Financial Select Sector", "index", "equity", SECTOR),
    "S5ENRS": U("Energy Select Sector", "index", "equity", SECTOR),
    "S5HLTH": U("Health Care Select Sector", "index", "equity", SECTOR),
    "S5RLST": U("Real Estate Select Sector", "index", "equity", SECTOR),
    "S5UTIL": U("Utilities Select Sector", "index", "equity", SECTOR),
    "S5INDU": U("Industrial Select Sector", "index", "equity", SECTOR),
    "S5MATR": U("Materials Select Sector", "index", "equity", SECTOR),
    "S5COND": U("Consumer Discretionary Select Sector", "index", "equity", SECTOR),
    "S5CONS": U("Consumer Staples Select Sector", "index", "equity", SECTOR),
    "S5TELS": U("Communication Services Select Sector", "index", "equity", SECTOR),
    "SPSIRBK": U("S&P Regional Banks Select Industry", "index", "equity", SECTOR),
    "SPSIBI": U("S&P Biotechnology Select Industry", "index", "equity", SECTOR),
    "SPSIRE": U("S&P Retail Select Industry", "index", "equity", SECTOR),
    "SPSIPH": U("S&P Pharmaceuticals Select Industry", "index", "equity", SECTOR),
    "DJUSHB": U("DJ US Select Home Construction", "index", "equity", SECTOR),
    "DJUSAS": U("DJ US Select Aerospace & Defense", "index", "equity", SECTOR),
    "BANKS": U("Solactive MicroSectors U.S. Big Banks", "basket", "equity", SECTOR),
    "BIGOIL": U("Solactive MicroSectors U.S. Big Oil", "basket", "equity", SECTOR),
    "NYFANG": U("NYSE FANG+", "index", "equity", MEGACAP),
    "FANGINNO": U("Solactive FANG Innovation", "index", "equity", MEGACAP),
    "MAG7": U("Magnificent 7", "basket", "equity", MEGACAP),
    "GDM": U("NYSE Arca Gold Miners", "index", "equity", OTHER_EQ),
    "NBI": U("Nasdaq Biotechnology", "index", "equity", SECTOR),
    "FTSECN50": U("FTSE China 50", "index", "equity", INTL),
    "MSCIKR": U("MSCI Korea 25-50", "index", "equity", INTL),
    "MSCIEM": U("MSCI Emerging Markets", "index", "equity", INTL),
    "MSCIEAFE": U("MSCI EAFE", "index", "equity", INTL),
    "MSCIBR": U("MSCI Brazil 25-50", "index", "equity", INTL),
    "MSCIIN": U("MSCI India", "index", "equity", INTL),
    "MSCIMX": U("MSCI Mexico", "index", "equity", INTL),
    "MSCIJP": U("MSCI Japan", "index", "equity", INTL),
    "CSI300": U("CSI 300", "index", "equity", INTL),
    "CSICHINET": U("CSI Overseas China Internet", "index", "equity", INTL),
    "FTSEEUR": U("FTSE Developed Europe", "index", "equity", INTL),
    # equity indexes of UBS ETRACS notes that the screener files under debt (an ETN is debt; what it
    # tracks is equity): dividend, factor and style indexes, BDCs, mortgage REITs, MLPs
    "DJUSDIVT": U("Dow Jones US Dividend 100 TR USD Index", "index", "equity", OTHER_EQ),
    "M2USSNQ": U("MSCI USA Sector Neutral Quality GR USD Index", "index", "equity", OTHER_EQ),
    "MVBIZD": U("MarketVector US Business Development Companies Liquid Index", "index", "equity", OTHER_EQ),
    "MVMORT": U("MVIS US Mortgage REITs Index", "index", "equity", OTHER_EQ),
    "RU10GRTR": U("Russell 1000 Growth TR USD Index", "index", "equity", OTHER_EQ),
    "RU10VATR": U("Russell 1000 Value TR USD Index", "index", "equity", OTHER_EQ),
    "SOLHDLV": U("Solactive US High Dividend Low Volatility Index", "index", "equity", OTHER_EQ),
    "SOLSMHD": U("Solactive US Small Cap High Dividend Index", "index", "equity", OTHER_EQ),
    "X_ALERIAN_MLP_INDEX": U("Alerian MLP Index", "index", "equity", OTHER_EQ),
    "X_MSCI_USA_MINIMUM_VOLATILITY_GR_USD_INDEX": U("MSCI USA Minimum Volatility GR USD Index", "index", "equity", OTHER_EQ),
    "X_MSCI_USA_MOMENTUM_GR_USD_INDEX": U("MSCI USA Momentum GR USD Index", "index", "equity", OTHER_EQ),
    "UST20": U("ICE U.S. Treasury 20+ Year", "rate", "fixed_income", FIXED),
    "UST7": U("ICE U.S. Treasury 7-10 Year", "rate", "fixed_income", FIXED),
    "UST": U("U.S. Treasuries", "rate", "fixed_income", FIXED),
    "HY": U("iBoxx USD Liquid High Yield", "rate", "fixed_income", FIXED),
    "GOLD": U("Gold", "commodity", "commodity", COMMOD),
    "SILVER": U("Silver", "commodity", "commodity", COMMOD),
    "WTI": U("WTI crude oil", "futures", "commodity", COMMOD),
    "NATGAS": U("Natural gas", "futures", "commodity", COMMOD),
    "BTC": U("Bitcoin", "crypto", "crypto", CRYPTO),
    "ETH": U("Ether", "crypto", "crypto", CRYPTO),
    "SOL": U("Solana", "crypto", "crypto", CRYPTO),
    "XRP": U("XRP", "crypto", "crypto", CRYPTO),
    "VIXF": U("VIX short-term futures", "futures", "volatility", VOL),
    "JPY": U("Japanese yen", "currency", "currency", FX),
    "EUR": U("Euro", "currency", "currency", FX),
    "USDX": U("U.S. dollar index", "currency", "currency", FX),
    "NVDAAMD": U("NVIDIA and AMD", "basket", "equity", SEMIS),
    "COINMSTR": U("Coinbase and Strategy", "basket", "equity", SINGLE),
    "TSLAF": U("Tesla and Ford", "basket", "equity", SINGLE),
    "QUANTUM": U("Quantum computing stocks", "basket", "equity", OTHER_EQ),
    "MULTI": U("Stocks plus crypto or gold (stacked)", "basket", "multi", MULTI),
}

def _compiled(table: list[tuple[str, str]], flags: int = 0) -> list[tuple[re.Pattern[str], str]]:
    """``(regex text, value)`` rows -> ``(compiled pattern, value)``, in order (first match wins)."""
    return [(re.compile(p, flags), value) for p, value in table]


# (pattern on the cleaned, lower-cased underlying text, underlying id). First match wins, so
# the specific patterns come before the general ones.
RULES: list[tuple[re.Pattern[str], str]] = _compiled(
    [
        (r"^nvidia corp and advanced micro devices", "NVDAAMD"),
        (r"^coinbase & strategy", "COINMSTR"),
        (r"^tesla and ford", "TSLAF"),
        (r"^quantum computing stocks", "QUANTUM"),
        (r"nasdaq-100 top 30", "NDX30"),
        (r"nasdaq-100 mega", "NDXMEGA"),
        (r"nasdaq-100 futures \+ bitcoin", "MULTI"),
        (r"nasdaq-100|invesco qqq|^qqq", "NDX"),
        (r"vix", "VIXF"),
        (r"s&p 500 index \+ bitcoin|us stocks \+ bitcoin|bitcoin \+ gold", "MULTI"),
        (r"s&p 500 information technology \(sector\) top 5", "S5INFT"),
        (r"s&p 500 energy \(sector\) top 5", "S5ENRS"),
        (r"semiconductor top 5", "SOX5EW"),
        (r"^s&p 500|^spy etf|large-capitalization u\.s\.", "SPX"),
        (r"russell 2000", "RTY"),
        (r"mid ?cap 400", "MID"),
        (r"smallcap 600", "SML"),
        (r"dow jones industrial", "INDU"),
        (r"dow jones u\.s\. semiconductors", "DJUSSC"),
        (r"semiconductor|icesemi", "SOX"),
        (r"technology select sector", "S5INFT"),
        (r"financial select sector", "S5FINL"),
        (r"energy select sector", "S5ENRS"),
        (r"health care select sector", "S5HLTH"),
        (r"real estate select sector", "S5RLST"),
        (r"utilities select sector", "S5UTIL"),
        (r"industrials? select sector", "S5INDU"),
        (r"materials select sector", "S5MATR"),
        (r"consumer discretionary select sector", "S5COND"),
        (r"consumer staples select sector", "S5CONS"),
        (r"communication services select sector", "S5TELS"),
        (r"regional banks", "SPSIRBK"),
        (r"s&p biotechnology", "SPSIBI"),
        (r"s&p retail", "SPSIRE"),
        (r"s&p pharmaceuticals", "SPSIPH"),
        (r"home construction", "DJUSHB"),
        (r"aerospace & defense", "DJUSAS"),
        (r"big banks", "BANKS"),
        (r"big oil", "BIGOIL"),
        (r"fang\+", "NYFANG"),
        (r"fang innovation", "FANGINNO"),
        (r"magnificent (7|seven)", "MAG7"),
        (r"gold miners", "GDM"),
        (r"nasdaq biotechnology", "NBI"),
        (r"ftse china 50", "FTSECN50"),
        (r"msci korea", "MSCIKR"),
        (r"msci em(erging markets)?( index)?$|^msci em$", "MSCIEM"),
        (r"msci eafe", "MSCIEAFE"),
        (r"msci brazil", "MSCIBR"),
        (r"msci india", "MSCIIN"),
        (r"msci mexico", "MSCIMX"),
        (r"msci japan", "MSCIJP"),
        (r"csi 300", "CSI300"),
        (r"china internet", "CSICHINET"),
        (r"ftse developed europe", "FTSEEUR"),
        (r"treasury 20\+", "UST20"),
        (r"treasury 7-10", "UST7"),
        (r"^u\.s\. treasuries", "UST"),
        (r"high yield", "HY"),
        (r"silver", "SILVER"),
        (r"gold", "GOLD"),
        (r"wti|crude oil", "WTI"),
        (r"natural gas", "NATGAS"),
        (r"bitcoin", "BTC"),
        (r"ether(eum)?( futures)?$|^ether", "ETH"),
        (r"solana|sol/usd", "SOL"),
        (r"xrp", "XRP"),
        (r"yen", "JPY"),
        (r"euro/us dollar", "EUR"),
        (r"usdx", "USDX"),
    ]
)

#: (pattern on the lower-cased fund *name*, underlying id): the fund's own name beats the
#: screener's underlying text, which is wrong for these (GUSH reads "WTI Crude Oil", HIBL "S&P
#: 500 Index", JNUG "NYSE Arca Gold Miners", WEBL "Dow Jones Industrial Average"); each was
#: found by `lev-flows universe verify` (the fund regresses on the named index's ETF, not the text's)
NAME_RULES: list[tuple[re.Pattern[str], str]] = _compiled(
    [
        (r"microsectors oil & gas exploration & production", "MSOGEP"),
        (r"oil & gas exploration & production", "SPSIOP"),
        (r"s&p 500 high beta", "SP5HB"),
        (r"junior gold miners", "GDMJ"),
        (r"dow jones internet", "DJINET"),
        (r"s&p 500 equal weight", "SPXEW"),
    ]
)

#: products the fund name shows are not daily-reset leveraged funds: (pattern, reason)
EXCLUDE_NAME_RULES: list[tuple[re.Pattern[str], str]] = _compiled(
    [
        (r"accelerated|buffer|outcome",
         "option-based outcome fund (accelerated / buffer / capped): its payoff runs over an outcome period, not a daily leverage reset"),
        (r"long \+ income|incomestkd|volatility premium|boosted .*income",
         "leveraged income fund (options written on top of the exposure): not a daily-reset leveraged fund"),
    ],
    re.I,
)

#: fund ticker -> (signed leverage, why), where the screener's leverage is wrong
LEVERAGE_OVERRIDES: dict[str, tuple[float, str]] = {
    "TSLR": (2.0, "GraniteShares runs TSLR at 2x daily (desk review); the screener and the old fund name read 1.25x"),
    "BRZU": (2.0, "BRZU targets 2x daily (regresses at beta 1.98 on EWZ, correlation 0.998); the screener reads 3x"),
}

#: fund ticker -> its leverage before each change, oldest first: (until, leverage). Found by
#: `lev-flows universe verify` on the funds' own prices 2024-2026 (`analysis.verify.
#: leverage_changes`: the split that fits R = L r best); `until` is the first session at the next
#: leverage. Direxion's 1.5x single-stock funds went to 2x in April 2024; Tradr's TSLQ and NVDS
#: and GraniteShares' CONI moved to 2x / 1.5x short.
LEVERAGE_HISTORY: dict[str, list[tuple[str, float]]] = {
    "TSLL": [("2024-04-02", 1.5)], "NVDU": [("2024-04-02", 1.5)], "AAPU": [("2024-04-02", 1.5)],
    "AMZU": [("2024-04-03", 1.5)], "GGLL": [("2024-04-02", 1.5)], "MSFU": [("2024-04-02", 1.5)],
    "TSLQ": [("2024-07-16", -1.0)], "NVDS": [("2024-07-16", -1.25)], "CONI": [("2025-05-05", -1.0)],
}
HISTORY_SOURCE = "universe verify: R / r on the fund's own prices, 2024-2026"
#: fund ticker -> the product whose holders it took over at its inception (not a new fund: its
#: AUM before the first observation is carried, not grown from launch)
CONTINUES: dict[str, str] = {
    "FNGU": "the earlier FNGU (MicroSectors FANG+ 3X ETN, 2018-2025), whose holders moved to it in February 2025; "
            "the price table holds the new series only (from 2025-02-20)",
}

#: funds the screener snapshots do not list, added by every import: (entry, why)
CURATED_FUNDS: list[dict[str, object]] = [
    {"ticker": "UVXY", "name": "ProShares Ultra VIX Short-Term Futures ETF", "issuer": "ProShares", "leverage": 1.5,
     "underlying": "VIXF", "asset_class": "volatility", "structure": "ETF", "reset": "daily",
     "inception_date": "2011-10-03", "futures_share": 1.0,
     "notes": "curated: missing from the screener snapshots; AUM from the issuer (lev-flows aum update UVXY)"},
    {"ticker": "SVXY", "name": "ProShares Short VIX Short-Term Futures ETF", "issuer": "ProShares", "leverage": -0.5,
     "underlying": "VIXF", "asset_class": "volatility", "structure": "ETF", "reset": "daily",
     "inception_date": "2011-10-03", "futures_share": 1.0,
     "notes": "curated: missing from the screener snapshots; AUM from the issuer (lev-flows aum update SVXY)"},
]

#: fund ticker -> why `lev-flows universe verify` flags it and the flag is expected (the flag
#: is then "explained"; any other flag is a catalog error)
VERIFY_NOTES: dict[str, str] = {
    "UCO": "USO, the only WTI series in the price table, holds a different futures mix (beta 1.2); UCO and SCO agree with each other at beta +2.0 / -2.0 (peer check)",
    "SCO": "USO, the only WTI series in the price table, holds a different futures mix (beta 1.2); UCO and SCO agree with each other at beta +2.0 / -2.0 (peer check)",
    "SMU": "SMR is not in the price table; checked against peers only (SMUP, SMZ), whose own tracking differs; leverage 2x per the fund name",
    "AIBU": "no series for the Solactive AI Big Data index; the only peer is the inverse AIBD (compounding differs); 2x per the fund name",
    "PILL": "proxy composition: S&P 500 pharma members stand in for the S&P Pharmaceuticals Select Industry index (mostly small caps); XPH is not in the price table",
    "IWML": "thinly traded ETN (about $6M): stale closes lower the daily correlation; weekly correlation 0.90",
    "TEXU": "tracks the five largest energy names (equal capped); the Energy Select Sector ETF is the nearest series here",
    "DGZ": "thinly traded ETN (about $1M): stale closes, beta has the right sign",
    "DZZ": "thinly traded ETN (about $1M): stale closes, beta has the right sign",
}

#: fund ticker -> stock ticker, where the screener's own fields are wrong or missing
TICKER_OVERRIDES: dict[str, tuple[str, str]] = {
    "MUU": ("MU", "screener name reads 'Muni Bond'; the fund is 2x Micron (Direxion MU Bull 2X)"),
    "MUD": ("MU", "1x inverse Micron"),
    "MSFU": ("MSFT", "screener name reads 'MSCI Consumer Discretionary'; the fund is 2x Microsoft"),
    "TSMZ": ("TSM", "screener underlying_ticker is 'T' (AT&T); the fund tracks Taiwan Semiconductor"),
}

#: fund ticker -> (its name, why), where the screener's name is wrong: each found by
#: `lev-flows universe verify` (:func:`lev_flows.analysis.verify.name_flags`: a name mentioning
#: another asset than the fund's underlying)
NAME_OVERRIDES: dict[str, tuple[str, str]] = {
    "MUU": ("Direxion Daily MU Bull 2X Shares", "the screener names it 'Dx Daily Muni Bond Bull 2x Shares'; it is 2x Micron"),
    "MSFU": ("Direxion Daily MSFT Bull 2X Shares",
             "the screener names it 'Direxion Daily MSCI Consumer Discretionary Bull 2x Fund'; it is 2x Microsoft"),
}

#: company names (lower case, as they start in the screener text) -> stock ticker, for rows
#: with neither an underlying ticker nor a ticker in the fund name
COMPANY_TICKERS: dict[str, str] = {
    "micron technology": "MU",
    "microsoft": "MSFT",
    "coinbase": "COIN",
    "taiwan semiconductor": "TSM",
    "berkshire hathaway": "BRK.B",
    "boeing": "BA",
    "ford motor": "F",
    "cisco": "CSCO",
    "eli lilly": "LLY",
    "microstrategy": "MSTR",
    "palo alto networks": "PANW",
    "shopify": "SHOP",
    "exxon mobil": "XOM",
    "coreweave": "CRWV",
    "pdd holdings": "PDD",
    "mercadolibre": "MELI",
    "nuscale": "SMR",
    "ionq": "IONQ",
    "alibaba": "BABA",
    "netflix": "NFLX",
    "meta platforms": "META",
    "tesla": "TSLA",
    "nvidia": "NVDA",
    "alphabet": "GOOGL",
    "apple": "AAPL",
    "amazon": "AMZN",
    "palantir": "PLTR",
    "advanced micro devices": "AMD",
    "lockheed martin": "LMT",
    "nike": "NKE",
}

#: screener tickers that name a proxy, not the underlying itself
PROXY_TICKERS = {"QQQ", "SPY", "SPX", "NDX", "RTY", "BTC", "ETH", "SOL", "XRP"}

#: products left out on purpose (not daily-reset leveraged funds on one underlying)
EXCLUDE: dict[str, str] = {
    "HCMT": "tactical allocation fund, leverage varies with a signal",
    "RSSB": "return-stacked multi-asset fund, not a daily leverage reset",
    "RSSY": "return-stacked multi-asset fund, not a daily leverage reset",
    "RSBY": "return-stacked multi-asset fund, not a daily leverage reset",
    "RSSX": "return-stacked multi-asset fund, not a daily leverage reset",
    "RSST": "return-stacked multi-asset fund, not a daily leverage reset",
    "RSBA": "return-stacked multi-asset fund, not a daily leverage reset",
    "RSBT": "return-stacked multi-asset fund, not a daily leverage reset",
    "JPUQF": "UCITS premium-income fund listed OTC, not a leveraged fund",
    "JEIAF": "UCITS premium-income fund listed OTC, not a leveraged fund",
    "BTGD": "stacked bitcoin + gold fund (100%/100%), two underlyings",
    "MVPL": "actively managed value fund using leverage, no daily reset",
    "GMMA": "tactical allocation fund, leverage varies with a signal",
    "RAAA": "leveraged CLO fund, no daily reset to a tradable underlying",
    "BEGS": "two-underlying crypto + precious-metals fund",
    "WTIB": "two-underlying oil + bitcoin strategy fund",
    "MSOX": "2x of an ETF of cannabis stocks traded OTC; no tradable underlying here",
}

# ---------------------------------------------------------------------------------------------
# How each composition is built from ../shared/data (see lev_flows.reference).
#   ("index_weights", file)   Rank,Ticker,Name,Weight export
#   ("holdings", file)        ticker,name,sector,weight export
#   ("ishares", file)         iShares issuer file
#   ("members", [...], date)  equal weights over a stated member list
#   ("price_weighted", [...], date)  price weights from the shared closes on that date
#   ("sub_industry", [...])   equal weights over S&P 500 members in those GICS sub-industries
COMPOSITIONS: dict[str, tuple] = {
    "NDX": ("index_weights", "index_weights/qqq_2025-10-04.csv"),
    "SPX": ("holdings", "fund_holdings/ivv_2025-11.csv"),
    "RTY": ("holdings", "fund_holdings/iwm_2025-11.csv"),
    "MID": ("holdings", "fund_holdings/mdy_2025-11.csv"),
    "SML": ("index_weights", "index_weights/spsm_2025-10-04.csv"),
    "SOX": ("ishares", "fund_holdings/soxx_2026-08-03.csv"),
    "DJUSSC": ("ishares", "fund_holdings/soxx_2026-08-03.csv"),
    "S5INFT": ("holdings", "fund_holdings/xlk_2025-11.csv"),
    "S5FINL": ("holdings", "fund_holdings/xlf_2025-11.csv"),
    "S5ENRS": ("holdings", "fund_holdings/xle_2025-11.csv"),
    "S5HLTH": ("holdings", "fund_holdings/xlv_2025-11.csv"),
    "S5RLST": ("holdings", "fund_holdings/xlre_2025-11.csv"),
    "S5UTIL": ("holdings", "fund_holdings/xlu_2025-11.csv"),
    "S5INDU": ("holdings", "fund_holdings/xli_2025-11.csv"),
    "S5MATR": ("holdings", "fund_holdings/xlb_2025-11.csv"),
    "S5COND": ("holdings", "fund_holdings/xly_2025-11.csv"),
    "S5CONS": ("holdings", "fund_holdings/xlp_2025-11.csv"),
    "S5TELS": ("holdings", "fund_holdings/xlc_2025-11.csv"),
    "INDU": (
        "price_weighted",
        "AAPL AMGN AMZN AXP BA CAT CRM CSCO CVX DIS GS HD HON IBM JNJ JPM KO MCD MMM MRK MSFT NKE "
        "NVDA PG SHW TRV UNH V VZ WMT".split(),
        "2026-01-02",
    ),
    "NYFANG": ("members", "AAPL AMZN AVGO CRWD GOOGL META MSFT NFLX NOW NVDA".split(), "2025-12-19"),
    "SPXEW": ("equal_weight_of", "SPX"),
    "SP5HB": ("high_beta", 100, "2025-12-19"),
    "SPSIOP": ("sub_industry", ["Oil & Gas Exploration & Production"]),
    "MSOGEP": ("sub_industry", ["Oil & Gas Exploration & Production", "Integrated Oil & Gas"]),
    "DJINET": ("members", "AMZN META GOOGL NFLX CSCO CRM ANET PYPL ABNB DASH UBER BKNG".split(), "2025-12-19"),
    "FANGINNO": (
        "members",
        "AAPL AMD AMZN AVGO CRM GOOGL INTC META MSFT MSTR MU NFLX NVDA QCOM TSLA".split(),
        "2025-06-23",
    ),
    "MAG7": ("members", "AAPL AMZN GOOGL META MSFT NVDA TSLA".split(), "2025-01-01"),
    "NVDAAMD": ("members", ["NVDA", "AMD"], "2026-02-04"),
    "COINMSTR": ("members", ["COIN", "MSTR"], "2026-02-04"),
    "TSLAF": ("members", ["TSLA", "F"], "2026-02-04"),
    "QUANTUM": ("members", ["IONQ", "RGTI", "QBTS", "QUBT"], "2026-02-04"),
    "GDM": ("members", "NEM AEM WPM B FNV GFI AU KGC RGLD PAAS".split(), "2025-12-31"),
    "SOX5EW": ("members", "NVDA AVGO AMD MU QCOM".split(), "2025-12-19"),
    "BANKS": ("members", "BAC C GS JPM MS WFC USB PNC TFC COF".split(), "2025-12-19"),
    "BIGOIL": ("members", "XOM CVX COP EOG OXY PSX MPC VLO SLB HAL".split(), "2025-12-19"),
    "SPSIRBK": ("sub_industry", ["Regional Banks"]),
    "SPSIBI": ("sub_industry", ["Biotechnology"]),
    "SPSIRE": (
        "sub_industry",
        ["Broadline Retail", "Apparel Retail", "Automotive Retail", "Home Improvement Retail", "Other Specialty Retail"],
    ),
    "SPSIPH": ("sub_industry", ["Pharmaceuticals"]),
    "DJUSHB": ("sub_industry", ["Homebuilding", "Building Products", "Home Improvement Retail"]),
    "DJUSAS": ("sub_industry", ["Aerospace & Defense"]),
}

#: why a proxy composition is used, shown with the composition
COMPOSITION_NOTES: dict[str, str] = {
    "SOX": "SOXX holdings (SOXX tracks the NYSE Semiconductor Index); dated after 2026-02-04",
    "DJUSSC": "proxy: SOXX holdings stand in for the Dow Jones U.S. Semiconductors index",
    "SPX": "IVV holdings",
    "RTY": "IWM holdings",
    "MID": "MDY holdings",
    "SML": "SPSM holdings",
    "NDX": "QQQ holdings",
    "INDU": "the 30 Dow members as announced by S&P DJI through 2024, price-weighted",
    "NYFANG": "ten members through 2025 (NOW, not TSLA: FNGU/FNGD regress on this basket, not on the one with TSLA), equal weight per the methodology",
    "SPXEW": "the S&P 500 composition's members, equal weight (the index's own rule)",
    "SP5HB": "the 100 S&P 500 members with the highest beta to ^GSPC over the 252 sessions to the date, weights proportional to beta (the index's rule, our computation)",
    "SPSIOP": "proxy: S&P 500 oil & gas E&P members, equal weight (the index adds smaller producers)",
    "MSOGEP": "proxy: S&P 500 oil & gas E&P and integrated members, equal weight (FENY stands in for the index's returns)",
    "DJINET": "proxy: twelve largest US internet names, equal weight (no holdings file here)",
    "FANGINNO": "15 members after the June 2025 reconstitution (issuer notice), equal weight",
    "MAG7": "the seven names, equal weight",
    "GDM": "proxy: ten largest US-listed gold miners, equal weight (the index is cap-weighted; no holdings file here)",
    "SOX5EW": "five largest semiconductor names, equal weight (our reading)",
    "BANKS": "ten largest US banks, equal weight (proxy for the MicroSectors index)",
    "BIGOIL": "ten largest US oil companies, equal weight (proxy for the MicroSectors index)",
    "SPSIRBK": "proxy: S&P 500 members in the sub-industry, equal weight (the index is mostly smaller banks)",
    "SPSIBI": "proxy: S&P 500 members in the sub-industry, equal weight (the index is mostly smaller biotechs)",
    "SPSIRE": "proxy: S&P 500 retail sub-industries, equal weight",
    "SPSIPH": "proxy: S&P 500 members in the sub-industry, equal weight",
    "DJUSHB": "proxy: S&P 500 homebuilding/building products/home improvement, equal weight",
    "DJUSAS": "proxy: S&P 500 aerospace & defense members, equal weight",
}

#: index underlyings whose own level is in the shared index price table
INDEX_PRICE_COLUMNS: dict[str, str] = {"SPX": "^GSPC", "RTY": "^RUT", "INDU": "^DJI"}

GICS_SECTORS = frozenset(
    {
        "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy", "Financials",
        "Health Care", "Industrials", "Information Technology", "Materials", "Real Estate", "Utilities",
    }
)

#: GICS sectors for single-stock underlyings that none of the raw files classify; only names
#: whose sector is unambiguous. Everything else stays "Unknown" and is reported as such.
CURATED_SECTORS: dict[str, tuple[str, str]] = {
    "SHOP": ("Shopify Inc", "Information Technology"),
    "PDD": ("PDD Holdings Inc ADR", "Consumer Discretionary"),
    "BABA": ("Alibaba Group Holding Ltd ADR", "Consumer Discretionary"),
    "JD": ("JD.com Inc ADR", "Consumer Discretionary"),
    "NVO": ("Novo Nordisk A/S ADR", "Health Care"),
    "AZN": ("AstraZeneca plc ADR", "Health Care"),
    "CRWV": ("CoreWeave Inc", "Information Technology"),
    "CLS": ("Celestica Inc", "Information Technology"),
    "GFS": ("GlobalFoundries Inc", "Information Technology"),
    "ASML": ("ASML Holding NV ADR", "Information Technology"),
    "ARM": ("Arm Holdings plc ADR", "Information Technology"),
    "AEM": ("Agnico Eagle Mines Ltd", "Materials"),
    "WPM": ("Wheaton Precious Metals Corp", "Materials"),
    "B": ("Barrick Mining Corp", "Materials"),
    "FNV": ("Franco-Nevada Corp", "Materials"),
    "GFI": ("Gold Fields Ltd ADR", "Materials"),
    "AU": ("AngloGold Ashanti plc", "Materials"),
    "KGC": ("Kinross Gold Corp", "Materials"),
    "RGLD": ("Royal Gold Inc", "Materials"),
    "PAAS": ("Pan American Silver Corp", "Materials"),
    "MELI": ("MercadoLibre Inc", "Consumer Discretionary"),
    "NIO": ("NIO Inc ADR", "Consumer Discretionary"),
    "XPEV": ("XPeng Inc ADR", "Consumer Discretionary"),
    "BIDU": ("Baidu Inc ADR", "Communication Services"),
    "SPOT": ("Spotify Technology SA", "Communication Services"),
    "NU": ("Nu Holdings Ltd", "Financials"),
    "RKLB": ("Rocket Lab Corp", "Industrials"),
}

#: declared tracking ETFs: an ETF (1x, unlevered) whose daily return stands in for an index
#: underlying that has no index level in the price tables (used for returns after the index
#: level and before a composition, and by ``tracking`` / ``universe verify`` as the reference)
TRACKING_ETFS: dict[str, str] = {
    "NDX": "QQQ", "SPX": "SPY", "RTY": "IWM", "INDU": "DIA", "MID": "IJH", "SML": "IJR",
    "SOX": "SOXX", "DJUSSC": "SMH", "NYFANG": "FNGS", "SPSIOP": "XOP", "MSOGEP": "FENY", "GDMJ": "GDXJ", "SPXEW": "RSP",
    "DJUSHB": "ITB",
    "S5INFT": "XLK", "S5FINL": "XLF", "S5ENRS": "XLE", "S5HLTH": "XLV", "S5INDU": "XLI", "S5MATR": "XLB",
    "S5RLST": "XLRE", "S5TELS": "XLC", "S5UTIL": "XLU", "S5COND": "XLY", "S5CONS": "XLP",
    "SPSIBI": "XBI", "SPSIRBK": "KRE", "SPSIRE": "XRT", "GDM": "GDX",
    "FTSECN50": "FXI", "CSICHINET": "KWEB", "CSI300": "ASHR", "MSCIKR": "EWY", "MSCIBR": "EWZ", "MSCIJP": "EWJ",
    "MSCIEM": "EEM", "MSCIEAFE": "EFA", "MSCIIN": "INDA", "X_MSCI_EM_EMERGING_MARKETS_EX_CHINA": "EMXC",
    "GOLD": "GLD", "SILVER": "SLV", "WTI": "USO", "NATGAS": "UNG", "UST20": "TLT", "UST7": "IEF", "HY": "HYG",
    "USDX": "UUP", "VIXF": "VIXY", "BTC": "IBIT", "ETH": "ETHA", "ARKK": "ARKK",
}
