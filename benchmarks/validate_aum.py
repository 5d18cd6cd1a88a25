"""Held-out validation of the point-in-time AUM model against the issuer's own figures.

    python -m benchmarks.validate_aum            # prints the README tables, writes results/aum_validation.json

1. **The carry rule.** From the ProShares daily net assets of eight funds (2024-2026): carry each
   fund's AUM from an anchor day to every other day with ``V = V_0 (P / P_0) ** beta`` and
   measure ``|log(V / V_true)|``. ``beta = 1`` holds shares constant, ``beta = 0`` dollars; the
   least-squares ``beta`` per direction is fitted leaving each fund out in turn (the error of a
   fund is measured with the ``beta`` of the other three of its direction).
2. **Held out.** The ProShares file is removed from the observations: those eight funds' AUM is
   modelled from the screener snapshots alone (the packaged observations minus ``issuer_nav``,
   the carry elasticities fitted on those alone) and compared with the issuer's net assets at the previous close, by distance (sessions) to
   the nearest snapshot observation, median and 90th percentile of the absolute error.
3. **Month-end anchors.** The issuer file thinned to each fund's last session of every month (what
   an SEC N-PORT filing gives): the eight funds modelled from those anchors alone, interpolated
   along their NAV path, against the issuer's net assets at the previous close on every other
   session; median and 90th percentile of the absolute error.
4. **History totals** with the point-in-time AUM (all observations).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lev_flows import load_universe
from lev_flows.analysis.history import history
from lev_flows.inputs.prices import load_price_dir
from lev_flows.jobs.reference import packaged_observations
from lev_flows.model.pointintime import CARRY_ELASTICITY, point_in_time

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = Path(__file__).parent / "results" / "aum_validation.json"
FUNDS = {"TQQQ": 3, "QLD": 2, "SSO": 2, "UPRO": 3, "SQQQ": -3, "QID": -2, "SDS": -2, "SPXU": -3}
GAP_BUCKETS = [(0, 0), (1, 5), (6, 20), (21, 60), (61, 125), (126, 250), (251, 10_000)]


def issuer_net_assets() -> pd.DataFrame:
    df = pd.read_csv(next((SHARED / "fund_history").glob("proshares_nav_*.csv")), parse_dates=["date"])
    return df.pivot(index="date", columns="ticker", values="aum_usd")


def carry_rule_errors(closes: pd.DataFrame, net: pd.DataFrame, step: int = 10) -> dict:
    """Error of carrying AUM by ``(P / P_0) ** beta`` from anchors every ``step`` sessions."""
    idx = closes.index.intersection(net.index)
    lp = np.log(closes.loc[idx, list(FUNDS)])
    la = np.log(net.loc[idx, list(FUNDS)])
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for t in FUNDS:
        xs, ys = [], []
        for a in range(0, len(idx), step):
            dx, dy = (lp[t] - lp[t].iloc[a]).to_numpy(), (la[t] - la[t].iloc[a]).to_numpy()
            ok = np.isfinite(dx) & np.isfinite(dy) & (np.arange(len(idx)) != a)
            xs.append(dx[ok])
            ys.append(dy[ok])
        pairs[t] = (np.concatenate(xs), np.concatenate(ys))
    out: dict = {"fitted_beta": {}, "rules": {}}
    for direction in ("long", "inverse"):
        tickers = [t for t, lev in FUNDS.items() if (lev > 0) == (direction == "long")]
        x = np.concatenate([pairs[t][0] for t in tickers])
        y = np.concatenate([pairs[t][1] for t in tickers])
        out["fitted_beta"][direction] = float(np.dot(x, y) / np.dot(x, x))
        loo = []
        for t in tickers:
            xo = np.concatenate([pairs[u][0] for u in tickers if u != t])
            yo = np.concatenate([pairs[u][1] for u in tickers if u != t])
            beta = np.dot(xo, yo) / np.dot(xo, xo)
            loo.append(np.abs(pairs[t][1] - beta * pairs[t][0]))
        loo = np.concatenate(loo)
        rules = {
            "shares constant (beta 1)": np.abs(y - x),
            "dollars constant (beta 0)": np.abs(y),
            f"chosen (beta {CARRY_ELASTICITY[direction]:g})": np.abs(y - CARRY_ELASTICITY[direction] * x),
            "least squares, fund left out": loo,
        }
        out["rules"][direction] = {
            k: {"median": float(np.median(v)), "p90": float(np.quantile(v, 0.9))} for k, v in rules.items()
        }
    return out


def held_out_errors(closes: pd.DataFrame, net: pd.DataFrame) -> pd.DataFrame:
    """Model the eight funds from the screener snapshots only; error by gap bucket. Held out all
    the way: the carry elasticities too are fitted without the issuer file (the shipped ones rest
    on it)."""
    from lev_flows.jobs.reference import issuer_held_out

    pit = issuer_held_out(SHARED, packaged_observations(), closes)
    truth = net.shift(1).reindex(pit.sessions)  # net assets at the previous close
    rows = []
    for t in FUNDS:
        i = int(np.flatnonzero(pit.tickers == t)[0])
        model, true, gap = pit.aum_usd[:, i], truth[t].to_numpy(), pit.aum_gap[:, i]
        ok = np.isfinite(model) & np.isfinite(true)
        for g, m, tr in zip(gap[ok], model[ok], true[ok]):
            rows.append({"ticker": t, "direction": "long" if FUNDS[t] > 0 else "inverse", "gap": int(g), "error": abs(np.log(m / tr))})
    df = pd.DataFrame(rows)
    out = []
    for lo, hi in GAP_BUCKETS:
        for direction in ("long", "inverse", "all"):
            sel = df[(df["gap"] >= lo) & (df["gap"] <= hi)]
            if direction != "all":
                sel = sel[sel["direction"] == direction]
            if sel.empty:
                continue
            out.append({
                "gap_sessions": f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi < 10_000 else f">{lo - 1}"),
                "direction": direction, "fund_days": len(sel),
                "median_abs_error": float(np.median(np.expm1(sel["error"]))),
                "p90_abs_error": float(np.quantile(np.expm1(sel["error"]), 0.9)),
            })
    return pd.DataFrame(out)


def month_end_errors(closes: pd.DataFrame, net: pd.DataFrame) -> pd.DataFrame:
    """Model the eight funds from the issuer's month-end net assets only; error on the sessions
    between (the anchors' own next sessions, gap 0, left out)."""
    uni = load_universe()
    long = net.stack().rename("aum_usd").reset_index().rename(columns={"level_1": "ticker"})
    long = long[long["ticker"].isin(list(FUNDS))]
    month = long["date"].dt.to_period("M")
    ends = long[long["date"] == long.groupby([month, "ticker"])["date"].transform("max")]
    obs = ends.assign(timing="close", source_kind="nport", precedence=35, source="month-ends of the issuer file")
    pit = point_in_time(uni, closes, obs)
    truth = net.shift(1).reindex(pit.sessions)
    rows = []
    for t in FUNDS:
        i = int(np.flatnonzero(pit.tickers == t)[0])
        model, true, gap = pit.aum_usd[:, i], truth[t].to_numpy(), pit.aum_gap[:, i]
        ok = np.isfinite(model) & np.isfinite(true) & (gap > 0) & (pit.aum_method[:, i] == 2)  # between two anchors
        err = np.abs(model[ok] / true[ok] - 1)
        rows += [{"ticker": t, "direction": "long" if FUNDS[t] > 0 else "inverse", "error": e} for e in err]
    df = pd.DataFrame(rows)
    out = []
    for direction in ("long", "inverse", "all"):
        sel = df if direction == "all" else df[df["direction"] == direction]
        out.append({"direction": direction, "fund_days": len(sel), "median_abs_error": float(np.median(sel["error"])),
                    "p90_abs_error": float(np.quantile(sel["error"], 0.9))})
    return pd.DataFrame(out)


def _snapshot_pairs(closes: pd.DataFrame) -> pd.DataFrame:
    """Consecutive screener observations of every fund (model.carry.observation_pairs), with the
    funds' ages (sessions since launch) at both ends."""
    from lev_flows.model.carry import observation_pairs

    uni = load_universe()
    obs = packaged_observations()
    obs = obs[obs["source_kind"] == "screener"]
    pairs = observation_pairs(uni, obs, closes)
    index = closes.index
    dates = {t: pd.to_datetime(g.sort_values("date")["date"]).tolist() for t, g in obs.groupby("ticker")}
    age = []
    for t, g in pairs.groupby("ticker", sort=False):
        f = uni.fund_by_ticker[t]
        launch = index.searchsorted(pd.Timestamp(f.inception_date)) if f.inception_date else None
        at = [index.searchsorted(d, side="right") - 1 for d in dates[t]]
        for j in range(len(g)):
            a, b = (at[j] - launch + 1, at[j + 1] - launch + 1) if launch is not None else (np.nan, np.nan)
            age.append((a, b))
    ages = np.array(age, dtype=float).reshape(-1, 2)
    return pairs.assign(age_a=ages[:, 0], age_b=ages[:, 1])


def carry_by_kind_errors(pairs: pd.DataFrame) -> pd.DataFrame:
    """Each snapshot predicted from the previous one by the fund's price: the direction rule
    (0.75 / 0.15) against the elasticity of its kind fitted without the fund (held out);
    |log error| median / p90 by kind."""
    from lev_flows.model.carry import KIND_PRIOR, _pool, _slope

    rows = []
    for t, g in pairs.groupby("ticker"):
        rest = pairs[(pairs["ticker"] != t) & (pairs["kind"] == g["kind"].iat[0]) & (pairs["direction"] == g["direction"].iat[0])]
        prior = KIND_PRIOR.get(f"{g['kind'].iat[0]}, {g['direction'].iat[0]}", CARRY_ELASTICITY[g["direction"].iat[0]])
        b, n = _slope(rest["dx"].to_numpy(), rest["dy"].to_numpy())
        beta = _pool(b, n, prior)
        rule = CARRY_ELASTICITY[g["direction"].iat[0]]
        for dx, dy in zip(g["dx"], g["dy"]):
            rows.append({"kind": g["kind"].iat[0], "rule": abs(dy - rule * dx), "kind_held_out": abs(dy - beta * dx)})
    df = pd.DataFrame(rows)
    out = [{"kind": "all", "pairs": len(df), **_quantiles(df)}]
    out += [{"kind": k, "pairs": len(g), **_quantiles(g)} for k, g in df.groupby("kind")]
    return pd.DataFrame(out)


def _quantiles(df: pd.DataFrame) -> dict:
    return {f"{c}_{q}": float(np.quantile(np.expm1(df[c]), p)) for c in ("rule", "kind_held_out")
            for q, p in (("median", 0.5), ("p90", 0.9))}


def launch_rule_errors(pairs: pd.DataFrame) -> dict:
    """Young funds (launched inside the price table): the earlier snapshot predicted from the
    later by the price alone, and with the launch rule's age term ``(a1 / a2) ** gamma``; gamma is
    fitted without the fund (held out) and over all young funds (what the model ships)."""
    from lev_flows.inputs.packaged import carry_elasticity_table
    from lev_flows.model.carry import fund_elasticity
    from lev_flows.model.pointintime import LAUNCH_GROWTH

    uni = load_universe()
    beta = dict(zip([f.ticker for f in uni.funds], fund_elasticity(uni, carry_elasticity_table())))
    young = pairs[(pairs["age_a"] >= 1) & (pairs["age_b"] > pairs["age_a"])].copy()
    young["resid"] = young["dy"] - young["ticker"].map(beta) * young["dx"]
    young["x"] = np.log(young["age_b"] / young["age_a"])
    gamma_all = float(np.dot(young["x"], young["resid"]) / np.dot(young["x"], young["x"]))
    price_only, held = [], []
    for t, g in young.groupby("ticker"):
        rest = young[young["ticker"] != t]
        gamma = np.dot(rest["x"], rest["resid"]) / np.dot(rest["x"], rest["x"])
        price_only += list(np.abs(g["resid"]))
        held += list(np.abs(g["resid"] - gamma * g["x"]))
    q = lambda v, p: float(np.quantile(np.expm1(np.array(v)), p))  # noqa: E731
    first = _young_sizes(uni)
    return {"sizes_by_age": first, "pairs": len(young), "funds": int(young["ticker"].nunique()), "gamma_fitted": gamma_all, "gamma_used": LAUNCH_GROWTH,
            "price_only_median": q(price_only, 0.5), "price_only_p90": q(price_only, 0.9),
            "held_out_median": q(held, 0.5), "held_out_p90": q(held, 0.9)}


def _young_sizes(uni) -> list[dict]:
    """Observed AUM of funds launched inside the price table, by their age at the observation."""
    closes_index = pd.DatetimeIndex(load_price_dir(SHARED / "prices").index)
    obs = packaged_observations()
    rows = []
    for f in uni.funds:
        if not f.inception_date or pd.Timestamp(f.inception_date) <= closes_index[0] or f.continues:
            continue
        launch = closes_index.searchsorted(pd.Timestamp(f.inception_date))
        for d, a in zip(pd.to_datetime(obs.loc[obs["ticker"] == f.ticker, "date"]), obs.loc[obs["ticker"] == f.ticker, "aum_usd"]):
            rows.append((closes_index.searchsorted(d, side="right") - launch, a))
    df = pd.DataFrame(rows, columns=["age", "aum"])
    out = []
    for lo, hi in ((1, 5), (6, 21), (22, 63), (64, 250)):
        sel = df[(df["age"] >= lo) & (df["age"] <= hi)]["aum"]
        out.append({"age_sessions": f"{lo}-{hi}", "observations": int(len(sel)), "median_usd": float(sel.median()),
                    "p90_usd": float(sel.quantile(0.9)), "max_usd": float(sel.max())})
    return out


def history_totals(closes: pd.DataFrame) -> dict:
    h = history(load_universe(), closes, observations=packaged_observations())
    d = h.daily["rebalance_usd"]
    top = h.largest_days(5)
    return {
        "sessions": len(d),
        "mean_abs_net_usd": float(d.abs().mean()),
        "2025-04-09": float(d.loc["2025-04-09"]),
        "2026-02-04": float(d.loc["2026-02-04"]),
        "largest_days": {k.date().isoformat(): float(v) for k, v in top["rebalance_usd"].items()},
        "days_over_10_sessions": h.stale_days,
    }


def main() -> None:
    closes = load_price_dir(SHARED / "prices")
    net = issuer_net_assets()
    rules = carry_rule_errors(closes, net)
    held = held_out_errors(closes, net)
    monthly = month_end_errors(closes, net)
    pairs = _snapshot_pairs(closes)
    kinds = carry_by_kind_errors(pairs)
    launch = launch_rule_errors(pairs)
    totals = history_totals(closes)
    print("fitted elasticity (least squares):", {k: round(v, 3) for k, v in rules["fitted_beta"].items()})
    for direction, table in rules["rules"].items():
        print(f"\n{direction} funds, |log error| of carrying AUM by price:")
        for name, v in table.items():
            print(f"  {name:32s} median {v['median']:.3f}  p90 {v['p90']:.3f}")
    print("\nheld out (ProShares file removed; modelled from screener snapshots only):")
    print(held[held["direction"] == "all"].to_string(index=False, float_format=lambda v: f"{v:.1%}"))
    print("\nmonth-end anchors only (as N-PORT gives them), the sessions between:")
    print(monthly.to_string(index=False, float_format=lambda v: f"{v:.1%}"))
    print("\ncarry by kind of product, each snapshot from the previous one (|error|):")
    print(kinds.to_string(index=False, float_format=lambda v: f"{v:.1%}"))
    print("\nlaunch rule, young funds' earlier snapshot from the later:", json.dumps(launch, indent=1))
    print("\nhistory with point-in-time AUM:", json.dumps(totals, indent=1))
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"carry_rule": rules, "held_out": held.to_dict("records"),
                               "month_end_anchors": monthly.to_dict("records"), "carry_by_kind": kinds.to_dict("records"),
                               "launch_rule": launch, "history": totals}, indent=1) + "\n")
    print(f"\nwrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
