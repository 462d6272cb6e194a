"LLM sweeps agree with analyze point by point, stay finite, and the per-op table plots on the roofline chart."
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from hwnb import roofline
from hwnb.llm import analyze
from hwnb.llm_sweep import sweep, fit_table


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(['mistral-7b', 'mixtral-8x7b', 'llama-2-7b']), hw=st.sampled_from(['h100-sxm', 'mi300x', 'l4']),
       fmt=st.sampled_from(['bf16', 'fp8', 'int4-g128', 'q4_k']), kv=st.sampled_from(['bf16', 'fp8']),
       batch=st.integers(1, 300), prompt=st.integers(1, 3800), tp=st.sampled_from([1, 2]), pp=st.sampled_from([1, 1, 2, 4]),
       lat=st.sampled_from([0.0, 3e-6]), flash=st.booleans())
def test_sweep_matches_analyze(model, hw, fmt, kv, batch, prompt, tp, pp, lat, flash):
    s = sweep(model, [hw, 'h200'], batch=[batch, 7], prompt_len=[prompt, 100], weight_dtypes=[fmt, 'bf16'], kv_dtypes=[kv],
              gen_len=64, tp=tp, pp=pp, link_latency_s=lat, flash_attention=flash)
    row = s[(s.hw == hw) & (s.weight_format == fmt) & (s.batch == batch) & (s.prompt_len == prompt)].iloc[0]
    a = analyze(model, hw, batch=batch, prompt_len=prompt, gen_len=64, weight_dtype=fmt, kv_dtype=kv, tp=tp, pp=pp, link_latency_s=lat,
                flash_attention=flash)
    assert row.prefill_s == pytest.approx(a.prefill_s, rel=1e-12)
    assert row.decode_s == pytest.approx(a.decode_s, rel=1e-12)
    assert row.mem_per_chip == pytest.approx(a.mem_per_chip, rel=1e-12)
    assert (bool(row.fits), int(row.max_batch)) == (a.fits, a.max_batch)
    assert np.isfinite(s.select_dtypes('number').to_numpy(dtype=float)).all()


def test_sweep_drops_points_beyond_max_positions():
    s = sweep('llama-2-7b', 'h100-sxm', batch=[1], prompt_len=[1000, 4000, 5000], gen_len=256)
    assert sorted(s.prompt_len) == [1000] and 'dropped' in s.attrs['notes'][0]


def test_sweep_100k_shape():
    s = sweep('mistral-7b', ['h100-sxm', 'h200', 'mi300x', 'l4'], batch=np.arange(1, 51), prompt_len=np.linspace(16, 30000, 100).astype(int),
              weight_dtypes=['bf16', 'fp8', 'int8', 'int4-g128', 'nf4'])
    assert len(s) == 100_000 and s.tokens_per_s.gt(0).all() and np.isfinite(s.decode_s).all()
    # more batch never lowers a decode step's time, and never lowers throughput (memory-bound regime)
    g = s[(s.hw == 'h100-sxm') & (s.weight_format == 'bf16') & (s.prompt_len == s.prompt_len.min())].sort_values('batch')
    assert g.decode_s.is_monotonic_increasing and g.tokens_per_s.is_monotonic_increasing


def test_layers_plot_on_roofline_chart():
    r = analyze('mixtral-8x7b', 'h200', batch=4, tp=2)
    c = roofline.chart('h200', points=r.layers)
    pts = [d for ds in roofline.chart_data(c) for d in ds if 'op' in d]
    assert pts and {p['op'] for p in pts} >= {'attn/qkv', 'moe/gate_up', 'lm_head'}


def test_fit_table_answers():
    ft = fit_table(models=('mistral-7b', 'mixtral-8x7b'), hws=('h100-sxm', 'l4'), weight_dtypes=('bf16', 'fp8', 'int4-g128'))
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
    spec = fit_chart(fit_table(hws=hws, weight_dtypes=fmts)).to_dict()
    assert spec['facet']['column']['sort'] == list(hws)
    assert spec['spec']['layer'][0]['encoding']['x']['sort'] == list(fmts)
