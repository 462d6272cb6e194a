"hwnb.bench: plateau detection on synthetic curves, the cache's robustness, and a small end-to-end measurement."
import json, math, warnings
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hwnb import bench as B
from hwnb.detect import detect

TINY = B.Plan(budget_s=1.0, repeats=2, min_sample_s=0.001, gemm_sizes=(256, 512), ws_min_bytes=64 * 2**10,
              read_bytes_per_call=2**22, stream_min_bytes=2**20, dram_factor=2.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1e9, 1e12), min_size=2, max_size=5, unique=True).map(sorted).map(lambda v: v[::-1]),
       st.integers(3, 6), st.floats(0.0, 0.04), st.integers(0, 2**16))
def test_plateaus_recovered(levels, width, noise, seed):
    "A staircase of well-separated levels (each >= 1.5x the next) with noise comes back as one plateau per level."
    levels = [v for i, v in enumerate(levels) if i == 0 or levels[i - 1] / v >= 1.5]
    rng = np.random.default_rng(seed)
    ys = np.concatenate([np.full(width, v) for v in levels]) * rng.uniform(1 - noise, 1 + noise, width * len(levels))
    xs = 2.0 ** np.arange(len(ys)) * 4096
    ps = B.find_plateaus(xs, ys, rel_tol=0.15)
    assert len(ps) == len(levels)
    for p, v in zip(ps, levels):
        assert p['n'] == width and abs(p['value'] / v - 1) <= noise + 1e-9


def test_plateaus_unsorted_input_and_flat_curve():
    ps = B.find_plateaus([8, 1, 4, 2], [5, 5, 5, 5])
    assert len(ps) == 1 and ps[0]['n'] == 4 and (ps[0]['x_lo'], ps[0]['x_hi']) == (1, 8)


def test_assign_levels_resolved_and_not():
    xs = 2.0 ** np.arange(12, 31)
    ys = np.select([xs <= 48 * 2**10, xs <= 2 * 2**20], [300e9, 100e9], 15e9)
    caches = [('l1d', 48 * 2**10), ('l2', 2 * 2**20), ('l3', 32 * 2**20)]
    lv = {r['level']: r for r in B.assign_levels(xs, ys, caches, dram_from=64 * 2**20)}
    assert lv['l1d']['bw'] == 300e9 and lv['l2']['bw'] == 100e9 and lv['dram']['bw'] == 15e9
    assert lv['l3']['bw'] is None and 'same bandwidth as dram' in lv['l3']['reason']
    few = B.assign_levels([2**30], [15e9], caches, dram_from=64 * 2**20)
    assert few[0]['bw'] is None and 'no working set fell inside l1d' in few[0]['reason']


@pytest.fixture(scope='module')
def measured(tmp_path_factory):
    cache = tmp_path_factory.mktemp('cache')
    m = B.measure('quick', plan=TINY, cache_dir=cache, progress=False)
    return m, cache


def test_measure_small_plan(measured):
    m, cache = measured
    assert m.measured and m.kind == 'cpu' and m.fingerprint == detect().fingerprint
    assert m.peak_flops('fp32') > 1e9 and m.mem_bw > 1e9
    assert m.meta['threads'] == detect().physical_cores and m.meta['torch']
    t = m.table()
    assert {'gemm', 'read', 'dispatch'} <= set(t.kind)
    assert (t.groupby(['kind', 'dtype', 'size']).size() >= TINY.repeats).all()    # repeated, never one sample
    s = m.summary().set_index('ceiling')
    assert s.loc['dram bandwidth', 'best'] == m.mem_bw
    assert (s['min'] <= s['median']).all() and (s['median'] <= s['max']).all()
    assert 'no GPU' in m.notes
    assert B.cache_path(m.fingerprint, cache).exists()


def test_measured_on_the_roofline(measured):
    from hwnb import roofline
    m, _ = measured
    assert roofline.ridge(m, 'fp32') == pytest.approx(m.peak_flops('fp32') / m.mem_bw)
    roofs, = roofline.chart_data(roofline.chart([m, 'epyc-9654'], dtypes=['fp32']))
    assert {r['chip'] for r in roofs} == {m.name, 'epyc-9654'} and any(r['measured'] for r in roofs)


def test_cache_roundtrip_and_reuse(measured):
    m, cache = measured
    again = B.load(m.fingerprint, cache)
    assert again is not None and again.mem_bw == m.mem_bw and again.samples == m.samples
    assert B.measure('quick', cache_dir=cache, progress=False).samples == m.samples       # reused, not re-measured


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'foreign', 'wrong-format', 'nan', 'missing-field', 'binary'])
def test_corrupt_cache_is_never_used(measured, tmp_path, damage):
    m, cache = measured
    good = B.cache_path(m.fingerprint, cache).read_text()
    p = B.cache_path(m.fingerprint, tmp_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    d = json.loads(good)
    if damage == 'truncate': p.write_text(good[: len(good) // 3])
    elif damage == 'garbage': p.write_text('{{{ not json')
    elif damage == 'binary': p.write_bytes(b'\x00\xff\xfe' * 100)
    else:
        if damage == 'foreign': d['fingerprint'] = 'someone-else'
        if damage == 'wrong-format': d['format'] = 'other/9'
        if damage == 'nan': d['samples'][0][4] = float('nan')
        if damage == 'missing-field': del d['memory']
        p.write_text(json.dumps(d))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        assert B.load(m.fingerprint, tmp_path) is None
    assert any('ignoring cached measurement' in str(x.message) for x in w)


def test_stale_cache(measured, tmp_path):
    m, cache = measured
    d = json.loads(B.cache_path(m.fingerprint, cache).read_text())
    p = B.cache_path(m.fingerprint, tmp_path); p.parent.mkdir(parents=True, exist_ok=True)
    d['meta']['created'] = '2020-01-01T00:00:00+00:00'
    p.write_text(json.dumps(d))
    with pytest.warns(UserWarning, match='stale'):
        assert B.load(m.fingerprint, tmp_path) is None
    d['meta']['created'] = m.meta['created']; d['meta']['torch'] = '0.0.1'
    p.write_text(json.dumps(d))
    with pytest.warns(UserWarning, match='torch 0.0.1'):
        assert B.load(m.fingerprint, tmp_path) is None
    with pytest.warns(UserWarning, match='quick measurement cannot stand for a full'):
        p.write_text(B.cache_path(m.fingerprint, cache).read_text())
        assert B.load(m.fingerprint, tmp_path, mode='full') is None


def test_unsupported_dtype_is_skipped(monkeypatch):
    real = B._gemm_fn
    def fake(n, dt, device):
        if dt == B.torch.float16: raise RuntimeError('"addmm_impl_cpu_" not implemented for \'Half\'')
        return real(n, dt, device)
    monkeypatch.setattr(B, '_gemm_fn', fake)
    rows, notes, slow = B.gemm_sweep('fp16', TINY, cap_s=1.0)
    assert rows == [] and 'not supported' in notes[0] and not slow


def test_slow_dtype_is_reported_not_a_roof():
    ref = {n: 1e15 for n in TINY.gemm_sizes}         # pretend fp32 runs at 1 PFLOP/s: every other dtype looks slow
    rows, notes, slow = B.gemm_sweep('bf16', TINY, cap_s=1.0, ref=ref)
    assert slow and 'slow' in notes[0] and len(rows) == TINY.repeats    # stopped after the first size


def test_bad_input():
    with pytest.raises(ValueError, match="unknown bench mode 'fast'"):
        B.measure('fast')
    with pytest.raises(ValueError, match='closest matches: bf16'):
        B.gemm_sweep('bf61', TINY, 1.0)
    if not B.torch.cuda.is_available():
        with pytest.raises(ValueError, match='sees no GPU'):
            B.measure('quick', device='cuda', progress=False)
