"""The catalog checked against the market: does each fund move like ``L`` times its declared
underlying?

For every fund with its own prices, its daily return ``R`` is regressed on

* its declared underlying's return ``r`` (the underlying's own price, its tracking ETF or its
  composition, never a fund: :func:`lev_flows.model.returns.underlying_return_matrix` without the
  fund step), and
* its peers' return: the median, over the other funds on the same underlying, of ``R_peer /
  L_peer`` (the only check for a single stock the price table does not hold).

Per fund: ``beta = cov(R, r) / var(r)`` (least squares slope), the correlation, the tracking
error ``std(R - L r)`` (daily, a fraction) and the same correlation on weekly returns (stale
quotes of a thinly traded fund lower the daily correlation, not the weekly one). A fund is
flagged when

* ``sign(beta) != sign(L)`` (wrong direction),
* ``|beta - L| > tolerance * |L|`` (wrong leverage; ``LEVERAGE_TOLERANCE`` by asset class:
  futures-based commodity and volatility funds roll, so they are allowed more), or
* the daily and the weekly correlation are both under ``MIN_CORRELATION`` (wrong underlying),

and, prices or not, when its name mentions another asset than its underlying (:func:`name_flags`:
MUU, 2x Micron, read "Dx Daily Muni Bond Bull 2x Shares" on the screener).

A flagged fund gets a suggestion: the column of the price table (another ETF, a stock, an index)
or the underlying whose returns correlate best with the fund's, with its beta. A flag is
*explained* when the catalog entry carries ``verify_note`` (why the check cannot apply, e.g. a
proxy composition); every other flag is a catalog error to fix.

Inputs that cannot be checked (no prices, too few, a constant price, no common days with any
reference) are reported per fund with the reason; a beta that cannot be computed is None,
never a number.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import ISSUER_ALIASES, Universe
from lev_flows.inputs.sources.underlyings import (
    COMPANY_TICKERS,
    NAME_RULES,
    RULES,
    TRACKING_ETFS,
    UNDERLYINGS,
)
from lev_flows.model.estimate import compiled
from lev_flows.model.returns import daily_returns, underlying_return_matrix

#: allowed ``|beta - L| / |L|`` by the underlying's asset class
LEVERAGE_TOLERANCE = {
    "equity": 0.12, "fixed_income": 0.15, "crypto": 0.15, "currency": 0.2,
    "commodity": 0.25, "volatility": 0.35, "multi": 0.35,
}
#: minimum |correlation| (daily or weekly) with the declared underlying, by asset class
MIN_CORRELATION = {
    "equity": 0.9, "fixed_income": 0.8, "crypto": 0.9, "currency": 0.8,
    "commodity": 0.85, "volatility": 0.85, "multi": 0.7,
}
#: the default window: the year to the table's last session (the catalog describes the funds as
#: they are now; a fund that changed its leverage two years ago is not an error)
DEFAULT_WINDOW_DAYS = 365
#: |R / L - r| beyond this on one day is a data defect (a split the table did not adjust)
BAD_PRINT = 0.25
#: fewest common days for a regression
MIN_DAYS = 60

STATUS_OK, STATUS_FLAGGED, STATUS_EXPLAINED, STATUS_UNCHECKED = "ok", "flagged", "explained", "not checked"


@dataclass(frozen=True)
class VerifyResult:
    """One row per fund (``table``) and the window the regressions used."""

    table: pd.DataFrame
    start: dt.date
    end: dt.date

    @property
    def flagged(self) -> pd.DataFrame:
        """Funds whose flag the catalog does not explain: each one is a catalog error."""
        return self.table[self.table["status"] == STATUS_FLAGGED].reset_index(drop=True)

    @property
    def explained(self) -> pd.DataFrame:
        return self.table[self.table["status"] == STATUS_EXPLAINED].reset_index(drop=True)

    def summary(self) -> str:
        counts = self.table["status"].value_counts()
        parts = [f"{int(counts.get(s, 0))} {s}" for s in (STATUS_OK, STATUS_FLAGGED, STATUS_EXPLAINED, STATUS_UNCHECKED)]
        return f"universe verify {self.start} .. {self.end}: {len(self.table)} funds: " + ", ".join(parts)


def regression_stats(y: np.ndarray, x: np.ndarray, min_days: int = MIN_DAYS) -> dict[str, np.ndarray]:
    """Column-wise least squares of ``y`` on ``x`` (both (T, N), NaN = missing), over the rows
    where both are finite.

    Returns arrays (N,): ``n`` (common days), ``beta = cov / var(x)``, ``corr`` (Pearson) and
    ``te = std(y - beta_declared x)`` is left to the caller. Columns with fewer than
    ``min_days`` common rows or a constant ``x`` or ``y`` get NaN (never a number).
    """
    ok = np.isfinite(y) & np.isfinite(x)
    n = ok.sum(axis=0)
    yz, xz = np.where(ok, y, 0.0), np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        my, mx = yz.sum(axis=0) / n, xz.sum(axis=0) / n
        dy, dx = np.where(ok, y - my, 0.0), np.where(ok, x - mx, 0.0)
        sxy, sxx, syy = (dx * dy).sum(axis=0), (dx * dx).sum(axis=0), (dy * dy).sum(axis=0)
        beta = sxy / sxx
        corr = sxy / np.sqrt(sxx * syy)
    bad = (n < min_days) | ~(sxx > 1e-14) | ~(syy > 1e-14)
    return {"n": n, "beta": np.where(bad, np.nan, beta), "corr": np.where(bad, np.nan, corr)}


def _weekly(day_r: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
    """Compound daily returns (T, N) into calendar-week returns; a week with a missing day is NaN."""
    week = dates.to_period("W-FRI").asi8
    starts = np.flatnonzero(np.r_[True, week[1:] != week[:-1]])
    logs = np.log1p(np.where(day_r > -1, day_r, np.nan))
    sums = np.add.reduceat(np.nan_to_num(logs), starts, axis=0)
    missing = np.add.reduceat(~np.isfinite(logs), starts, axis=0)
    return np.where(missing == 0, np.expm1(sums), np.nan)


def _peer_returns(fund_r: np.ndarray, leverage: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per fund, the median over the *other* funds on its underlying of ``R / L`` (T, F)."""
    unit = fund_r / leverage[None, :]
    out = np.full_like(unit, np.nan)
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        if len(members) < 2:
            continue
        for i in members:
            others = members[members != i]
            block = unit[:, others]
            has = np.isfinite(block).any(axis=1)
            if has.any():
                out[has, i] = np.nanmedian(block[has], axis=1)
    return out


def _suggest(fund_r: pd.Series, candidates: pd.DataFrame, min_days: int) -> tuple[str | None, float, float]:
    """The candidate column whose returns correlate best (in absolute value) with ``fund_r``."""
    common = candidates.notna() & fund_r.notna().to_numpy()[:, None]
    enough = common.sum() >= min_days
    if not enough.any():
        return None, np.nan, np.nan
    cand = candidates.loc[:, enough]
    stats = regression_stats(
        np.repeat(fund_r.to_numpy()[:, None], cand.shape[1], axis=1), cand.to_numpy(dtype=float), min_days
    )
    corr = np.abs(stats["corr"])
    if not np.isfinite(corr).any():
        return None, np.nan, np.nan
    k = int(np.nanargmax(corr))
    return str(cand.columns[k]), float(stats["corr"][k]), float(stats["beta"][k])


def verify(
    universe: Universe,
    closes: pd.DataFrame,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    tickers: list[str] | None = None,
    min_days: int = MIN_DAYS,
) -> VerifyResult:
    """Check every fund (or ``tickers``) of ``universe`` against its own prices in ``closes``
    (a wide close table with the funds, stocks, index levels and reference ETFs) between
    ``start`` and ``end``. See the module doc for the statistics and the flags."""
    window = _window(universe, closes, start, end)
    c = compiled(universe)
    known = {f.ticker for f in universe.funds}
    if tickers is not None:
        unknown = [t for t in tickers if t not in known]
        if unknown:
            raise InputError(f"universe verify: not in the catalog: {', '.join(unknown)}")
    day_r = daily_returns(window)
    m = underlying_return_matrix(universe, day_r)  # the reference: the underlying's own price, tracking ETF or composition (never a fund)
    st = _statistics(c, day_r, m, min_days)
    ref_label = _reference_labels(universe, m.method[:, c.fund_underlying])
    candidates = _candidates(day_r, known, m)
    rows = []
    names = name_flags(universe)
    for i, fund in enumerate(universe.funds):
        if tickers is None or fund.ticker in tickers:
            rows.append(_with_name_flag(_fund_row(universe, c, i, fund, window, st, ref_label[i], candidates, min_days),
                                        names.get(fund.ticker)))
    return VerifyResult(table=pd.DataFrame(rows), start=st.dates[0].date(), end=st.dates[-1].date())


def _window(universe: Universe, closes: pd.DataFrame, start, end) -> pd.DataFrame:
    """The sessions checked: ``start`` .. ``end``, by default the year to the funds' last price
    (the funds' own prices may end before the stocks')."""
    if closes.empty or len(closes) < 2:
        raise InputError("universe verify: the price table has fewer than two sessions")
    fund_cols = [f.ticker for f in universe.funds if f.ticker in closes.columns]
    last_fund_day = closes[fund_cols].dropna(how="all").index.max() if fund_cols else closes.index[-1]
    hi = pd.Timestamp(end) if end else last_fund_day
    lo = pd.Timestamp(start) if start else max(closes.index[0], hi - pd.Timedelta(days=DEFAULT_WINDOW_DAYS))
    window = closes[(closes.index >= lo) & (closes.index <= hi)]
    if len(window) < 2:
        raise InputError(f"universe verify: no sessions between {lo.date()} and {hi.date()} in the price table")
    return window


@dataclass(frozen=True)
class _Stats:
    """Per fund (columns in universe order): the regressions of its daily return on its
    reference's and on its peers' (daily and weekly), its tracking error, its returns (T, F) with
    stale closes and bad prints removed, and which days were bad prints."""

    dates: pd.DatetimeIndex
    fund_r: np.ndarray
    bad_print: np.ndarray
    own: dict
    peer: dict
    weekly: dict
    weekly_peer: dict
    te: np.ndarray


def _statistics(c, day_r: pd.DataFrame, m, min_days: int) -> _Stats:
    dates = pd.DatetimeIndex(day_r.index)
    ref = m.values[:, c.fund_underlying]
    raw = day_r.reindex(columns=c.tickers).to_numpy(dtype=float)
    # a fund's exact zero return is a repeated (stale) close; outside (-100 %, +100 %] a bad print
    fund_r = np.where((raw > -1.0) & (raw <= 1.0) & (raw != 0.0), raw, np.nan)
    # a day whose R / L is more than BAD_PRINT away from the reference is an unadjusted split or
    # a bad print (SOXS -94.6 % on 2026-05-26), not evidence about the mapping: skipped, counted
    with np.errstate(invalid="ignore"):
        bad_print = np.abs(fund_r / c.leverage[None, :] - ref) > BAD_PRINT
    fund_r = np.where(bad_print, np.nan, fund_r)
    raw = np.where(bad_print, np.nan, raw)
    peers = _peer_returns(fund_r, c.leverage, c.fund_underlying)
    wk_min = max(min_days // 5, 12)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a fund with no reference day: NaN
        te = np.nanstd(np.where(np.isfinite(ref), fund_r - c.leverage[None, :] * ref, np.nan), axis=0)
    return _Stats(
        dates=dates, fund_r=fund_r, bad_print=bad_print,
        own=regression_stats(fund_r, ref, min_days), peer=regression_stats(fund_r, peers, min_days),
        weekly=regression_stats(_weekly(raw, dates), _weekly(ref, dates), wk_min),
        weekly_peer=regression_stats(_weekly(raw, dates), _weekly(peers, dates), wk_min), te=te,
    )


def _fund_row(universe: Universe, c, i: int, fund, window: pd.DataFrame, st: _Stats, ref_label: str, candidates,
              min_days: int) -> dict:
    """One fund's row of the verify table: why it could not be checked, or its statistics, flags
    and the likelier underlying when flagged."""
    und = universe.underlying_by_id[fund.underlying]
    row = {
        "ticker": fund.ticker, "leverage": fund.leverage, "underlying": fund.underlying,
        "asset_class": und.asset_class, "structure": fund.structure, "reset": fund.reset, "aum_usd": fund.aum_usd,
        "reference": None, "days": 0, "beta": None, "correlation": None, "weekly_correlation": None,
        "tracking_error_bp": None, "peer_beta": None, "peers": int((c.fund_underlying == c.fund_underlying[i]).sum() - 1),
        "bad_prints": int(st.bad_print[:, i].sum()),
        "status": STATUS_UNCHECKED, "flags": "", "suggestion": None, "note": fund.verify_note,
    }
    own, peer = st.own, st.peer
    prices = window[fund.ticker].dropna() if fund.ticker in window.columns else pd.Series(dtype=float)
    use_ref, use_peer = np.isfinite(own["beta"][i]), np.isfinite(peer["beta"][i])
    if fund.ticker not in window.columns or prices.empty:
        row["flags"] = "no prices in the table"
    elif len(prices) < min_days + 1:
        row["flags"] = f"only {len(prices)} prices (at least {min_days + 1} needed)"
    elif prices.nunique() == 1:
        row["flags"] = "constant price (no returns)"
    elif not (use_ref or use_peer):
        if own["n"][i] == 0 and peer["n"][i] == 0:
            row["flags"] = "no days in common with the underlying or a peer fund"
        else:
            n = max(own["n"][i], peer["n"][i])
            row["flags"] = f"only {n} day{'' if n == 1 else 's'} in common with the underlying or a peer"
    else:
        stats, wk, label = (own, st.weekly, ref_label) if use_ref else (peer, st.weekly_peer, f"peers ({row['peers']} funds)")
        beta, corr, wcorr = float(stats["beta"][i]), float(stats["corr"][i]), float(wk["corr"][i])
        row.update(
            reference=label, days=int(stats["n"][i]), beta=round(beta, 3), correlation=round(corr, 4),
            weekly_correlation=None if not np.isfinite(wcorr) else round(wcorr, 4),
            tracking_error_bp=round(float(st.te[i]) * 1e4, 1) if use_ref and np.isfinite(st.te[i]) else None,
            peer_beta=round(float(peer["beta"][i]), 3) if use_peer else None,
        )
        flags = _flags(fund.leverage, beta, corr, wcorr, und.asset_class)
        if flags:
            best, bcorr, bbeta = _suggest(pd.Series(st.fund_r[:, i], index=st.dates), candidates, min_days)
            if best is not None:
                row["suggestion"] = f"{best} (corr {bcorr:.3f}, beta {bbeta:.2f})"
            row["flags"] = "; ".join(flags)
            row["status"] = STATUS_EXPLAINED if fund.verify_note else STATUS_FLAGGED
        else:
            row["status"] = STATUS_OK
    return row


def _with_name_flag(row: dict, why: str | None) -> dict:
    """A fund's row with its name flag (:func:`name_flags`) first among its flags: flagged (or
    explained, with a ``verify_note``) whatever its prices said, even when they could not be checked."""
    if why:
        row["flags"] = why + (f"; {row['flags']}" if row["flags"] else "")
        row["status"] = STATUS_EXPLAINED if row["note"] else STATUS_FLAGGED
    return row


def _flags(leverage: float, beta: float, corr: float, weekly_corr: float, asset_class: str) -> list[str]:
    out = []
    if np.sign(beta) != np.sign(leverage):
        out.append(f"wrong sign: beta {beta:+.2f} for declared {leverage:+g}")
    elif abs(beta - leverage) > LEVERAGE_TOLERANCE.get(asset_class, 0.35) * abs(leverage):
        out.append(f"leverage: beta {beta:+.2f} for declared {leverage:+g}")
    floor = MIN_CORRELATION.get(asset_class, 0.7)
    best = np.nanmax([abs(corr), abs(weekly_corr) if np.isfinite(weekly_corr) else 0.0])
    if best < floor:
        out.append(f"low correlation {abs(corr):.2f} (weekly {abs(weekly_corr):.2f}, minimum {floor}): wrong underlying?")
    return out


def _reference_labels(universe: Universe, method: np.ndarray) -> list[str]:
    """What each fund's reference return was, by the most common method over the window."""
    from lev_flows.inputs.sources.underlyings import INDEX_PRICE_COLUMNS
    from lev_flows.model.returns import METHOD_COMPOSITION, METHOD_ETF, METHOD_PRICE

    out = []
    for i, fund in enumerate(universe.funds):
        codes = method[:, i]
        codes = codes[codes > 0]
        if len(codes) == 0:
            out.append("none")
            continue
        top = np.bincount(codes).argmax()
        uid = fund.underlying
        out.append({
            METHOD_PRICE: INDEX_PRICE_COLUMNS.get(uid, uid),
            METHOD_ETF: f"{TRACKING_ETFS.get(uid, '?')} (tracking ETF)",
            METHOD_COMPOSITION: f"{uid} composition",
        }.get(int(top), "?"))
    return out


def _candidates(day_r: pd.DataFrame, fund_tickers: set[str], m) -> pd.DataFrame:
    """Return columns a fund could be tracking: every non-catalog column of the price table
    (reference ETFs, stocks, index levels) and every underlying's composition return."""
    cols = [c for c in day_r.columns if c not in fund_tickers]
    comp = pd.DataFrame(m.values, index=day_r.index, columns=[f"{u} (underlying)" for u in m.underlying_ids])
    comp = comp.loc[:, comp.notna().sum() > 0]
    return pd.concat([day_r[cols], comp], axis=1)


__all__ = ["VerifyResult", "verify", "leverage_changes", "name_flags", "regression_stats", "LEVERAGE_TOLERANCE", "MIN_CORRELATION", "MIN_DAYS"]

# ---- leverage changes over time ---------------------------------------------------------------

#: the leverage levels a fund is run at (signed ones are these with a minus)
LEVERAGE_LEVELS = (0.5, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
#: a rolling ratio within this of a level counts as that level
LEVEL_SNAP = 0.12
#: qualifying days in the rolling median, and in a regime for it to count
CHANGE_WINDOW = 21
MIN_REGIME_DAYS = 25
#: days whose underlying moved less than this are too noisy for R / r
MIN_MOVE = 0.005
#: funds holding rolled futures drift from their reference ETF (contango, another futures mix):
#: their R / r is no measure of a leverage change, so they are not searched
ROLLING_FUTURES = ("commodity", "volatility")


def _regimes(levels: np.ndarray) -> list[tuple[int, int, float]]:
    """Runs of one snapped level, ``(first, last, level)`` over positions; NaN breaks nothing
    (it extends neither run) and runs shorter than MIN_REGIME_DAYS are dropped."""
    runs: list[list] = []
    for pos, level in enumerate(levels):
        if not np.isfinite(level):
            continue
        if runs and runs[-1][2] == level:
            runs[-1][1] = pos
        else:
            runs.append([pos, pos, level])
    long = [r for r in runs if r[1] - r[0] + 1 >= MIN_REGIME_DAYS]
    merged: list[list] = []
    for r in long:  # a short interruption between two runs of one level does not split it
        if merged and merged[-1][2] == r[2]:
            merged[-1][1] = r[1]
        else:
            merged.append(list(r))
    return [tuple(r) for r in merged]


def _break_day(R: np.ndarray, r: np.ndarray, lo: int, hi: int, before: float, after: float) -> int:
    """The position in ``lo..hi`` from which ``after`` fits ``R`` better than ``before``: the
    split minimising ``sum (R - L r)^2`` with ``L = before`` up to it and ``after`` from it."""
    e_before = (R[lo:hi + 1] - before * r[lo:hi + 1]) ** 2
    e_after = (R[lo:hi + 1] - after * r[lo:hi + 1]) ** 2
    cost = np.concatenate([[0.0], np.cumsum(e_before)]) + np.concatenate([np.cumsum(e_after[::-1])[::-1], [0.0]])
    return lo + int(np.argmin(cost))


def leverage_changes(universe: Universe, closes: pd.DataFrame, tickers: list[str] | None = None) -> pd.DataFrame:
    """Where each daily fund's own prices say its leverage changed (equity, crypto, rates and
    currency funds with a direct price of their underlying: a stock, an index level or a
    tracking ETF; never a proxy composition or rolled futures).

    On the days its declared underlying moved more than MIN_MOVE, the fund's ``R / r`` is taken
    over a rolling window of CHANGE_WINDOW such days (median), snapped to the nearest level of
    LEVERAGE_LEVELS (with the fund's sign) when within LEVEL_SNAP; a level held for at least
    MIN_REGIME_DAYS such days is a regime. Between two regimes the change's session is the split
    that fits ``R = L r`` best (least squares). Returns one row per change: ``ticker,
    leverage_before, leverage_after, effective`` (the first session at the new leverage),
    ``in_catalog`` (the catalog's fact history has it, within 10 sessions) and the catalog's
    leverage on that day after the change.
    """
    day_r = daily_returns(closes)
    m = underlying_return_matrix(universe, day_r)
    c = compiled(universe)
    from lev_flows.model.returns import METHOD_ETF, METHOD_PRICE

    direct = np.isin(m.method[:, c.fund_underlying], (METHOD_PRICE, METHOD_ETF))  # a price, never a proxy composition
    ref = np.where(direct, m.values[:, c.fund_underlying], np.nan)
    sessions = pd.DatetimeIndex(day_r.index)
    rows = []
    levels = np.array(LEVERAGE_LEVELS)
    for i, fund in enumerate(universe.funds):
        if (tickers and fund.ticker not in tickers) or fund.reset != "daily" or fund.ticker not in day_r \
                or fund.asset_class in ROLLING_FUTURES:
            continue
        R, r = day_r[fund.ticker].to_numpy(dtype=float), ref[:, i]
        ok = np.flatnonzero(np.isfinite(R) & np.isfinite(r) & (np.abs(r) > MIN_MOVE))
        if len(ok) < 2 * MIN_REGIME_DAYS:
            continue
        ratio = pd.Series(R[ok] / r[ok]).rolling(CHANGE_WINDOW, center=True, min_periods=CHANGE_WINDOW // 2 + 1).median().to_numpy()
        sign = np.sign(fund.leverage)
        near = np.abs(np.abs(np.nan_to_num(ratio, nan=np.inf))[:, None] - levels[None, :])
        best = near.argmin(axis=1)
        snapped = np.where((near.min(axis=1) <= LEVEL_SNAP) & (np.sign(ratio) == sign), sign * levels[best], np.nan)
        regimes = _regimes(snapped)
        for (a0, a1, before), (b0, b1, after) in zip(regimes, regimes[1:]):
            pos = _break_day(R[ok], r[ok], a1, b0, before, after)  # the split between the two regimes
            day = sessions[ok[min(pos, len(ok) - 1)]].date()
            known = any(abs((h.until - day).days) <= 14 and h.leverage == before for h in fund.history)
            rows.append({"ticker": fund.ticker, "leverage_before": before, "leverage_after": after, "effective": day,
                         "in_catalog": known, "catalog_leverage": fund.leverage_on(day)})
    return pd.DataFrame(rows, columns=["ticker", "leverage_before", "leverage_after", "effective", "in_catalog",
                                       "catalog_leverage"])


# ---- the fund's name against its underlying -----------------------------------------------------

#: words of a fund's name that say which asset class it tracks. Only words no equity sector fund
#: uses for its stocks: "Gold Miners", "Oil & Gas Exploration", "Big Oil", "Crypto Industry" and
#: "Low Volatility" are equity funds (a name rule resolving to the declared underlying wins first)
NAME_ASSET_WORDS = [(re.compile(p, re.IGNORECASE), asset) for p, asset in [
    (r"\bmuni(cipal)?s?\b|\bbonds?\b|\btreasur(y|ies)\b|\bhigh yield\b", "fixed_income"),
    (r"\bgold\b(?! miners)|\bsilver\b|\bcrude\b|\boil\b|\bnatural gas\b", "commodity"),
    (r"\bbitcoin\b|\bether(eum)?\b|\bsolana\b|\bxrp\b|\bcrypto\b(?!\s+industry)", "crypto"),
    (r"\bvix\b|(?<!low )(?<!minimum )\bvolatility\b", "volatility"),
    (r"\byen\b|\beuro\b|\bdollar\b", "currency"),
]]
#: words that name an index, in the name of a fund whose underlying is one stock
INDEX_WORDS = re.compile(r"\b(msci|s&p|nasdaq|russell|dow jones|ftse|index|sector)\b", re.IGNORECASE)
#: first words of underlying names too general to identify one ("S&P Regional Banks")
_GENERIC_FIRST = {"s&p", "msci", "solactive", "nyse", "dow", "ice", "u.s.", "ftse", "the", "nasdaq", "bank", "cboe"}


def name_flags(universe: Universe) -> dict[str, str]:
    """Funds whose name mentions another asset than their declared underlying, where the name
    tells (fund ticker -> why): MUU, 2x Micron, named "Dx Daily Muni Bond Bull 2x Shares" by the
    screener; MSFU, 2x Microsoft, named "... MSCI Consumer Discretionary Bull 2x Fund".

    A name agrees with its underlying when it names it: the underlying's id as a word or the
    first word of its name ("Micron", "Taiwan"), a company of
    :data:`~lev_flows.inputs.sources.underlyings.COMPANY_TICKERS` that is it, or a screener rule
    (:data:`~lev_flows.inputs.sources.underlyings.RULES`, ``NAME_RULES``) resolving to it or to an
    index of its bucket (Semiconductors: SOX, DJUSSC). Otherwise it is flagged when it names
    another company, another underlying by a rule, an asset class other than the underlying's
    (:data:`NAME_ASSET_WORDS`), or an index while the underlying is one stock. Not compared: an
    underlying the importer could not name (``FUND_x``) and multi-asset underlyings.

    >>> from lev_flows import load_universe
    >>> name_flags(load_universe())
    {}
    """
    flags = {}
    for fund in universe.funds:
        why = _name_flag(fund.name, fund.issuer, universe.underlying_by_id[fund.underlying])
        if why:
            flags[fund.ticker] = why
    return flags


def _name_flag(name: str, issuer: str | None, und) -> str | None:
    """Why ``name`` (the issuer's name left out: "Volatility Shares" is no volatility fund)
    mentions another asset than ``und``, or None."""
    if und.name == und.id or und.asset_class == "multi":
        return None
    for alias in (issuer, *ISSUER_ALIASES.get(issuer or "", ())):
        name = re.sub(re.escape(alias), " ", name, flags=re.IGNORECASE) if alias else name
    low = name.lower()
    rule = next((uid for rx, uid in [*NAME_RULES, *RULES] if rx.search(low)), None)
    company = next((t for c, t in COMPANY_TICKERS.items() if re.search(rf"\b{re.escape(c)}\b", low)), None)
    same_bucket = rule in UNDERLYINGS and UNDERLYINGS[rule].bucket == und.bucket and und.kind != "single_stock"
    if _names(name, und) or company == und.id or rule == und.id or same_bucket:
        return None
    declared = f"the underlying is {und.id} ({und.name}, {und.asset_class.replace('_', ' ')})"
    if company:
        return f"name: mentions {company}; {declared}"
    if rule:
        return f"name: reads as {rule} ({UNDERLYINGS[rule].name if rule in UNDERLYINGS else rule}); {declared}"
    words = {asset: m.group(0) for rx, asset in NAME_ASSET_WORDS if (m := rx.search(name))}
    if words and und.asset_class not in words:
        return "name: mentions " + ", ".join(f"'{w}' ({a.replace('_', ' ')})" for a, w in words.items()) + f"; {declared}"
    if und.kind == "single_stock" and (m := INDEX_WORDS.search(name)):
        return f"name: mentions an index ({m.group(0)}); {declared}"
    return None


def _names(name: str, und) -> bool:
    """Whether ``name`` names ``und``: its id as a word (case-sensitive under three letters:
    "Mu" in a name is no ticker) or the first word of its name (four letters or more, not a
    general one like "S&P")."""
    if re.search(rf"(?<![A-Za-z0-9]){re.escape(und.id)}(?![A-Za-z0-9])", name, 0 if len(und.id) < 3 else re.IGNORECASE):
        return True
    first = re.split(r"[\s,]+", und.name.strip())[0].lower()
    return len(first) >= 4 and first not in _GENERIC_FIRST and re.search(rf"\b{re.escape(first)}\b", name.lower()) is not None
