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


# --- issue 19 item 6: place and efficiency on bad input, time 0, zero-FLOP ops ---
import pandas as pd

any_num = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**20), st.just(0.0),
                    st.floats(min_value=1e-12, max_value=1e15))


def _named(e, *vals):
    "The error names one of the bad values (as %g, repr or str), or says what kind of thing is wrong."
    msg = str(e)
    return any(f'{v:g}' in msg or repr(v) in msg for v in vals if isinstance(v, (int, float))) or 'nothing to judge' in msg \
        or 'overflows' in msg or 'must be a number' in msg


@settings(max_examples=300, deadline=None)
@given(roof, any_num, any_num, any_num)
def test_efficiency_answers_or_names_the_bad_value(r, flops, bytes_, t):
    n, d, lv = r
    try: e = R.efficiency(n, flops, bytes_, t, d, lv)
    except ValueError as err:
        assert _named(err, flops, bytes_, t), str(err); return
    assert math.isfinite(e) and e >= 0
    hw = H.get(n)
    if flops == 0:                                                   # judged by bandwidth, never NaN
        assert math.isclose(e, bytes_ / t / hw.level_bw(lv), rel_tol=1e-9)


def test_efficiency_zero_flops_and_zero_time():
    "A gather used to give NaN, a time of 0 inf (in place) or a bare message."
    assert R.efficiency('h100-sxm', 0, 3.35e6, 1e-6) == pytest.approx(1.0)
    with pytest.raises(ValueError, match='time_s must be > 0'): R.efficiency('h100-sxm', 1e9, 1e6, 0.0)
    with pytest.raises(ValueError, match='got -5'): R.efficiency('h100-sxm', 1e9, -5.0, 1.0)
    with pytest.raises(ValueError, match='nothing to judge'): R.efficiency('h100-sxm', 0, 0, 1.0)
    with pytest.raises(ValueError, match='unknown'): R.efficiency('h100-sxm', float('nan'), 1.0, 1.0)
    with pytest.raises(ValueError, match='overflows'): R.efficiency('h100-sxm', 1e300, 1e300, 1e-300)
    arr = R.efficiency('h100-sxm', [0, 2e9], [3.35e6, 1e6], [1e-6, 1e-3])
    assert np.isfinite(arr).all() and arr[0] == pytest.approx(1.0)


def _table(rows):
    return pd.DataFrame(rows, columns=['op', 'flops', 'bytes', 'time_s']).assign(dtype='bf16', known=True)


def test_place_zero_flops_zero_time_and_negative():
    t = _table([('aten.embedding.default', 0.0, 3.35e6, 1e-6), ('aten.mm.default', 2e9, 1e6, 0.0), ('aten.view.default', 0.0, 0.0, 1e-7),
                ('aten.mm.default', 2e9, 0.0, 1e-3)])
    p = R.place(t, 'h100-sxm')
    assert p.roof_fraction.iloc[0] == pytest.approx(1.0) and p.bound.iloc[0] == 'memory'    # by bandwidth, not NaN
    assert np.isnan(p.roof_fraction.iloc[1]) and np.isnan(p.achieved_flops_s.iloc[1])       # 0 s: no rate, not inf
    assert any('timed at 0 s' in n for n in p.attrs['notes'])
    assert pd.isna(p.bound.iloc[2]) and np.isnan(p.roof_fraction.iloc[2])                   # a view: nothing to judge
    assert p.bound.iloc[3] == 'compute' and p.roof_fraction.iloc[3] == pytest.approx(2e12 / 989.4e12)
    for col, v in (('flops', -1.0), ('bytes', -3.0), ('time_s', -1e-6), ('flops', float('inf')), ('time_s', float('inf'))):
        with pytest.raises(ValueError, match=rf"{col}.*row 1 \(aten.mm.default\)"):
            R.place(t.assign(**{col: [t[col].iloc[0], v, t[col].iloc[2], t[col].iloc[3]]}), 'h100-sxm')
    with pytest.raises(ValueError, match=r"column 'flops' holds 'ten'"):
        R.place(t.assign(flops=['ten', 1.0, 0.0, 1.0]), 'h100-sxm')


cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0), st.floats(min_value=1e-9, max_value=1e13),
                 st.integers(-3, 10**12))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(['h100-sxm', 'mi300x', 'epyc-9654', 'tpu-v5e', 'l4']),
       st.lists(st.tuples(st.sampled_from(['aten.mm.default', 'aten.embedding.default', 'aten.add.Tensor']), cell, cell, cell),
                min_size=1, max_size=6),
       st.sampled_from(['bf16', 'fp32', 'int8', 'fp8', None]))
def test_place_answers_or_names_the_bad_row(chip, rows, dt):
    t = _table(rows)
    if dt: t = t.assign(dtype=dt)
    try: p = R.place(t, chip)
    except ValueError as e:
        assert 'row' in str(e) and any(c in str(e) for c in ('flops', 'bytes', 'time_s')) or 'overflows' in str(e), str(e); return
    num = p[['intensity', 'attainable_flops_s', 'achieved_flops_s', 'achieved_bytes_s', 'roof_fraction']].to_numpy(float)
    assert not np.isinf(num).any()
    f, b, tt = t.flops.astype(float), t.bytes.astype(float), t.time_s.astype(float)
    judged = f.notna() & b.notna() & tt.notna() & (tt > 0) & ((f > 0) | (b > 0))
    assert p.roof_fraction[judged].notna().all() and (p.roof_fraction[judged] >= 0).all()   # NaN only where nothing can be judged
    assert set(p.bound.dropna()) <= {'compute', 'memory'}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.just('aten.view.default'), st.just(0.0), st.just(0.0), st.floats(1e-9, 1.0)), min_size=1, max_size=4))
def test_views_are_never_judged(rows):
    p = R.place(_table(rows), 'h100-sxm')
    assert p.roof_fraction.isna().all() and p.bound.isna().all()
