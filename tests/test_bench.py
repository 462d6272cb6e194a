"hwnb.bench: plateau detection on synthetic curves, the cache's robustness, and a small end-to-end measurement."
import json, math, warnings
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from dataclasses import replace
from hwnb import bench as B, hardware as H
from hwnb.detect import detect

TINY = B.Plan(budget_s=1.0, repeat=2, min_sample_s=0.001, gemm_sizes=(256, 512), ws_min_bytes=64 * 2**10,
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
    assert m.peak_flops('fp32') > 0 and m.mem_bw > 0          # how high depends on the machine's load: never asserted
    assert m.meta['threads'] == detect().physical_cores and m.meta['torch']
    t = m.table()
    assert {'gemm', 'read', 'dispatch'} <= set(t.kind)
    assert (t.groupby(['kind', 'dtype', 'size']).size() >= TINY.repeat).all()    # repeated, never one sample
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
    assert slow and 'slow' in notes[0] and len(rows) == TINY.repeat    # stopped after the first size


def test_bad_input():
    with pytest.raises(ValueError, match="unknown bench mode 'fast'"):
        B.measure('fast')
    with pytest.raises(ValueError, match='closest matches: bf16'):
        B.gemm_sweep('bf61', TINY, 1.0)
    if not B.torch.cuda.is_available():
        with pytest.raises(ValueError, match='sees no GPU'):
            B.measure('quick', device='cuda', progress=False)


# --- issue 19: corrupt caches, unwritable caches, busy machines (items 8, 9, 14) and the invented memory size (issue 14) ---

@pytest.mark.parametrize('damage', ['yesterday', 'future', 'naive-time', 'nested', 'peak-string', 'ceiling-short', 'meta-list',
                                    'deep', 'unknown-dtype', 'bad-datasheet'])
def test_more_corrupt_caches_are_ignored(measured, tmp_path, damage):
    m, cache = measured
    d = json.loads(B.cache_path(m.fingerprint, cache).read_text())
    p = B.cache_path(m.fingerprint, tmp_path); p.parent.mkdir(parents=True, exist_ok=True)
    if damage == 'yesterday': d['meta']['created'] = 'yesterday'
    if damage == 'future': d['meta']['created'] = '2999-01-01T00:00:00+00:00'
    if damage == 'naive-time': d['meta']['created'] = '2026-01-01T00:00:00'
    if damage == 'nested': d['peaks']['fp32']['value'] = {'a': [[1, {'b': None}]]}
    if damage == 'peak-string': d['peaks']['fp32']['value'] = '190e9'
    if damage == 'ceiling-short': d['ceilings'][0] = d['ceilings'][0][:3]
    if damage == 'meta-list': d['meta'] = [1, 2]
    if damage == 'unknown-dtype': d['peaks']['fp99'] = d['peaks']['fp32']
    if damage == 'bad-datasheet': d['datasheet'] = 'no-such-chip'
    text = json.dumps(d)
    if damage == 'deep': text = '[' * 100000 + ']' * 100000
    p.write_text(text)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        assert B.load(m.fingerprint, tmp_path) is None
    assert any('ignoring cached measurement' in str(x.message) for x in w)


def test_future_cache_is_not_trusted(measured, tmp_path):
    "A cache dated a year ahead used to pass the age test forever."
    m, cache = measured
    d = json.loads(B.cache_path(m.fingerprint, cache).read_text())
    d['meta']['created'] = (B.datetime.now(B.timezone.utc) + B.timedelta(days=365)).isoformat()
    p = B.cache_path(m.fingerprint, tmp_path); p.parent.mkdir(parents=True, exist_ok=True); p.write_text(json.dumps(d))
    with pytest.warns(UserWarning, match='in the future'):
        assert B.load(m.fingerprint, tmp_path) is None


_json = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8)


@pytest.fixture(scope='module')
def good_doc(measured):
    m, cache = measured
    return m, json.loads(B.cache_path(m.fingerprint, cache).read_text())


def _paths(d, pre=()):
    yield pre
    if isinstance(d, dict):
        for k, v in d.items(): yield from _paths(v, pre + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d[:3]): yield from _paths(v, pre + (i,))


@settings(max_examples=250, deadline=None)
@given(data=st.data())
def test_load_never_raises_on_a_damaged_cache(good_doc, tmp_path_factory, data):
    "Any field replaced by any JSON value: load returns None with a warning, or a checked Measured with finite figures."
    m, doc = good_doc
    doc = json.loads(json.dumps(doc))
    path = data.draw(st.sampled_from([p for p in _paths(doc) if p]))
    *head, last = path
    tgt = doc
    for k in head: tgt = tgt[k]
    tgt[last] = data.draw(_json)
    d = tmp_path_factory.mktemp('c')
    p = B.cache_path(m.fingerprint, d); p.parent.mkdir(parents=True)
    p.write_text(json.dumps(doc))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        r = B.load(m.fingerprint, d)
    if r is not None:
        assert r.measured and all(math.isfinite(f.value) and f.value > 0 for f in r.peaks.values()) and math.isfinite(r.mem_bw)
        s = r.summary()
        assert np.isfinite(s[['best', 'min', 'median', 'max']].to_numpy(float)).all()


def test_unwritable_cache_dir_keeps_the_result(tmp_path):
    "The measurement used to be lost with an OSError after all the work: now a warning, and the result."
    blocker = tmp_path/'a-file'
    blocker.write_text('not a directory')
    with pytest.warns(UserWarning, match='could not cache the measurement'):
        m = B.measure('quick', plan=TINY, cache_dir=blocker, progress=False)
    assert m.measured and m.mem_bw > 0


def _synthetic(fp32_s=1.0, spread=1.0, fp16_s=None):
    "Samples of a (very) busy machine: a 256^3 fp32 GEMM taking `fp32_s` seconds, the triad at 0.1 GB/s, `spread` max/min."
    n, rows = 256, []
    for k in range(3):
        f = 1 + (spread - 1) * k / 2
        rows.append(('gemm', 'fp32', n, 2 * n**3, fp32_s * f))
        if fp16_s: rows.append(('gemm', 'fp16', n, 2 * n**3, fp16_s * f))
        for kind, moved in (('read', 2**28), ('triad', 3 * 2**28)):
            rows.append((kind, 'fp32', 2**30, moved, moved / 1e8 * f))
        rows.append(('dispatch', 'fp32', 1, 0, 1e-5 * f))
    return rows


def _meta():
    return dict(created=B.datetime.now(B.timezone.utc).isoformat(timespec='seconds'), torch=B.torch.__version__, hwnb=B.__version__,
                threads=2, device='cpu', budget_s=1.0)


def test_a_slow_noisy_measurement_is_kept_and_flagged():
    "33 MFLOP/s and 0.1 GB/s, spread 3x: below every plausible datasheet range, yet what this machine did. It used to raise RuntimeError."
    mach = detect()
    m = B._assemble(mach, _synthetic(fp32_s=1.0, spread=3.0, fp16_s=1000.0), [], {'fp16'}, TINY, 'quick', B.torch.device('cpu'), _meta())
    assert m.peak_flops('fp32') == pytest.approx(2 * 256**3) and m.mem_bw == pytest.approx(1e8 * 3 * 2**28 / (3 * 2**28))
    assert 'fp16' not in m.dtypes                                     # slow: reported, no roof, its ridge not checked
    assert any(f.startswith('peak fp32 (max/min 3.0x)') for f in m.meta['flags']) and 'noisy repeats' in m.notes
    s = m.summary().set_index('ceiling')
    assert s.loc['peak fp32', 'max'] / s.loc['peak fp32', 'min'] == pytest.approx(3.0)
    back = B._from_json(json.loads(json.dumps(B._to_json(m))), m.fingerprint)   # the flag survives the cache
    assert back.meta['flags'] == m.meta['flags']


def test_an_impossible_measurement_is_refused_unless_accepted():
    mach = replace(detect(), cpu_catalog='epyc-9654')
    peak = H.get('epyc-9654').peak_flops('fp32')
    fast = 2 * 256**3 / (2 * peak)                                    # twice the datasheet peak
    args = (mach, _synthetic(fp32_s=fast), [], set(), TINY, 'quick', B.torch.device('cpu'), _meta())
    with pytest.raises(ValueError, match=r"physically impossible.*peak fp32.*hwnb bench --accept"):
        B._assemble(*args)
    m = B._assemble(*args, accept=True)
    assert m.meta['accepted'] and 'accepted although' in m.notes
    assert B._from_json(json.loads(json.dumps(B._to_json(m))), m.fingerprint).meta['accepted']
    just_under = B._assemble(mach, _synthetic(fp32_s=2 * 256**3 / ((1 + B.IMPOSSIBLE_BAND * 0.9) * peak)), [], set(), TINY, 'quick',
                             B.torch.device('cpu'), _meta())
    assert just_under.peak_flops('fp32') > peak                        # over the datasheet, inside the noise band: kept


def test_unknown_memory_is_not_invented():
    "issue 14: bench used to report 1 GB 'from /proc/meminfo' when MemTotal was unreadable."
    mach = replace(detect(), mem_bytes=None)
    m = B._assemble(mach, _synthetic(), [], set(), TINY, 'quick', B.torch.device('cpu'), _meta())
    assert m.memory.capacity.value is None and 'MemTotal' in m.memory.capacity.reason
    assert 'memory capacity unknown' in m.notes
    back = B._from_json(json.loads(json.dumps(B._to_json(m))), m.fingerprint)
    assert back.memory.capacity.value is None


def test_time_budget_setting_caps_the_plan(monkeypatch):
    monkeypatch.setenv('HWNB_TIME_BUDGET_S', '1.5')
    assert B.plan_for('quick').budget_s == 1.5 and B.plan_for('full').budget_s == 1.5
    monkeypatch.setenv('HWNB_TIME_BUDGET_S', '1000')
    assert B.plan_for('full').budget_s == B.PLANS['full'].budget_s


def test_cached_never_measures(tmp_path):
    assert B.cached(cache_dir=tmp_path) is None


good_rate = st.floats(min_value=1e3, max_value=1e16)
rate = st.one_of(st.floats(min_value=1e3, max_value=1e16), st.just(0.0), st.floats(allow_nan=True, allow_infinity=True),
                 st.floats(min_value=-1e9, max_value=-1e-9))


@settings(max_examples=200, deadline=None)
@given(st.lists(good_rate, min_size=1, max_size=4) | st.lists(rate, min_size=1, max_size=4),
       st.lists(good_rate, min_size=1, max_size=4) | st.lists(rate, min_size=1, max_size=4), st.lists(good_rate, max_size=3) | st.lists(rate, max_size=3),
       st.booleans(), st.sampled_from([None, 'epyc-9654', 'grace']))
def test_measure_answers_or_refuses_with_a_reason(tmp_path_factory, monkeypatch_module, gemm, triad, disp, fp16_slow, datasheet):
    "Whatever a sweep measures (slow, noisy, zero, NaN, impossibly fast): a checked Measured with finite figures, or a ValueError saying why."
    def sweep(machine, plan, mode, dev, meta, notes, progress):
        rows = [('gemm', 'fp32', 256, 2 * 256**3, (2 * 256**3 / r) if r else r) for r in gemm]
        rows += [('gemm', 'fp16', 256, 2 * 256**3, 1e3)] if fp16_slow else []
        rows += [(k, 'fp32', 2**30, 3 * 2**28, (3 * 2**28 / r) if r else r) for r in triad for k in ('read', 'triad')]
        rows += [('dispatch', 'fp32', 1, 0, abs(t) if t == t else t) for t in disp]
        meta['elapsed_s'] = 0.1
        return rows, notes, {'fp16'} if fp16_slow else set()
    monkeypatch_module.setattr(B, '_sweep', sweep)
    mach = replace(_MACHINE, cpu_catalog=datasheet)
    monkeypatch_module.setattr(B, 'detect', lambda: mach)
    d = tmp_path_factory.mktemp('m')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try: m = B.measure('quick', force=True, cache_dir=d, progress=False)
        except ValueError as e:
            assert str(e); _OUTCOMES['refused'] += 1; return
    _OUTCOMES['kept'] += 1
    assert all(math.isfinite(f.value) and f.value > 0 for f in m.peaks.values()) and math.isfinite(m.mem_bw) and m.mem_bw > 0
    s = m.summary()
    assert np.isfinite(s[['best', 'min', 'median', 'max']].to_numpy(float)).all()
    assert not B.impossible(m) or m.meta.get('accepted')
    assert B.load(m.fingerprint, d) is not None                         # what measure saved, load accepts


_MACHINE = detect()
_OUTCOMES = {'kept': 0, 'refused': 0}


def test_measure_property_saw_both_outcomes():
    "Runs after the property test (file order): both kept and refused measurements were generated."
    assert _OUTCOMES['kept'] >= 20 and _OUTCOMES['refused'] >= 20, _OUTCOMES


@pytest.fixture(scope='module')
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6), st.text(max_size=5)),
       st.sampled_from(['quick', 'full', 'fast', '']))
def test_plan_for_answers_or_names_the_bad_value(budget, mode):
    try: p = B.plan_for(mode, budget)
    except ValueError as e:
        assert repr(budget) in str(e) or repr(mode) in str(e) or 'time_budget_s' in str(e); return
    assert 0 < p.budget_s <= B.PLANS[mode].budget_s and math.isfinite(p.budget_s)


@pytest.mark.parametrize('kw,msg', [(dict(device='tpu'), "not 'tpu'"), (dict(device='meta'), "'cpu' or 'cuda', not 'meta'"), (dict(device='nonsense'), "not 'nonsense'"),
                                    (dict(max_age_days='old'), "max_age_days"), (dict(max_age_days=-1), 'max_age_days')])
def test_bad_measure_arguments_name_the_value(kw, msg, tmp_path):
    with pytest.raises(ValueError, match=msg):
        B.measure('quick', cache_dir=tmp_path, progress=False, **kw)


def test_corrupt_cache_is_measured_again(tmp_path, monkeypatch):
    "`hwnb bench` used to break on a cache with created='yesterday': now it warns, measures again and rewrites the cache."
    calls = []
    def sweep(machine, plan, mode, dev, meta, notes, progress):
        calls.append(1); meta['elapsed_s'] = 0.1
        n = 256
        return [('gemm', 'fp32', n, 2 * n**3, 0.01), ('gemm', 'fp32', n, 2 * n**3, 0.02), ('triad', 'fp32', 2**30, 3 * 2**28, 0.1),
                ('read', 'fp32', 2**30, 2**28, 0.05)], notes, set()
    monkeypatch.setattr(B, '_sweep', sweep)
    m = B.measure('quick', cache_dir=tmp_path, progress=False)
    p = B.cache_path(m.fingerprint, tmp_path)
    d = json.loads(p.read_text()); d['meta']['created'] = 'yesterday'; p.write_text(json.dumps(d))
    with pytest.warns(UserWarning, match="ignoring cached measurement.*'yesterday'"):
        again = B.measure('quick', cache_dir=tmp_path, progress=False)
    assert len(calls) == 2 and again.measured and B.load(m.fingerprint, tmp_path) is not None


def test_cached_says_it_does_not_measure(measured, tmp_path):
    m, cache = measured
    p = B.cache_path(m.fingerprint, tmp_path); p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text('{broken')
    with pytest.warns(UserWarning, match=r'not used \(`hwnb bench` measures again\)'):
        assert B.cached('cpu', tmp_path) is None
