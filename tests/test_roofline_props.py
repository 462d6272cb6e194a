"Property tests of the roofline math over every chip, dtype and memory level in the catalog."
import math
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hwnb import hardware as H, roofline as R

ROOFS = [(n, d, lv) for n in H.names() for d in H.get(n).dtypes
         for lv in H.get(n).levels if H.get(n).level(lv).bw.value is not None]
roof = st.sampled_from(ROOFS)
intensity = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(roof, intensity)
def test_attainable_below_both_roofs(r, i):
    n, d, lv = r
    hw = H.get(n)
    a = R.attainable(hw, i, d, lv)
    assert a <= min(hw.peak_flops(d), hw.level_bw(lv) * i) * (1 + 1e-12)
    assert a >= 0


@settings(max_examples=300, deadline=None)
@given(roof, intensity, intensity)
def test_monotonic(r, i1, i2):
    n, d, lv = r
    lo, hi = sorted([i1, i2])
    assert R.attainable(n, lo, d, lv) <= R.attainable(n, hi, d, lv)


@settings(max_examples=200, deadline=None)
@given(roof, st.floats(min_value=1e-6, max_value=0.999999), st.floats(min_value=1.0, max_value=1e4))
def test_ridge_is_the_knee(r, below, above):
    n, d, lv = r
    hw = H.get(n)
    k = R.ridge(hw, d, lv)
    peak, bw = hw.peak_flops(d), hw.level_bw(lv)
    assert math.isclose(k, peak / bw)
    assert math.isclose(R.attainable(hw, k, d, lv), peak, rel_tol=1e-9)                 # reaches the peak at the ridge
    assert math.isclose(R.attainable(hw, k * below, d, lv), bw * k * below, rel_tol=1e-9)  # bandwidth-bound below
    assert math.isclose(R.attainable(hw, k * above, d, lv), peak, rel_tol=1e-12)         # flat above
    assert R.bound(hw, k * below, d, lv) == 'memory' and R.bound(hw, k * above, d, lv) == 'compute'


@settings(max_examples=100, deadline=None)
@given(roof, st.lists(intensity, min_size=1, max_size=20))
def test_arrays_match_scalars(r, xs):
    n, d, lv = r
    arr = R.attainable(n, np.array(xs), d, lv)
    assert isinstance(arr, np.ndarray)
    assert np.allclose(arr, [R.attainable(n, x, d, lv) for x in xs], rtol=0, atol=0)
    assert list(R.bound(n, xs, d, lv)) == [R.bound(n, x, d, lv) for x in xs]


@settings(max_examples=100, deadline=None)
@given(roof, st.floats(min_value=1, max_value=1e15), st.floats(min_value=1, max_value=1e12), st.floats(min_value=1, max_value=100))
def test_time_and_efficiency_consistent(r, flops, bytes_, slow):
    "An op timed at `slow` x its roofline time reaches 1/slow of its roof."
    n, d, lv = r
    t = R.time_bound(n, flops, bytes_, d, lv)
    assert math.isclose(R.efficiency(n, flops, bytes_, t * slow, d, lv), 1 / slow, rel_tol=1e-9)


def test_hierarchical_takes_lowest_roof():
    mi = H.get('mi300x')
    cache = mi.caches[0].name
    v = R.attainable_hier(mi, {'main': 50.0, cache: 400.0})
    assert v == min(R.attainable(mi, 50.0), R.attainable(mi, 400.0, level=cache))
    df = R.roofs(mi)
    assert set(df.level) >= {mi.memory.name, cache}
    assert np.allclose(df.ridge, df.peak_flops / df.bw)
