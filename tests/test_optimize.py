"hwnb.optimize: every variant on a tiny model (shape, closeness, stored bytes from closed forms), the gate, cache/resume, failure paths."
import json, math, warnings
import numpy as np
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('torchao')
import torch.nn as nn
from hypothesis import given, settings, strategies as st
from hwnb import optimize as opt
from hwnb.optimize import Gate, Variant, apply, apply_info, sweep, variant, default_variants, pareto
from hwnb.optimize_measure import stored_bytes, tensor_bytes
from hwnb.variants import Int4Linear

FP32 = 4          # bytes per fp32 element
D = 256           # nn.Linear(D, D): the layer the closed forms below describe


@pytest.fixture(scope='module')
def lin():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(D, D)).eval()


@pytest.fixture(scope='module')
def x():
    return torch.randn(16, D, generator=torch.Generator().manual_seed(1))


def rel_err(a, b):
    return float((a.float() - b.float()).norm() / b.float().norm())


# variant name -> (stored bytes of nn.Linear(256, 256) computed independently, largest relative L2 output error allowed)
EXPECTED = {
    'bf16': ((D * D + D) * 2, 0.01),                                  # everything in 2 bytes
    'fp16': ((D * D + D) * 2, 0.002),
    'int8-weight-only': (D * D + D * FP32 + D + D * FP32, 0.01),      # int8 weights, per-row fp32 scale and int8 zero point, fp32 bias
    'int8-dynamic': (D * D + D * FP32 + D + D * FP32, 0.03),          # same weights; activations quantized per row at run time
    'fp8-weight-only': (D * D + D * FP32 + D * FP32, 0.06),           # e4m3 weights (1 byte), per-row fp32 scale, fp32 bias
    'int4-weight-only': (D * D // 2 + D * (D // 32) * FP32 + D * FP32, 0.12),   # two int4 per byte, fp32 scale per 32 inputs, fp32 bias
    'prune-l1-50': ((D * D + D) * FP32, None),                        # zeros stored dense: no saving
    'prune-ln-25': ((D * D + D) * FP32, None),
}


@pytest.mark.parametrize('name', list(EXPECTED))
def test_variant_shape_error_and_stored_bytes(lin, x, name):
    y0 = lin(x).detach()
    m = apply(lin, name, x)
    with torch.no_grad(): y = m(x)
    assert y.shape == y0.shape and y.dtype == torch.float32
    size, tol = EXPECTED[name]
    assert stored_bytes(m) == size
    if tol is not None: assert rel_err(y, y0) < tol
    assert stored_bytes(lin) == (D * D + D) * FP32          # the original is untouched (apply works on a deep copy)
    assert type(lin[0]) is nn.Linear and lin[0].weight.dtype == torch.float32


def test_pruning_zeroes_the_requested_fraction(lin):
    m, info = apply_info(lin, 'prune-l1-50')
    w0, w = lin[0].weight.detach(), m[0].weight.detach()
    assert int((w == 0).sum()) == round(0.5 * D * D)
    kept = w0.abs()[w != 0]                                   # magnitude pruning keeps the largest weights
    assert kept.min() >= w0.abs()[w == 0].max()
    assert not hasattr(m[0], 'weight_orig') and not hasattr(m[0], 'weight_mask')   # prune.remove made it permanent
    s = apply(lin, 'prune-ln-25')[0].weight.detach()
    zero_rows = (s == 0).all(dim=1)
    assert int(zero_rows.sum()) == round(0.25 * D)            # structured: whole output rows (dim=0) removed
    norms = w0.norm(dim=1)
    assert norms[zero_rows].max() <= norms[~zero_rows].min()  # the rows with the smallest L2 norm


def test_int4_packing_matches_an_independent_quantizer():
    torch.manual_seed(3)
    l = nn.Linear(64, 8)
    q = Int4Linear(l, group_size=16)
    w = l.weight.detach().numpy().reshape(8, 4, 16)
    scale = np.abs(w).max(-1, keepdims=True) / 7
    codes = (np.clip(np.round(w / scale), -8, 7) + 8).astype(np.uint8).reshape(8, 64)
    assert np.array_equal(q.packed.numpy(), codes[:, 0::2] | (codes[:, 1::2] << 4))
    np.testing.assert_allclose(q.dequantize().numpy(), ((codes.reshape(8, 4, 16).astype(np.float32) - 8) * scale).reshape(8, 64), rtol=1e-6)
    with pytest.raises(ValueError, match='multiple'): Int4Linear(nn.Linear(60, 8), group_size=16)


def test_tensor_bytes_counts_torchao_inner_tensors(lin):
    w = apply(lin, 'int8-weight-only')[0].weight
    assert tensor_bytes(w) == D * D + D * FP32 + D         # logical fp32 size would be D*D*4
    assert w.numel() * FP32 == D * D * FP32


def test_compile_records_compile_time(lin, x):
    # backend='eager' exercises the torch.compile path (dynamo tracing) without inductor's C++ build (~70 s cold here); the notebook runs inductor
    m, info = apply_info(lin, Variant('compile-eager', 'compile', {'backend': 'eager'}), x)
    assert info['compile_time_s'] > 0
    torch.testing.assert_close(m(x), lin(x), rtol=1e-5, atol=1e-5)


def test_onnx_int8_variant_runs_like_the_model(lin, x):
    m = apply(lin, 'onnx-int8', x)
    y = m(x)
    assert isinstance(y, torch.Tensor) and y.shape == (16, D)
    assert rel_err(y, lin(x).detach()) < 0.03
    assert D * D <= stored_bytes(m) < 0.35 * (D * D + D) * FP32       # int8 weights and a small graph
    assert m(torch.randn(5, D)).shape == (5, D)                       # dynamic batch: an eval_fn may use another batch size


def test_ort_reduce_range_on_cpus_without_vnni():
    "ONNX Runtime's guide: 7-bit weights (reduce_range) on x86 CPUs without VNNI, where u8s8 int8 kernels can saturate."
    from hwnb.onnx_profile import ort_reduce_range
    assert ort_reduce_range(('avx2', 'fma')) is True                                  # AVX2 only
    assert ort_reduce_range(('avx2', 'avx512', 'fma')) is True                        # AVX-512 without VNNI
    assert ort_reduce_range(('avx2', 'avx512', 'avx512_vnni')) is False
    assert ort_reduce_range(('avx2', 'avx_vnni', 'fma')) is False
    assert ort_reduce_range(('neon', 'i8mm')) is False                                # Arm: no u8s8 saturation
    assert Variant('o', 'onnx').params['reduce_range'] == 'auto'
    with pytest.raises(ValueError, match='reduce_range'): Variant('o', 'onnx', {'reduce_range': 7})


def test_variant_names_and_params():
    with pytest.raises(ValueError, match='int8-dynamic'): variant('int8-dynamik')
    with pytest.raises(ValueError, match='amount'): Variant('p', 'prune', {'amonut': 0.5})
    with pytest.raises(ValueError, match='quantize'): Variant('o', 'onnx', {'quantize': 'int3'})
    assert len({v.name for v in default_variants()}) == len(default_variants())
    v = Variant('a', 'cast', {'dtype': 'fp16'})
    with pytest.raises(Exception): v.name = 'b'                       # frozen


# ---- gate ---------------------------------------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(finite, finite, st.floats(0, 0.99), st.booleans())
def test_gate_matches_its_definition(base, metric, tol, hib):
    passed, reason = Gate(tol, hib).check(base, metric)
    worse = (base - metric) if hib else (metric - base)
    assert passed == (worse <= abs(base) * tol)
    assert isinstance(reason, str) and reason


@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 1e3), st.floats(0, 0.5), st.floats(0, 0.49))
def test_gate_is_monotonic_in_tolerance(base, drop, tol):
    metric = base * (1 - drop)
    if Gate(tol).check(base, metric)[0]: assert Gate(min(tol * 2, 0.99)).check(base, metric)[0]
    assert Gate(tol).check(base, base)[0]                                # no change always passes


@pytest.mark.parametrize('tol', [-0.1, 1.0, 2.0, float('nan')])
def test_gate_rejects_bad_tolerance(tol):
    with pytest.raises(ValueError, match=r'\[0, 1\)'): Gate(tol)


def test_gate_default_from_settings(monkeypatch):
    assert Gate().tolerance == 0.02
    monkeypatch.setenv('HWNB_ACCURACY_TOLERANCE', '0.05')
    assert Gate().tolerance == 0.05


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(1e-4, 1), st.floats(0, 1)), min_size=1, max_size=12))
def test_pareto_front(points):
    lat, met = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    front = pareto(lat, met)
    dominates = lambda j, i: lat[j] <= lat[i] and met[j] >= met[i] and (lat[j] < lat[i] or met[j] > met[i])
    for i in range(len(lat)):
        assert front[i] == (not any(dominates(j, i) for j in range(len(lat))))
    assert front.any()


# ---- sweep: cache, resume, failures -------------------------------------------------------------------------

@pytest.fixture()
def clf():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).eval()


XS = torch.randn(256, 64, generator=torch.Generator().manual_seed(2))


def agreement_with(model):
    labels = model(XS).argmax(-1)
    def agreement(m):
        with torch.no_grad(): return float((m(XS).argmax(-1) == labels).float().mean())
    return agreement


FAST = ['bf16', 'int8-weight-only', 'int4-weight-only', 'prune-l1-50']
QUICK = dict(memory=False, repeat=3, warmup=1, threads=1, progress=False)


def test_sweep_table(clf, tmp_path):
    res = sweep(clf, torch.randn(8, 64), agreement_with(clf), FAST, cache=tmp_path, **QUICK)
    df = res.df
    assert list(df.variant) == ['fp32'] + FAST and list(df.columns[:len(opt.COLUMNS)]) == opt.COLUMNS
    assert (df.status == 'ok').all() and df.metric[0] == 1.0
    np.testing.assert_allclose(df.speedup, df.latency_s[0] / df.latency_s)
    np.testing.assert_allclose(df.size_ratio, df.size_bytes / df.size_bytes[0])
    np.testing.assert_allclose(df.throughput, 8 / df.latency_s)
    assert (df.latency_min_s <= df.latency_s).all() and (df.latency_s <= df.latency_max_s).all()
    assert df.size_bytes[0] == (64 * 128 + 128 + 128 * 10 + 10) * FP32
    for r in df.itertuples():
        assert r.passed == Gate().check(1.0, r.metric)[0]
    assert res.chart().to_dict()['layer']
    assert 'variants' in res._repr_html_()
    d = res.diff('int8-weight-only')
    assert {'op', 'time_s_before', 'time_s_after'} <= set(d.columns)
    for v in FAST:                                         # every kind of variant (cast, torchao, int4, pruning) diffs against fp32
        d = res.diff(v)
        assert len(d) and {'op', 'time_s_before', 'time_s_after', 'd_flops', 'd_bytes'} <= set(d.columns), v
    bf = res.diff('bf16')                                  # a cast changes the dtype, not the work: the same FLOPs, about half the bytes
    np.testing.assert_allclose(bf.flops_after.sum(), bf.flops_before.sum(), rtol=1e-9)
    assert 0.4 < bf.bytes_after.sum() / bf.bytes_before.sum() < 0.6
    pr = res.diff('prune-l1-50').set_index('op')           # unstructured pruning keeps the weights dense: the matmul FLOPs stay
    mm = [o for o in pr.index if 'addmm' in o]
    assert mm and (pr.loc[mm, 'flops_after'] == pr.loc[mm, 'flops_before']).all()


def test_resume_after_interrupt_loads_finished_variants(clf, tmp_path):
    # the call counter and the stop flag live in files: the cache key covers the eval function's closure values (issue 19),
    # so state kept in a captured list would (rightly) give each run its own key
    log, stop = tmp_path / 'calls', tmp_path / 'stop'
    calls = lambda: len(log.read_text()) if log.exists() else 0
    agree = agreement_with(clf)
    def interrupted(m):
        with open(log, 'a') as f: f.write('.')
        if stop.exists() and calls() == 3: raise KeyboardInterrupt      # baseline, variant 1, then stop on variant 2
        return agree(m)
    stop.touch()
    with pytest.raises(KeyboardInterrupt):
        sweep(clf, torch.randn(8, 64), interrupted, FAST, cache=tmp_path, **QUICK)
    assert len(list((tmp_path / 'optimize').glob('*.json'))) == 2
    log.unlink(); stop.unlink()
    res = sweep(clf, torch.randn(8, 64), interrupted, FAST, cache=tmp_path, **QUICK)
    assert calls() == len(FAST) - 1                       # fp32 and bf16 came from the cache
    assert res.df.cached.tolist() == [True, True] + [False] * (len(FAST) - 1)
    log.unlink()
    sweep(clf, torch.randn(8, 64), interrupted, FAST, cache=tmp_path, **QUICK)
    assert calls() == 0                                   # everything cached now
    sweep(clf, torch.randn(4, 64), interrupted, FAST[:1], cache=tmp_path, **QUICK)
    assert calls() == 2                                   # other input shapes: another key


def test_corrupt_cache_is_recomputed_with_a_warning(clf, tmp_path):
    calls = []
    agree = agreement_with(clf)
    def ev(m): calls.append(1); return agree(m)
    sweep(clf, torch.randn(8, 64), ev, ['bf16'], cache=tmp_path, **QUICK)
    files = sorted((tmp_path / 'optimize').glob('*.json'))
    files[0].write_text('{"version": 1, "key": ')
    d = json.loads(files[1].read_text()); d['row']['latency_s'] = 'fast'; files[1].write_text(json.dumps(d))
    calls.clear()
    with pytest.warns(UserWarning, match='measuring again'):
        res = sweep(clf, torch.randn(8, 64), ev, ['bf16'], cache=tmp_path, **QUICK)
    assert len(calls) == 2 and not res.df.cached.any()


def test_failures_are_recorded_and_the_sweep_goes_on(clf, tmp_path):
    agree = agreement_with(clf)
    bad = Variant('int4-g7', 'int4', {'impl': 'packed', 'group_size': 7})   # no layer fits: apply raises
    def ev(m):
        if isinstance(m, opt.Cast): return 'great'
        return agree(m)
    res = sweep(clf, torch.randn(8, 64), ev, ['bf16', bad, 'int8-weight-only'], cache=tmp_path, **QUICK)
    df = res.df.set_index('variant')
    assert df.loc['int4-g7', 'status'] == 'failed' and 'group_size=7' in df.loc['int4-g7', 'error']
    assert df.loc['bf16', 'status'] == 'failed' and "'bf16'" in df.loc['bf16', 'error'] and 'str' in df.loc['bf16', 'error']
    assert df.loc['int8-weight-only', 'status'] == 'ok'
    assert not df.loc['bf16', 'passed'] and df.loc['bf16', 'reason'].startswith('failed')
    assert len(list((tmp_path / 'optimize').glob('*.json'))) == 2          # failures are not cached
    res.chart()                                                              # failed rows are left out of the chart


@pytest.mark.parametrize('ret,match', [('good', 'number'), (float('nan'), 'nan'), (None, 'number')])
def test_bad_baseline_metric_raises(clf, tmp_path, ret, match):
    with pytest.raises(ValueError, match=match) as e:
        sweep(clf, torch.randn(8, 64), lambda m: ret, ['bf16'], cache=tmp_path, **QUICK)
    assert 'baseline' in str(e.value) and 'fp32' in str(e.value)


def test_eval_fn_raising_on_baseline(clf, tmp_path):
    def boom(m): raise RuntimeError('dataset missing')
    with pytest.raises(ValueError, match='dataset missing'):
        sweep(clf, torch.randn(8, 64), boom, ['bf16'], cache=tmp_path, **QUICK)


def test_training_mode_warns_and_measures_in_eval(tmp_path):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(64, 64), nn.Dropout(0.5)).train()
    seen = []
    def ev(mm):
        seen.append(mm.training)
        return 1.0
    with pytest.warns(UserWarning, match='training mode'):
        sweep(m, torch.randn(8, 64), ev, ['bf16'], cache=tmp_path, **QUICK)
    assert seen == [False, False] and m.training              # measured in eval mode; the user's model is left as it was


def test_bad_arguments(clf, tmp_path):
    ev = agreement_with(clf)
    with pytest.raises(ValueError, match='unique'): sweep(clf, torch.randn(8, 64), ev, ['bf16', 'bf16'], cache=tmp_path, **QUICK)
    with pytest.raises(ValueError, match='int8-weight-only'): sweep(clf, torch.randn(8, 64), ev, ['int8-weight-onyl'], cache=tmp_path, **QUICK)
    with pytest.raises(ValueError, match=r'\[0, 1\)'): sweep(clf, torch.randn(8, 64), ev, ['bf16'], gate=Gate(1.2), cache=tmp_path, **QUICK)
    with pytest.raises(TypeError): sweep(clf, torch.randn(8, 64), 0.5, ['bf16'], cache=tmp_path, **QUICK)


def test_peak_memory_per_variant(tmp_path):
    from hwnb.optimize_measure import peak_supported
    if peak_supported(): pytest.skip(peak_supported())
    torch.manual_seed(0)
    big = nn.Sequential(nn.Linear(1024, 1024), nn.Linear(1024, 1024)).eval()       # 8.4 MB of fp32 weights
    res = sweep(big, torch.randn(4, 1024), lambda m: 1.0, ['int8-weight-only'], cache=tmp_path,
                memory=True, repeat=3, warmup=1, threads=1, progress=False)
    fp32, int8 = res.df.peak_mem_bytes
    size = res.df.size_bytes[0]
    assert size <= fp32 < size + 64e6                          # the deep copy is written in the child, plus a run's working memory
    assert int8 > 0 and res.df.mem_method[0].startswith('fork')


# ---- issue 19 item 2: the cache key covers what determines the result ------------------------------------------------------------

def at_threshold(threshold):
    "An eval_fn whose only difference between two instances is the captured `threshold`."
    def score(m):
        with torch.no_grad(): return float((m(XS).max(-1).values > threshold).float().mean())
    return score


def test_captured_threshold_is_not_served_from_the_cache(clf, tmp_path):
    lo = sweep(clf, torch.randn(8, 64), at_threshold(-10.0), ['bf16'], cache=tmp_path, **QUICK)
    hi = sweep(clf, torch.randn(8, 64), at_threshold(10.0), ['bf16'], cache=tmp_path, **QUICK)
    assert lo.df.metric.tolist() == [1.0, 1.0] and hi.df.metric.tolist() == [0.0, 0.0]
    assert not hi.df.cached.any()
    again = sweep(clf, torch.randn(8, 64), at_threshold(10.0), ['bf16'], cache=tmp_path, **QUICK)
    assert again.df.cached.all() and again.df.metric.tolist() == [0.0, 0.0]


LIMIT = -10.0


def score_against_global(m):
    with torch.no_grad(): return float((m(XS).max(-1).values > LIMIT).float().mean())


def test_globals_read_by_eval_fn_key_the_cache(clf, tmp_path):
    global LIMIT, XS
    old_limit, old_xs = LIMIT, XS
    try:
        assert sweep(clf, torch.randn(8, 64), score_against_global, ['bf16'], cache=tmp_path, **QUICK).df.metric[0] == 1.0
        LIMIT = 10.0                                                   # a plain global value
        r = sweep(clf, torch.randn(8, 64), score_against_global, ['bf16'], cache=tmp_path, **QUICK)
        assert not r.df.cached.any() and r.df.metric[0] == 0.0
        XS = XS * 1e6                                                  # a global tensor, same shape and dtype
        r = sweep(clf, torch.randn(8, 64), score_against_global, ['bf16'], cache=tmp_path, **QUICK)
        assert not r.df.cached.any() and r.df.metric[0] > 0.0
    finally: LIMIT, XS = old_limit, old_xs


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(64, 10)
    def forward(self, x): return self.lin(x)


def doubled_forward(self, x): return 2 * self.lin(x)


def test_forward_source_keys_the_cache(tmp_path, monkeypatch):
    net = Net().eval()
    ev = lambda m: float(m(XS).sum())
    first = sweep(net, torch.randn(8, 64), ev, ['bf16'], cache=tmp_path, **QUICK)
    key = opt.forward_key(net)
    monkeypatch.setattr(Net, 'forward', doubled_forward)              # the same class and weights, an edited forward
    assert opt.forward_key(net) != key
    r = sweep(net, torch.randn(8, 64), ev, ['bf16'], cache=tmp_path, **QUICK)
    assert not r.df.cached.any()
    assert r.df.metric[0] == pytest.approx(2 * first.df.metric[0], rel=1e-5)


def test_unkeyable_eval_fn_is_measured_uncached_with_a_warning(clf, tmp_path):
    import threading
    lock = threading.Lock()
    def locked(m):
        with lock: return 1.0
    with pytest.warns(UserWarning, match=r"'lock'.*not cached"):
        r = sweep(clf, torch.randn(8, 64), locked, ['bf16'], cache=tmp_path, **QUICK)
    assert r.df.status.tolist() == ['ok', 'ok'] and not (tmp_path / 'optimize').exists()
