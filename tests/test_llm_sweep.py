"LLM sweeps agree with analyze point by point, stay finite, and the per-op table plots on the roofline chart."
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from hwnb import roofline
from hwnb.llm import analyze
from hwnb.llm_sweep import sweep, fit_table


SHARED_FIELDS = ('prefill_s', 'decode_s', 'tpot_s', 'e2e_s', 'tokens_per_s', 'decode_tokens_per_s', 'throughput_tokens_per_s',
                 'weight_bytes_per_chip', 'kv_bytes_per_chip', 'act_bytes_per_chip', 'mem_per_chip', 'mem_usable_per_chip',
                 'energy_j_per_mtok', 'cost_per_mtok')


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(['mistral-7b', 'mixtral-8x7b', 'llama-2-7b', 'llama-3-70b']), hw=st.sampled_from(['h100-sxm', 'mi300x', 'l4', 'h200']),
       fmt=st.sampled_from(['bf16', 'fp8', 'int4-g128', 'q4_k']), kv=st.sampled_from(['bf16', 'fp8']),
       batch=st.integers(1, 300), prompt=st.integers(1, 3800), gen=st.integers(1, 200), tp=st.sampled_from([1, 2]), pp=st.sampled_from([1, 1, 2, 4]),
       ep=st.sampled_from([1, 1, 2]), lat=st.sampled_from([0.0, 3e-6]), flash=st.booleans(), util=st.sampled_from([0.9, 0.5]),
       price=st.sampled_from([None, 2.5]), eff=st.sampled_from([None, (0.6, 0.8)]))
def test_sweep_matches_analyze(model, hw, fmt, kv, batch, prompt, gen, tp, pp, ep, lat, flash, util, price, eff):
    "The sweep and analyze agree on every field both have, at random points (one kernel behind both)."
    from hwnb.llm import Efficiency
    if ep > 1 and model != 'mixtral-8x7b': ep = 1
    kw = dict(tp=tp, pp=pp, ep=ep, link_latency_s=lat, flash_attention=flash, gpu_memory_utilization=util, price_per_chip_hour=price,
              efficiency=None if eff is None else Efficiency(*eff))
    s = sweep(model, [hw, 'h200'], batch=[batch, 7], prompt_len=[prompt, 100], weight_format=[fmt, 'bf16'], kv_dtype=[kv], gen_len=gen, **kw)
    row = s[(s.hw == hw) & (s.weight_format == fmt) & (s.batch == batch) & (s.prompt_len == prompt)].iloc[0]
    a = analyze(model, hw, batch=batch, prompt_len=prompt, gen_len=gen, weight_format=fmt, kv_dtype=kv, **kw)
    for k in SHARED_FIELDS:
        want = getattr(a, k)
        if want is None: assert np.isnan(row[k]), k
        else: assert row[k] == pytest.approx(want, rel=1e-12), k
    assert (bool(row.fits), int(row.max_batch), row.act_dtype) == (a.fits, a.max_batch, a.act_dtype)
    num = s.select_dtypes('number').drop(columns=[] if price is not None else ['cost_per_mtok'])   # no price: no cost (NaN)
    speed = ['prefill_s', 'decode_s', 'tpot_s', 'e2e_s', 'tokens_per_s', 'decode_tokens_per_s', 'throughput_tokens_per_s', 'energy_j_per_mtok']
    assert np.isfinite(num[s.fits].to_numpy(dtype=float)).all()
    assert np.isfinite(num[~s.fits].drop(columns=speed + ['cost_per_mtok'], errors='ignore').to_numpy(dtype=float)).all()
    assert s.loc[~s.fits, speed].isna().all().all()                      # a plan that does not fit has no speed


def test_sweep_validates_like_analyze():
    "The sweep runs analyze's checks, once, in the shared kernel (issue: a memory fraction of 5 fitted, NaN became int64 min)."
    for kw, msg in ((dict(gpu_memory_utilization=5), 'gpu_memory_utilization'), (dict(batch=[1, np.nan]), 'batch must be whole numbers'),
                    (dict(compute_eff=0), 'compute efficiency'), (dict(tp=3), 'does not divide'), (dict(kv_dtype=['fp4']), 'KV-cache dtype')):
        with pytest.raises((ValueError, TypeError), match=msg): sweep('mistral-7b', 'h100-sxm', **kw)


def test_sweep_drops_points_beyond_max_positions():
    s = sweep('llama-2-7b', 'h100-sxm', batch=[1], prompt_len=[1000, 4000, 5000], gen_len=256)
    assert sorted(s.prompt_len) == [1000] and 'dropped' in s.attrs['notes'][0]


def test_sweep_100k_shape():
    s = sweep('mistral-7b', ['h100-sxm', 'h200', 'mi300x', 'l4'], batch=np.arange(1, 51), prompt_len=np.linspace(16, 30000, 100).astype(int),
              weight_format=['bf16', 'fp8', 'int8', 'int4-g128', 'nf4'])
    assert len(s) == 100_000 and s.tokens_per_s[s.fits].gt(0).all() and np.isfinite(s.decode_s[s.fits]).all() and s.decode_s[~s.fits].isna().all()
    # more batch never lowers a decode step's time, and never lowers throughput (memory-bound regime)
    g = s[(s.hw == 'h100-sxm') & (s.weight_format == 'bf16') & (s.prompt_len == s.prompt_len.min()) & s.fits].sort_values('batch')
    assert len(g) == 50
    assert g.decode_s.is_monotonic_increasing and g.tokens_per_s.is_monotonic_increasing


def test_layers_plot_on_roofline_chart():
    r = analyze('mixtral-8x7b', 'h200', batch=4, tp=2)
    c = roofline.chart('h200', points=r.ops)
    pts = [d for ds in roofline.chart_data(c) for d in ds if 'op' in d]
    assert pts and {p['op'] for p in pts} >= {'attn/qkv', 'moe/gate_up', 'lm_head'}


def test_fit_table_answers():
    ft = fit_table(models=('mistral-7b', 'mixtral-8x7b'), hw=('h100-sxm', 'l4'), weight_format=('bf16', 'fp8', 'int4-g128'))
    got = ft.set_index(['model', 'hw', 'weight_format']).fits_one_chip
    assert got['mistral-7b'].all()
    assert not got[('mixtral-8x7b', 'h100-sxm', 'bf16')] and got[('mixtral-8x7b', 'h100-sxm', 'fp8')]
    # 46.7B bf16 parameters are 93.4 GB: never on one 80 GB chip; int4-g128 is about a quarter of that
    w = ft.set_index(['model', 'hw', 'weight_format']).weight_gb
    assert w[('mixtral-8x7b', 'h100-sxm', 'bf16')] == pytest.approx(2 * 46_702_792_704 / 1e9)
    assert (ft.min_chips >= 1).all() and (ft.chips_used == ft.tp * ft.pp).all()


def test_fit_chart_keeps_the_order_asked_for():
    "Chips and formats appear in the order given to fit_table, not alphabetically (L4 last, not between H200 and MI300X)."
    from hwnb.llm_sweep import fit_table, fit_chart
    hws, fmts = ('mi300x', 'l4', 'h100-sxm'), ('int4-g128', 'bf16')
    spec = fit_chart(fit_table(hw=hws, weight_format=fmts)).to_dict()
    assert spec['facet']['column']['sort'] == list(hws)
    assert spec['spec']['layer'][0]['encoding']['x']['sort'] == list(fmts)
