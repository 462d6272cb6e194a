"Calibration of hwnb.llm against the PyTorch reference model on this CPU (hwnb.llm_calibrate)."
import copy, math
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

from hwnb import bench, models as tm
from hwnb.llm_config import params_total, params_active
from hwnb.profiler import count
from hwnb.llm_calibrate import (KVCacheDecoder, to_llm_ops, predict_steps, op_overheads, measure_steps,
                                fit, evaluate, llm_op)

MATMULS = ('attn/qkv', 'attn/o', 'mlp/gate_up', 'mlp/down', 'lm_head')


@st.composite
def torch_configs(draw):
    kv = draw(st.sampled_from([1, 2, 4]))
    heads = kv * draw(st.sampled_from([1, 2, 4]))
    hd = draw(st.sampled_from([8, 16, 64]))
    experts = draw(st.sampled_from([0, 0, 4, 8]))
    return tm.tiny_mistral(name='h', vocab=draw(st.integers(16, 50_000)), hidden=heads * hd, n_layers=draw(st.integers(1, 6)),
                           n_heads=heads, n_kv_heads=kv, intermediate=draw(st.integers(8, 4096)), max_positions=draw(st.integers(8, 8192)),
                           sliding_window=draw(st.sampled_from([None, 16, 4096])), n_experts=experts,
                           experts_per_token=draw(st.integers(1, experts)) if experts else 0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(torch_configs())
def test_one_config_counts_the_modules_parameters(c):
    model = tm.build(c, device='meta')
    m = c                                   # one ModelConfig: the reference model's config is the LLM model's
    assert params_total(m) == tm.n_params(model)
    # active: all parameters but the (E - k) experts a token skips; each expert is 1/E of the stacked expert tensors
    expert = sum(p.numel() for n, p in model.named_parameters() if '.experts.' in n) // max(c.n_experts, 1)
    assert params_active(m) == tm.n_params(model) - (c.n_experts - c.experts_per_token) * expert * (c.n_experts > 0)
    assert (m.sliding_window, m.max_positions, m.head_dim) == (c.sliding_window, c.max_positions, c.hidden // c.n_heads)


def test_cached_decoding_matches_the_full_forward():
    "Prefill, a chunk with tokens already cached (masked path), then single-token decode across a sliding window, GQA 4:2."
    c = tm.tiny_mistral(sliding_window=8, n_heads=4, n_kv_heads=2)
    model = tm.build(c, seed=3)
    ids = tm.example_input(c, batch=2, seq_len=16, seed=1)
    dec = KVCacheDecoder(model, batch=2, max_len=16)
    with torch.no_grad():
        pos = 0
        for q in (5, 4, 1, 1, 1, 1, 1, 1, 1):
            out = dec(ids[:, pos:pos + q], pos)
            ref = model(ids[:, :pos + q])[:, -1]
            torch.testing.assert_close(out[:, 0], ref, atol=1e-4, rtol=1e-4)
            pos += q
    with pytest.raises(ValueError, match='batch'): dec(ids[:1, :1], 0)
    with pytest.raises(ValueError, match='do not fit'): dec(ids[:, :2], 15)


@pytest.mark.parametrize('window', [None, 24])
def test_every_aten_call_maps_and_matmul_flops_agree(window):
    c = tm.tiny_mistral(sliding_window=window)
    dec = KVCacheDecoder(tm.build(c), batch=2, max_len=41)
    ids = tm.example_input(c, batch=2, seq_len=41)
    pred = predict_steps(c, 'epyc-9654', batch=2, prompt_len=40)
    with torch.no_grad():
        for phase, x, pos in (('prefill', ids[:, :40], 0), ('decode', ids[:, 40:], 40)):
            rows = count(dec, x, pos)
            t = to_llm_ops(rows, phase).set_index('op')
            assert 'other' not in t.index and t.calls.sum() == len(rows)
            p = pred[pred.phase == phase].set_index('op')
            assert set(t.index) == set(p.index)
            for o in MATMULS: assert t.flops[o] == p.flops[o], (phase, o)      # torch's count == 2·m·k·n of hwnb.llm
            # a fixed cost per call spreads over the ops' instances and adds back up to calls × cost
            fixed = op_overheads(to_llm_ops(rows, phase), pred, 1e-6, phase)
            with_fixed = predict_steps(c, 'epyc-9654', batch=2, prompt_len=40, op_overhead_s=fixed)
            extra = with_fixed[with_fixed.phase == phase].time_s.sum() - p.time_s.sum()
            assert math.isclose(extra, 1e-6 * len(rows), rel_tol=1e-9)
    assert llm_op('nowhere', 'aten.mm.default') == 'other'


def _log_errors(ev):
    return np.abs(np.log(ev.roofline_s / ev.measured_s)).mean(), np.abs(np.log(ev.calibrated_s / ev.measured_s)).mean()


@pytest.mark.parametrize('case', ['bf16-bandwidth', 'fp32-dispatch'])
def test_calibrated_prediction_beats_the_roofline_on_held_out_shapes(case):
    """Fit at batch 1 / 64-token prompt; predict batch 2 / 48 tokens and batch 1 / 160 tokens (prefill and decode).
    bf16: CPU bf16 matrix-vector products reach a fraction of DRAM bandwidth; fp32 on a tiny model: dispatch dominates.
    Compared by the mean |log(predicted / measured)| over the held-out shapes and phases."""
    hw = bench.measure('quick', progress=False)           # this machine's ceilings (cached per machine)
    if case == 'bf16-bandwidth':
        c = tm.tiny_mistral(name='held-bf16', vocab=4096, hidden=512, n_layers=2, n_heads=8, n_kv_heads=2, intermediate=1792,
                            max_positions=512, sliding_window=None)
        model = tm.build(c, dtype='bf16')
        if 'bf16' not in hw.dtypes:               # e.g. an AVX2-only CPU: the bench found bf16 GEMM slow and gave it no roof
            with pytest.raises(ValueError, match='no bf16 units'): predict_steps(model, hw, 1, 64)
            pytest.skip(f"{hw.name} has no bf16 roof to predict from ({hw.notes})")
    else:
        c = tm.tiny_mistral(name='held-tiny', vocab=256, hidden=64, n_layers=2, n_heads=4, n_kv_heads=2, intermediate=176,
                            max_positions=512, sliding_window=None)
        model = tm.build(c)
    meas = measure_steps(model, batch=1, prompt_len=64, hw=hw, repeat=7, profile_repeat=3)
    cal = fit(meas, model, hw)
    ev = evaluate(model, hw, [(2, 48), (1, 160)], cal, repeat=7)
    roof, calibrated = _log_errors(ev)
    assert np.isfinite(ev[['measured_s', 'roofline_s', 'calibrated_s']].to_numpy()).all()
    assert calibrated < roof, (f"load {ev.attrs['load_avg']}: calibrated mean |log err| {calibrated:.3f} vs roofline {roof:.3f}\n"
                               f"{cal.table().to_string()}\n{ev.to_string()}")


def test_step_calibration_warns_on_another_chip():
    "A StepCalibration passed to analyze for a chip other than the one it was measured on warns, naming both (as llm.Calibration does)."
    import warnings
    from hwnb.llm import Calibration, analyze
    from hwnb.llm_calibrate import StepCalibration
    c = lambda ce, be: Calibration(ce, be, 1, 1, 0, 0, hw='epyc-9654')
    sc = StepCalibration({'prefill': c(0.6, 0.7), 'decode': c(0.5, 0.4)}, {'prefill': 2e-6, 'decode': 2e-6}, 1e-6,
                         {'prefill': 100, 'decode': 100}, 'fp32')
    assert sc.hw == 'epyc-9654'
    with pytest.warns(UserWarning, match=r'measured on epyc-9654 but is used for h100-sxm'):
        a = analyze('mistral-7b', 'h100-sxm', efficiency=sc)
    assert a.efficiency == 'measured step calibration (decode)'
    with warnings.catch_warnings():
        warnings.simplefilter('error')                                    # its own chip: no warning
        b = analyze('mistral-7b', 'epyc-9654', efficiency=sc.efficiency('prefill'))
        analyze('mistral-7b', 'epyc-9654', efficiency=sc)
    assert b.efficiency == 'measured step calibration (prefill)'
    unknown = StepCalibration({'decode': Calibration(0.5, 0.4, 1, 1, 0, 0)}, {'decode': 2e-6}, 1e-6, {'decode': 100}, 'fp32')
    with warnings.catch_warnings():
        warnings.simplefilter('error')                                    # chip not known: nothing to compare, no warning
        analyze('mistral-7b', 'h100-sxm', efficiency=unknown)
    with pytest.raises(ValueError, match='phase must be one of'): sc.efficiency('train')
