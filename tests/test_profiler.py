"Operator-level profiler: counts against torch's own counter and closed forms, meta/CPU agreement, faults and bad input."
import math
import pytest

torch = pytest.importorskip('torch')
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode
from torch.utils._python_dispatch import _get_current_dispatch_mode
from torch.overrides import _get_current_function_mode_stack

from hwnb import profiler as P
from hwnb.models import build, example_input, tiny_mistral, tiny_mixtral, tiny_cnn, mistral_7b, n_params
from hwnb.opcost import sdpa_cpu_flop

HEAVY = r'\.(?:mm|addmm|bmm|baddbmm|convolution|_convolution|scaled_dot_product_attention|_scaled_dot_product_flash_attention_for_cpu)\.'
COLS = ['op', 'module', 'shape', 'dtype', 'flops', 'bytes', 'known']
CPU_SDPA = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: sdpa_cpu_flop}


def _fc(model, x):
    "FlopCounterMode's per-module totals on the same model (given the CPU attention formula it lacks)."
    with FlopCounterMode(display=False, custom_mapping=CPU_SDPA) as fc, torch.no_grad():
        model(x)
    return fc


@pytest.mark.parametrize('cfg', [tiny_mistral(), tiny_mixtral(), tiny_cnn()], ids=lambda c: c.name)
def test_heavy_flops_equal_flopcountermode(cfg):
    m, x = build(cfg), example_input(cfg)
    ops = P.count(m, x)
    fc = _fc(m, x)
    assert ops.flops[ops.op.str.contains(HEAVY)].sum() == fc.get_total_flops() > 0
    # per module: FlopCounterMode's hierarchical totals (keys 'Transformer.layers.0') equal our prefix sums
    counts = fc.get_flop_counts()
    root = type(m).__name__
    heavy = ops[ops.op.str.contains(HEAVY)]
    checked = 0
    for name, mod in m.named_modules():
        if not name or isinstance(mod, (nn.ModuleList, nn.ModuleDict)): continue      # containers are never called
        ours = heavy.flops[(heavy.module == name) | heavy.module.str.startswith(name + '.')].sum()
        theirs = sum(counts.get(f'{root}.{name}', {}).values())
        assert ours == theirs, name
        checked += ours > 0
    assert checked >= 3


def test_attention_is_one_row_and_counted():
    cfg = tiny_mistral()
    ops = P.count(build(cfg), example_input(cfg))
    att = ops[ops.op == 'aten.scaled_dot_product_attention.default']
    assert len(att) == cfg.n_layers and (att.module == [f'layers.{i}.attention' for i in range(cfg.n_layers)]).all()
    s, h, d = 128, cfg.n_heads, cfg.head_dim
    assert (att.flops == 2 * (2 * h * s * s * d)).all()          # QK^T and PV, full (causal not halved)
    assert not ops.op.str.contains('flash_attention_for_cpu').any()


def test_causal_half_switch():
    cfg = tiny_mistral(sliding_window=None)                     # is_causal=True path
    m, x = build(cfg), example_input(cfg)
    full, half = P.count(m, x), P.count(m, x, causal='half')
    sel = full.op == 'aten.scaled_dot_product_attention.default'
    assert (half.flops[sel].values * 2 == full.flops[sel].values).all()
    assert (half.flops[~sel].values == full.flops[~sel].values).all()
    with pytest.raises(ValueError, match='causal must be one of'): P.count(m, x, causal='yes')


@pytest.mark.parametrize('bias', [False, True])
def test_linear_bytes_closed_form(bias):
    n, k, o = 64, 96, 48
    lin = nn.Linear(k, o, bias=bias)
    ops = P.count(lin, torch.randn(n, k))
    mm = ops[ops.op.isin(['aten.mm.default', 'aten.addmm.default'])]
    assert len(mm) == 1
    e = 4                                                       # fp32 bytes per element
    assert mm.bytes.iloc[0] == e * (n * k + k * o + n * o + (o if bias else 0))
    assert mm.flops.iloc[0] == 2 * n * k * o
    assert ops.bytes[ops.op == 'aten.t.default'].sum() == 0     # the transpose of the weight is a view
    assert ops.bytes.sum() == mm.bytes.iloc[0]


def test_module_sums_equal_total():
    cfg = tiny_mixtral()
    ops = P.count(build(cfg), example_input(cfg))
    bm = P.by_module(ops)
    assert bm.flops.sum() == ops.flops.sum() and bm.bytes.sum() == ops.bytes.sum() and bm.calls.sum() == len(ops)
    for depth in (1, 2, 3):
        g = P.by_module(ops, depth=depth).set_index('module')
        assert g.flops.sum() == ops.flops.sum()
        for mod in g.index:
            if mod == P.ROOT or mod.count('.') + 1 < depth: continue     # a shallower module keeps only its own ops
            sel = (ops.module == mod) | ops.module.str.startswith(mod + '.')
            assert g.loc[mod, 'flops'] == ops.flops[sel].sum()
    assert P.by_op(ops).flops.sum() == ops.flops.sum()


@pytest.mark.parametrize('cfg', [tiny_mistral(), tiny_mixtral(), tiny_cnn()], ids=lambda c: c.name)
def test_same_rows_cpu_and_meta(cfg):
    cpu = P.count(build(cfg), example_input(cfg))
    meta = P.count(build(cfg, device='meta'), example_input(cfg, device='meta'))
    assert meta[COLS].equals(cpu[COLS])


def test_fake_tensor_mode():
    from torch._subclasses.fake_tensor import FakeTensorMode
    cfg = tiny_mistral()
    cpu = P.count(build(cfg), example_input(cfg))
    with FakeTensorMode():
        m = build(cfg)
        x = torch.zeros(1, 128, dtype=torch.long)
        fake = P.count(m, x)
    assert fake[COLS].equals(cpu[COLS])


def test_7b_on_meta():
    c = mistral_7b()
    m = build(c, device='meta', dtype='bf16')
    assert n_params(m) > 7e9
    s = 64
    ops = P.count(m, example_input(c, seq_len=s, device='meta'))
    assert ops.known.all() and (ops.dtype[ops.op == 'aten.mm.default'] == 'bf16').all()
    lin = sum(p.numel() for n, p in m.named_parameters() if p.ndim == 2 and 'embeddings' not in n)
    assert ops.flops[ops.op == 'aten.mm.default'].sum() == 2 * s * lin
    att = ops.flops[ops.op == 'aten.scaled_dot_product_attention.default'].sum()
    assert att == c.n_layers * 2 * 2 * c.n_heads * s * s * c.head_dim


def test_unknown_op_is_nan_and_counted():
    class Odd(nn.Module):
        def forward(self, x): return torch.linalg.cholesky(x @ x.mT + torch.eye(x.shape[-1]))
    ops = P.count(Odd(), torch.randn(6, 6))
    unk = ops[~ops.known]
    assert len(unk) == 1 and unk.op.iloc[0].startswith('aten.linalg_cholesky') and math.isnan(unk.flops.iloc[0])
    assert P.by_op(ops).n_unknown.sum() == 1 and P.by_module(ops).n_unknown.sum() == 1


def _clean():
    assert _get_current_dispatch_mode() is None
    assert not _get_current_function_mode_stack()
    assert not torch.autograd.profiler._is_profiler_enabled and not torch._C._autograd._profiler_enabled()
    import gc
    assert gc.isenabled()                            # profile() pauses the collector while it parses events, and resumes it
    mm = torch.nn.modules.module                     # count() attributes ops through global module hooks: all removed
    assert not mm._global_forward_pre_hooks and not mm._global_forward_hooks and not mm._global_forward_hooks_always_called


class Boom(nn.Module):
    def __init__(self):
        super().__init__(); self.lin = nn.Linear(4, 4)
    def forward(self, x):
        self.lin(x)
        raise KeyError('boom inside forward')


def test_exception_propagates_and_leaves_nothing_active():
    b = Boom()
    err = KeyError('boom inside forward')
    for fn in (lambda: P.count(b, torch.randn(2, 4)), lambda: P.profile(b, torch.randn(2, 4), warmup=0, repeat=1)):
        with pytest.raises(KeyError) as ei: fn()
        assert ei.value.args == err.args and type(ei.value) is KeyError
        _clean()
        assert not b.lin._forward_pre_hooks and not b.lin._forward_hooks and not b._forward_pre_hooks
    # nothing left behind: a profiler can start, a plain forward runs unobserved
    with torch.profiler.profile() as prof: b.lin(torch.randn(1, 4))
    assert any(e.name == 'aten::addmm' for e in prof.events())


def test_bad_inputs():
    cfg = tiny_cnn()
    m = build(cfg)
    with pytest.raises(ValueError, match="input tensor 0 is on meta but the model is on cpu"):
        P.count(m, example_input(cfg, device='meta'))
    with pytest.raises(ValueError, match='on cpu but the model is on meta'):
        P.count(build(cfg, device='meta'), example_input(cfg))
    with pytest.raises(ValueError, match=r'input tensor 0 is bf16 but the model.s weights are fp32; cast'):
        P.count(m, example_input(cfg, dtype='bf16'))
    with pytest.raises(TypeError, match='torch.from_numpy'):
        P.count(m, example_input(cfg).numpy())
    with pytest.raises(TypeError, match='must be a torch.nn.Module'):
        P.count(lambda x: x, torch.ones(1))
    with pytest.raises(TypeError, match='model input 0 is a builtins.object'):
        P.count(m, object())
    with pytest.raises(ValueError, match='meta tensors cannot be timed'):
        P.profile(build(cfg, device='meta'), example_input(cfg, device='meta'))


class IntIn(nn.Module):
    "Takes a plain int: where it runs is known only from its parameters."
    def __init__(self):
        super().__init__(); self.lin = nn.Linear(4, 4)
    def forward(self, n):
        return self.lin(torch.ones(n, 4, device=self.lin.weight.device))


def test_profile_device_guard(monkeypatch):
    with torch.device('meta'): m = IntIn()
    with pytest.raises(ValueError, match='meta tensors cannot be timed'): P.profile(m, 3)   # found from the parameters
    assert P._device(IntIn(), (3,), {}).type == 'cpu' and P._device(nn.ReLU(), (), {}).type == 'cpu'
    # a device torch.profiler cannot time is refused before anything runs (no such device here: pretend the model is on one)
    monkeypatch.setattr(P, '_device', lambda *a: torch.device('mps'))
    ran = []
    monkeypatch.setattr(P, 'count', lambda *a, **k: ran.append(1))
    with pytest.raises(ValueError, match="times runs on cpu or cuda, not 'mps'.*count\\(\\) works on any device"): P.profile(IntIn(), 3)
    assert not ran
    _clean()


def test_profile_joins_every_row():
    torch.set_num_threads(1)
    cfg = tiny_mistral(n_layers=1)
    m, x = build(cfg), example_input(cfg, seq_len=32)
    pr = P.profile(m, x, hw='h100-sxm', warmup=1, repeat=2)
    o = pr.ops
    assert o.time_s.notna().all() and (o.time_s >= 0).all() and (o.source == 'measured').all()
    assert pr.hw.name == 'h100-sxm' and pr.hw_note is None
    w = o[o.flops > 0]
    assert ((w.achieved_flops_s - w.flops / w.time_s).abs() <= 1e-9 * w.achieved_flops_s).all()
    assert set(o.bound.dropna()) <= {'compute', 'memory'} and w.roof_fraction.notna().all()
    s = pr.summary()
    assert s['n_unmatched'] == 0 and 0 < s['time_s'] <= 1.05 * s['wall_s']
    assert len(pr.top(3)) == 3 and pr.by_op().time_s.sum() == pytest.approx(o.time_s.sum())
    assert '"traceEvents"' in pr.trace
    _clean()
    # default roofs on CPU: the catalog fallback, said so; a collector the caller turned off stays off
    import gc
    gc.disable()
    try: pr2 = P.profile(m, x, warmup=0, repeat=1, keep_trace=False)
    finally:
        off = not gc.isenabled()
        gc.enable()
    assert off
    assert pr2.hw_note and ('catalog' in pr2.hw_note or 'measured' in pr2.hw_note)


class Outsider(nn.Module):
    "Calls a module that is not one of its submodules (made per call): its ops belong to the caller, with nothing left on the stack."
    def __init__(self):
        super().__init__(); self.lin = nn.Linear(4, 4)
    def forward(self, x):
        y = nn.ReLU()(self.lin(x))
        return y * 2


def test_modules_outside_the_model_are_not_attributed():
    ops = P.count(Outsider(), torch.randn(3, 4))
    assert ops.set_index('op').loc['aten.relu.default', 'module'] == P.ROOT
    assert ops.set_index('op').loc['aten.mul.Tensor', 'module'] == P.ROOT
    assert ops.set_index('op').loc['aten.addmm.default', 'module'] == 'lin'
    _clean()


def test_registry_flops_is_the_registered_formula():
    "hwnb hands torch's registered formulas shapes without pytree: same numbers as the registry's own wrapper, on every heavy call of the models."
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry
    from hwnb.opcost import registry_flops
    calls = []
    class Rec(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func._overloadpacket in flop_registry: calls.append((func._overloadpacket, args, kwargs or {}, out))
            return out
    for cfg in (tiny_mistral(n_layers=1), tiny_cnn()):
        with Rec(), torch.no_grad(): build(cfg)(example_input(cfg))
    assert {str(c[0]) for c in calls} >= {'aten.mm', 'aten.convolution'}
    for p, a, k, o in calls:
        assert registry_flops(p, a, k, o) == flop_registry[p](*a, **k, out_val=o)
    # a container the plain recursion does not know (a named tuple) falls back to the registry's own pytree wrapper
    from collections import namedtuple
    Pair = namedtuple('Pair', 'x y')
    x, w = torch.randn(3, 4), torch.randn(4, 5)
    p = torch.ops.aten.mm
    assert registry_flops(p, (x, w), {}, Pair(x @ w, None)) == flop_registry[p](x, w, out_val=Pair(x @ w, None)) == 2 * 3 * 4 * 5


# --- issue 19 item 3: resolve_hw was dead code (it looked for bench functions that never existed) ---

from hwnb import bench as B
from hypothesis import given, settings, strategies as st

TINY_PLAN = B.Plan(budget_s=0.5, repeat=2, min_sample_s=0.001, gemm_sizes=(128, 256), ws_min_bytes=64 * 2**10,
                   read_bytes_per_call=2**22, stream_min_bytes=2**20, dram_factor=2.0)


@pytest.fixture(scope='module')
def bench_cache(tmp_path_factory):
    d = tmp_path_factory.mktemp('bench-cache')
    return B.measure('quick', plan=TINY_PLAN, cache_dir=d, progress=False), d


def test_profiles_use_the_measured_ceilings_when_cached(bench_cache, monkeypatch):
    m, d = bench_cache
    hw, note = P.resolve_hw(None, 'cpu', cache_dir=d)
    assert hw.measured and hw.fingerprint == m.fingerprint and 'measured ceilings' in note
    monkeypatch.setenv('HWNB_CACHE_DIR', str(d))               # the front door: profile() without hw=
    cfg = tiny_mistral(n_layers=1)
    pr = P.profile(build(cfg), example_input(cfg, seq_len=8), warmup=0, repeat=1, keep_trace=False)
    assert pr.hw.measured and pr.hw.name == m.name and pr.env['hw_measured']


def test_local_resolves_to_the_measurement(bench_cache, tmp_path, monkeypatch):
    m, d = bench_cache
    for name in ('local', ' LOCAL '):
        hw, note = P.resolve_hw(name, 'cpu', cache_dir=d)
        assert hw.fingerprint == m.fingerprint and hw.peak_flops('fp32') == m.peak_flops('fp32')
    with pytest.raises(ValueError, match=r"hw='local'.*hwnb bench"):
        P.resolve_hw('local', 'cpu', cache_dir=tmp_path)
    monkeypatch.setenv('HWNB_CACHE_DIR', str(d))
    cfg = tiny_mistral(n_layers=1)
    pr = P.profile(build(cfg), example_input(cfg, seq_len=8), hw='local', warmup=0, repeat=1, keep_trace=False)
    assert pr.hw.measured


def test_without_a_measurement_the_fallback_says_so(tmp_path):
    hw, note = P.resolve_hw(None, 'cpu', cache_dir=tmp_path)
    assert hw.name == P.CPU_FALLBACK and 'not measured' in note and 'hwnb bench' in note


_hw_inputs = st.one_of(st.none(), st.sampled_from(['local', 'LOCAL', 'h100-sxm', 'mi300x', 'epyc-9654', 'h100', '', ' ']),
                       st.text(max_size=12), st.integers(), st.floats(), st.lists(st.integers(), max_size=2), st.binary(max_size=4))


@settings(max_examples=250, deadline=None)
@given(_hw_inputs, st.sampled_from(['cpu', 'cuda', 'tpu', 'CPU']))
def test_resolve_hw_answers_or_names_the_bad_value(tmp_path_factory, hw, dev):
    d = tmp_path_factory.getbasetemp()/'no-bench-cache'         # never holds a measurement
    try: r, note = P.resolve_hw(hw, dev, cache_dir=d)
    except (ValueError, TypeError) as e:
        assert str(e) and (repr(hw) in str(e) or type(hw).__name__ in str(e) or repr(dev) in str(e) or 'local' in str(e)
                           or (isinstance(hw, str) and repr(hw.strip().lower()) in str(e)))
        return
    assert isinstance(r, P.Hardware) and r.dtypes and r.mem_bw > 0
