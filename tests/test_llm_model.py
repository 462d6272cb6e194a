"LLM deployment model: validation against closed forms and LLM-Viewer's published example, properties, bad input."
import math
import numpy as np
from hwnb.core import check_ops
import pandas as pd
import pytest
from hwnb import llm
from hypothesis import given, settings, strategies as st, HealthCheck
from hwnb.hardware import get, from_dict
from hwnb.llm import analyze, speculative_speedup, expected_tokens, calibrate, experts_touched, attention_pairs, get_model

H100 = get('h100-sxm')
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def matrix_weight_bytes_plus_rows(batch):
    "bf16 bytes a Mistral-7B decode step must read at least: every matrix once, one embedding row per token (computed by hand)."
    d, L, kv, ffn, V = 4096, 32, 1024, 14336, 32000
    per_layer = d * d + 2 * d * kv + d * d + 3 * d * ffn      # q, k, v, o, gate, up, down
    return 2 * (L * per_layer + V * d + batch * d)             # + lm_head matrix + embedding rows


@FAST
@given(batch=st.integers(1, 256), prompt=st.integers(1, 30000), gen=st.integers(1, 2000))
def test_mistral_decode_never_beats_weight_read(batch, prompt, gen):
    if prompt + gen > 32768: gen = 32768 - prompt
    r = analyze('mistral-7b', H100, batch=batch, prompt_len=prompt, gen_len=max(gen, 1), efficiency='ideal')   # the bare roofline's bound
    dec = r.ops.query("phase == 'decode'").time_s.sum()          # what the step's ops take, whether or not the plan fits
    assert dec >= matrix_weight_bytes_plus_rows(batch) / H100.mem_bw
    if batch == 1: assert dec <= 1.2 * matrix_weight_bytes_plus_rows(1) / H100.mem_bw + 1e-3   # and not far above at batch 1
    if r.fits: assert r.decode_s == pytest.approx(dec, rel=1e-12)
    else: assert r.decode_s is None and r.tokens_per_s is None and any('does not fit' in n for n in r.notes)   # no speed for a plan that cannot run


def test_llm_viewer_example():
    # LLM-Viewer README: Llama-2-7b, 312 TFLOP/s fp16, 1555 GB/s, fp16 W/A/KV, batch 1, prompt 1024, no FlashAttention
    chip = from_dict(dict(name='llm-viewer-chip', peak_flops={'fp16': 312e12}, mem_bw=1555e9, mem_capacity=80e9))
    r = analyze('llama-2-7b', chip, batch=1, prompt_len=1024, gen_len=1, weight_format='fp16', kv_dtype='fp16',
                flash_attention=False, embeddings_in_weights=False, efficiency='ideal')     # LLM-Viewer is a bare roofline
    assert abs(r.prefill_s / 50.79e-3 - 1) < 0.05
    assert abs(r.decode_s / 8.85e-3 - 1) < 0.05
    assert round(r.weight_bytes / 1e9, 2) == 12.95
    assert round(1024 * r.kv_bytes_per_token / 1e9, 3) == 0.537
    assert analyze('llama-2-7b', chip, weight_format='fp16', kv_dtype='fp16').weight_bytes > r.weight_bytes + 0.5e9   # switch on: tables in


def finite(x): return x is None or (np.isfinite(x) if not isinstance(x, (bool, str, tuple)) else True)


@FAST
@given(model=st.sampled_from(['mistral-7b', 'mixtral-8x7b', 'llama-3-8b', 'gemma-7b']),
       hw=st.sampled_from(['h100-sxm', 'h200', 'mi300x', 'l4']),
       fmt=st.sampled_from(['bf16', 'fp8', 'int8', 'int4-g128', 'nf4', 'q4_k']),
       kv=st.sampled_from(['bf16', 'fp8', 'int8']), batch=st.integers(1, 512), prompt=st.integers(1, 8000),
       gen=st.integers(1, 190), flash=st.booleans(), causal=st.booleans(), tp=st.sampled_from([1, 2, 4]))
def test_no_nan_or_inf(model, hw, fmt, kv, batch, prompt, gen, flash, causal, tp):
    r = analyze(model, hw, batch=batch, prompt_len=prompt, gen_len=gen, weight_format=fmt, kv_dtype=kv,
                flash_attention=flash, causal_full=causal, tp=tp, price_per_chip_hour=3.0)
    for k, v in r.summary().items(): assert finite(v), (k, v)
    check_ops(r.ops, kind='timed')
    comm = r.ops.link_bytes > 0                       # collectives: on no roof, so no intensity or roof fraction
    assert np.isfinite(r.ops[~comm].select_dtypes('number').to_numpy(dtype=float)).all()
    assert r.ops[comm].bound.isna().all() and (r.ops[comm].link_s > 0).all() and (r.ops[comm].bytes == 0).all()
    assert (r.ops.time_s > 0).all()
    if r.fits: assert r.prefill_s > 0 and r.decode_s > 0 and r.tokens_per_s == pytest.approx(batch / r.tpot_s)
    else: assert r.prefill_s is None and r.tokens_per_s is None


def test_sliding_window_caps_cache_and_span():
    a = analyze('mistral-7b', H100, prompt_len=8000, gen_len=100)
    b = analyze('mistral-7b', H100, prompt_len=20000, gen_len=100)
    assert a.kv_bytes == b.kv_bytes == 4096 * 131072        # window-capped cache
    assert a.decode_s == pytest.approx(b.decode_s)          # span capped too: same step cost
    l = analyze('llama-3-8b', H100, prompt_len=4000, gen_len=100)
    assert l.kv_bytes == 4112 * 131072                     # 4100 tokens rounded to 16-token blocks, Llama-3-8B 128 KiB/token


def test_flash_vs_unfused_bytes():
    f = analyze('llama-3-8b', H100, prompt_len=4096, gen_len=1).ops.query("phase == 'prefill' and op.str.startswith('attn/') and op not in ['attn/qkv', 'attn/o']")
    u = analyze('llama-3-8b', H100, prompt_len=4096, gen_len=1, flash_attention=False).ops.query("phase == 'prefill' and op.str.startswith('attn/') and op not in ['attn/qkv', 'attn/o']")
    assert f.flops.sum() == pytest.approx(u.flops.sum())
    scores = 32 * 32 * 4096 * 4096                          # layers x heads x pairs
    assert u.bytes.sum() - f.bytes.sum() == pytest.approx(4 * scores * 2)   # write, read, write, read of S and P in bf16


def test_w4a16_runs_on_16bit_roof():
    r = analyze('mistral-7b', H100, batch=64, prompt_len=2048, weight_format='int4-g128', efficiency='ideal')
    assert set(r.ops.dtype) == {'bf16'}
    assert r.prefill_s >= analyze('mistral-7b', H100, batch=64, prompt_len=2048, efficiency='ideal').prefill_s * 0.9   # compute-bound prefill barely gains
    w4, w16 = (analyze('mistral-7b', H100, batch=1, weight_format=f, efficiency='ideal').decode_s for f in ('int4-g128', 'bf16'))
    assert w16 / 4 < w4 < w16 / 3                                # memory-bound decode gains nearly the 16/4.16 bytes ratio on the roofline
    c4, c16 = (analyze('mistral-7b', H100, batch=1, weight_format=f).decode_s for f in ('int4-g128', 'bf16'))
    assert c4 < c16 and c16 / c4 < w16 / w4                      # calibrated: less, for the fixed per-op costs and the int4 kernels


def test_moe_touched_experts_and_active():
    assert experts_touched(8, 2, 1) == pytest.approx(2)
    r1, r64 = (analyze('mixtral-8x7b', 'h200', batch=b) for b in (1, 64))
    e1 = r1.ops.query("phase == 'decode' and op == 'moe/down'").bytes.item()
    e64 = r64.ops.query("phase == 'decode' and op == 'moe/down'").bytes.item()
    w = 32 * 4096 * 14336 * 2                                  # one expert's down matrix over all layers, bf16
    assert e1 == pytest.approx(2 * w + 32 * 2 * (14336 + 4096) * 2)
    assert e64 / w == pytest.approx(8 * (1 - 0.75 ** 64) + 64 * 2 * (14336 + 4096) * 2 * 32 / w)


def test_tp_halves_weights_and_adds_allreduce():
    a, b = analyze('llama-3-70b', H100, tp=4), analyze('llama-3-70b', H100, tp=8)
    assert b.weight_bytes_per_chip == pytest.approx(a.weight_bytes_per_chip / 2, rel=1e-3)
    ar = b.ops.query("op == 'comm/allreduce' and phase == 'decode'")
    assert ar['count'].item() == 160 and ar.bound.isna().all()                 # a collective is on no roof
    assert ar.link_bytes.item() == pytest.approx(160 * 8192 * 2)                 # 2 all-reduces per layer of one token's 8192-wide bf16 activations
    assert ar.link_s.item() == ar.time_s.item() > 0
    assert analyze('llama-3-70b', H100).min_chips == 2 and not analyze('llama-3-70b', H100).fits


def test_speculative():
    assert speculative_speedup(0.8, 4, 0.05) == pytest.approx((1 - 0.8 ** 5) / (0.2 * 1.2))
    assert expected_tokens(0.0, 5) == 1.0
    assert np.allclose(speculative_speedup(np.array([0.5, 1.0]), 2, 0.0), [1.75, 3.0])
    with pytest.raises(ValueError, match='gamma'): speculative_speedup(0.5, 1.5, 0.1)


def test_calibrate_synthetic():
    pred = analyze('mistral-7b', H100, batch=4, efficiency='ideal').ops
    meas = pred.assign(time_s=np.where(pred.bound == 'compute', pred.time_s / 0.5, pred.time_s / 0.7))
    meas = meas[meas.op != 'lm_head']                          # an unmatched predicted row is fine
    c = calibrate(meas, pred)
    assert (c.compute_eff, c.bw_eff) == (pytest.approx(0.5), pytest.approx(0.7))
    c2 = calibrate(meas[meas.bound == 'memory'], pred)
    assert c2.compute_eff == 1.0 and c2.notes


@pytest.mark.parametrize('kw,msg', [
    (dict(tp=3), 'does not divide'), (dict(tp=64), 'does not divide'),
    (dict(prompt_len=32000, gen_len=1000), 'max_position_embeddings'), (dict(batch=-1), 'batch must be >= 1'),
    (dict(prompt_len=0), 'prompt_len must be >= 1'), (dict(kv_dtype='fp4'), 'KV-cache dtype'),
    (dict(weight_format='int4-g12x'), 'closest matches'), (dict(compute_eff=0), 'compute efficiency must be > 0'),
    (dict(mem_util=1.5), 'gpu_memory_utilization must be > 0 and <= 1'), (dict(gpu_memory_utilization=0), 'gpu_memory_utilization must be > 0'),
    (dict(efficiency='idael'), 'closest matches: ideal'), (dict(bacth=2), "unexpected keyword argument 'bacth'"), (dict(ep=2), 'mixture-of-experts'), (dict(batch=2.0), 'must be an integer'),
])
def test_bad_input(kw, msg):
    with pytest.raises((ValueError, TypeError), match=msg): analyze('mistral-7b', H100, **{**dict(prompt_len=1024, gen_len=64), **kw})


def test_attention_pairs_brute_force():
    for q, c, W in [(7, 0, 3), (1, 10, 4), (5, 2, None), (9, 9, 12)]:
        brute = sum(min(c + j, W or 10**9) for j in range(1, q + 1))
        assert attention_pairs(q, c, W, causal_full=False)[0] == brute


def test_tp_against_kv_heads():
    from hwnb.llm_config import ModelConfig
    m = ModelConfig('odd', 'llama', hidden=1536, n_layers=4, n_heads=12, n_kv_heads=3, head_dim=128, intermediate=4096,
                    vocab=1000, max_positions=4096)
    with pytest.raises(ValueError, match='KV heads: one must divide'): analyze(m, H100, tp=2)
    assert analyze(m, H100, tp=3).fits and analyze(m, H100, tp=6).fits      # tp=6: 2 query heads per chip, each of the 3 KV heads on 2 chips


def test_weight_format_only_on_quantized_weights():
    "The weight format labels the projections whose weights it stores, not activations, norms or the (unquantized) embeddings."
    from hwnb import llm
    for model in ('mistral-7b', 'mixtral-8x7b'):
        l = llm.analyze(model, 'h100-sxm', weight_format='fp8').ops
        labelled = set(l.op[l.weight_format.notna()])
        assert labelled and labelled <= set(llm.QUANTIZED_OPS), (model, labelled)
        assert set(l.weight_format.dropna()) == {'fp8'}
        assert not {'mlp/act', 'moe/act', 'norm/mlp', 'embed'} & labelled


def test_calibration_on_another_chip_warns():
    import warnings
    r = llm.analyze('mistral-7b', 'h100-sxm')
    cal = llm.calibrate(r.ops.assign(time_s=r.ops.time_s * 1.5), r.ops)
    assert cal.hw == 'h100-sxm'
    with pytest.warns(UserWarning, match='measured on h100-sxm but is used for a100-sxm-80gb'):
        llm.analyze('mistral-7b', 'a100-sxm-80gb', **cal.kwargs())
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        llm.analyze('mistral-7b', 'h100-sxm', efficiency=cal)                     # its own chip: no warning
