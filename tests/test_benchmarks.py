"""The benchmark's naive baseline and the engine agree (timings live in benchmarks/, not here)."""

import pytest

from benchmarks.run import agree, engine_stock_flows, naive_stock_flows, synthetic_universe
from tests.conftest import SMALL_RETURNS


def test_engine_matches_naive_baseline_small(small_universe):
    naive = naive_stock_flows(small_universe, SMALL_RETURNS)
    assert naive["STK1"] == pytest.approx(0.6 * -244e6 - 20e6)
    assert agree(engine_stock_flows(small_universe, SMALL_RETURNS), naive) <= 1e-9


def test_engine_matches_naive_baseline_synthetic():
    uni, returns = synthetic_universe(n_funds=60, n_stocks=200, n_indexes=4, seed=3)
    assert agree(engine_stock_flows(uni, returns), naive_stock_flows(uni, returns)) <= 1e-9
