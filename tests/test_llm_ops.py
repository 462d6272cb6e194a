"""hwnb.llm_ops: the op table follows the architecture.

1. The Llama shape (the models the efficiency model was fitted on, hwnb/data/validation/cases.csv) gives ops identical, bit for bit, to a
   frozen copy of the single-shape formula that priced them before (`_llama_ops` below), at many (B, q, c, tp, ep, flash, kv dtype) points.
2. Every published config in ../shared/hf_configs: analyze runs and its op table passes check_ops; at batch 1 decode the weights the ops read
   are the active parameters; decode FLOPs at context 0 are about 2 × active parameters; KV bytes per token follow kv_elements_per_token.
3. MLA absorbed vs not, Gemma-2's windows, a hybrid's state, gpt-oss's mxfp4 experts."""
import csv, json, math
from dataclasses import replace
from pathlib import Path
import numpy as np
import pytest
from conftest import shared_or_skip
from hwnb import llm, llm_ops
from hwnb.core import check_ops, derive, dtype
from hwnb.hardware import get as get_hw
from hwnb.llm_config import get_model, from_hf_config, kv_elements_per_token, mla_decode_flops, state_elements_per_layer, layer_specs
from hwnb.llm_formats import weight_bytes_by_part, weight_format

ROOT = Path(__file__).resolve().parents[1]


# ---- 1. a frozen copy of the Llama-shape formula (hwnb.llm._ops before the op table followed layer_specs) ----
def _llama_ops(m, B, q, c, wb, a, kv_b, emb_b, hi_b, tp=1, ep=1, flash=True, causal_full=True):
    N, S, G, R = 4, 5, 2, 1
    B, q, c = (np.asarray(x, dtype=float) for x in (B, q, c))
    d, hd, L = m.hidden, m.head_dim, m.n_layers
    hq, hk = m.n_heads / tp, max(m.n_kv_heads / tp, 1)
    t = B * q
    pairs, keys = llm_ops.attention_pairs(q, c, m.sliding_window, causal_full)
    out = []
    def op(*x, kind='compute', tokens=None): out.append((x[0], x[1], x[2], x[3], x[4], kind, tokens))
    def mm(o, mod, count, tok, k, n, wbytes): op(o, mod, count, 2 * tok * k * n, k * n * wbytes + tok * k * a + tok * n * a, tokens=tok)
    def ew(o, mod, count, n_el, per, reads, writes=1, w=0.0): op(o, mod, count, per * n_el, (reads + writes) * n_el * a + w)
    op('embed', 'model.embed_tokens', 1, 0 * t, t * d * (emb_b + a))
    ew('norm/attn', 'model.layers.*.input_layernorm', L, t * d, N, 1, w=d * hi_b)
    qkv_out = t * hq * hd * a + 2 * t * hk * hd * kv_b
    op('attn/qkv', 'model.layers.*.self_attn.qkv_proj', L, 2 * t * d * (hq + 2 * hk) * hd, d * (hq + 2 * hk) * hd * wb + t * d * a + qkv_out, tokens=t)
    qo, kv_read = 2 * t * hq * hd * a, 2 * B * hk * keys * hd * kv_b
    scores = B * hq * pairs
    if flash: op('attn/flash', 'model.layers.*.self_attn.attn', L, 4 * scores * hd + S * scores, qo + kv_read)
    else:
        op('attn/scores', 'model.layers.*.self_attn.attn', L, 2 * scores * hd, qo / 2 + kv_read / 2 + scores * a)
        op('attn/softmax', 'model.layers.*.self_attn.attn', L, S * scores, 2 * scores * a)
        op('attn/values', 'model.layers.*.self_attn.attn', L, 2 * scores * hd, scores * a + kv_read / 2 + qo / 2)
    mm('attn/o', 'model.layers.*.self_attn.o_proj', L, t, hq * hd, d, wb)
    if tp > 1: op('comm/allreduce', 'model.layers.*', 2 * L, 0 * t, t * d * a, kind='allreduce')
    ew('norm/mlp', 'model.layers.*.post_attention_layernorm', L, t * d, N, 1, w=d * hi_b)
    ffn = m.intermediate / tp
    if m.is_moe:
        E, k = m.n_experts, m.experts_per_token
        mm('moe/router', 'model.layers.*.mlp.gate', L, t, d, E, hi_b)
        touched = llm_ops.experts_touched(E, k, t * ep) / ep
        tk = t * k
        op('moe/gate_up', 'model.layers.*.mlp.experts', L, 2 * tk * d * 2 * ffn, touched * d * 2 * ffn * wb + tk * d * a + tk * 2 * ffn * a, tokens=tk / np.maximum(touched, 1e-9))
        ew('moe/act', 'model.layers.*.mlp.experts.act_fn', L, tk * ffn, G, 2)
        op('moe/down', 'model.layers.*.mlp.experts', L, 2 * tk * ffn * d, touched * ffn * d * wb + tk * ffn * a + tk * d * a, tokens=tk / np.maximum(touched, 1e-9))
        if ep > 1: op('comm/all2all', 'model.layers.*.mlp', 2 * L, 0 * t, tk * d * a, kind='all2all')
    else:
        mm('mlp/gate_up', 'model.layers.*.mlp.gate_up_proj', L, t, d, 2 * ffn, wb)
        ew('mlp/act', 'model.layers.*.mlp.act_fn', L, t * ffn, G, 2)
        mm('mlp/down', 'model.layers.*.mlp.down_proj', L, t, ffn, d, wb)
    ew('residual', 'model.layers.*', 2 * L, t * d, R, 2)
    ew('norm/final', 'model.norm', 1, B * d, N, 1, w=d * hi_b)
    mm('lm_head', 'lm_head', 1, B, d, m.vocab / tp, emb_b)
    return out


def _case_models():
    "The models of the validation cases (the efficiency model's fit), plus mistral-7b (one global sliding window)."
    with open(ROOT / 'hwnb/data/validation/cases.csv', newline='') as f:
        return sorted({r['model'] for r in csv.DictReader(f)} | {'mistral-7b'})


def test_case_models_are_the_llama_shape():
    ms = _case_models()
    assert {'llama-2-7b', 'llama-3.1-70b', 'mixtral-8x7b', 'mistral-7b'} <= set(ms), ms
    assert all(get_model(n).mlp_kind == 'gated' and not get_model(n).layer_types for n in ms)


@pytest.mark.parametrize('name', _case_models())
def test_llama_shape_identical(name):
    m = get_model(name)
    rng = np.random.default_rng(0)
    B = np.array([1., 3., 64., 768.]); q = np.array([1., 1., 2048., 128.]); c = np.array([0., 30000., 0., 2048.]) % m.max_positions
    for wb in (2.0, 1.0, weight_format('int4-g32').bytes_per_weight):
        for kv in ('bf16', 'fp8'):
            for tp in (1, 2, 8):
                if m.n_heads % tp: continue
                for ep in ((1, 2) if m.is_moe else (1,)):
                    for flash in (True, False):
                        causal = bool(rng.integers(2))
                        args = (m, B, q, c, wb, 2, dtype(kv).bytes, 2.0, max(2.0, wb), tp, ep, flash, causal)
                        new, old = llm_ops.ops(*args), _llama_ops(*args)
                        assert [(o.op, o.module, o.count, o.kind) for o in new] == [x[:3] + (x[5],) for x in old]
                        for o, x in zip(new, old):
                            assert np.array_equal(np.broadcast_to(o.flops, B.shape), np.broadcast_to(x[3], B.shape)), (o.op, 'flops')
                            assert np.array_equal(np.broadcast_to(o.bytes, B.shape), np.broadcast_to(x[4], B.shape)), (o.op, 'bytes')
                            if x[6] is not None: assert np.array_equal(o.tokens, x[6]), (o.op, 'tokens')


@pytest.mark.parametrize('name', ['llama-3-8b', 'mixtral-8x7b', 'mistral-7b'])
def test_llama_shape_memory_unchanged(name):
    "KV and activation memory of the Llama shape: the per-layer sums equal the old single-shape formulas."
    m = get_model(name)
    for tp, pp in ((1, 1), (2, 1), (8, 3)):
        old_tok = 2 * math.ceil(m.n_layers / pp) * max(m.n_kv_heads / tp, 1) * m.head_dim * 2.0
        assert llm.kv_bytes_per_token_chip(m, 2.0, tp, pp) == old_tok
        ctx = np.array([1., 100., 5000., 30000.])
        from hwnb.llm_formats import cached_tokens
        assert np.array_equal(llm.kv_bytes_per_seq_chip(m, ctx, 2.0, tp, pp), cached_tokens(m, ctx, 16) * old_tok)
        hq, hk = m.n_heads / tp, max(m.n_kv_heads / tp, 1)
        ffn = m.intermediate / tp * (m.experts_per_token if m.is_moe else 1)
        old_act = 8 * 2048 * 2 * (2 * m.hidden + max((hq + 2 * hk) * m.head_dim, 3 * ffn)) + 8 * m.vocab / tp * 4
        assert llm.act_bytes_per_chip(m, 8, 2048, 2, tp) == old_act


# ---- 2. every published config ----
def _configs():
    return [(e['id'], e) for e in json.loads(shared_or_skip('hf_configs', 'configs.json').read_text())]

REST_OK = ('deepseek_v4', 'gemma4_text', 'deepseek_v32', 'glm_moe_dsa')   # layer/rest carries their compressor/indexer/hyper-connection/per-layer-input weights
WEIGHT_TOL = 1e-3    # rel.: the gap is per-head scalars no op reads (Mamba's dt_bias, A_log, D); measured max 2.8e-5 (Qwen3.6-35B-A3B)
FLOP_TOL = 0.03      # rel.: norms count 4-5 FLOPs per element (2 per parameter), attention over one key, activations, scans; measured max 1.9 % (Qwen3.6-35B-A3B)


def test_every_published_config():
    bad, errs, ferrs = [], [], []
    for name, e in _configs():
        m = from_hf_config(e['config'], name=name)
        # analyze runs (batch 1, decode 1 token, bf16); fits=False is fine
        tp = max(t for t in (1, 2, 4, 8) if not m.n_heads % t and not (m.n_kv_heads % t and t % m.n_kv_heads))
        r = llm.analyze(m, 'h100-sxm', batch=1, prompt_len=16, gen_len=1, tp=tp, efficiency='ideal')
        check_ops(r.ops, kind='timed')
        # op_table computes core.derive's columns from arrays (one DataFrame constructor): they must be derive's, exactly
        h = get_hw('h100-sxm')
        dv = derive(r.ops[['flops', 'bytes', 'time_s']], h.peak_flops(r.act_dtype), h.mem_bw)
        comm = r.ops['link_bytes'].to_numpy() > 0
        for c in ('intensity', 'achieved_flops_s', 'achieved_bytes_s'): np.testing.assert_array_equal(r.ops[c].to_numpy(), dv[c].to_numpy(), err_msg=f'{name} {c}')
        np.testing.assert_array_equal(r.ops['roof_fraction'].to_numpy()[~comm], dv['roof_fraction'].to_numpy()[~comm], err_msg=name)
        assert r.ops['roof_fraction'][comm].isna().all() and r.ops['bound'][comm].isna().all(), name
        # weights read at batch 1 decode = active parameters' bytes (embeddings as the gather reads them)
        o = llm_ops.ops(m, 1, 1, 0, 2.0, 2, 2, 2.0, 2.0, mla_absorbed=True)
        if any(x.op == 'layer/rest' for x in o) and m.model_type not in REST_OK: bad.append((name, 'has layer/rest'))
        p = weight_bytes_by_part(m, 'bf16', active=True)
        if m.expert_format:   # gpt-oss: every MLP is routed experts, read in their checkpoint format (llm_ops.expert_bytes)
            assert not m.shared_intermediate and set(m.mlps) == {'moe'}
            p['mlp'] *= weight_format(m.expert_format).bytes_per_weight / 2
        want = sum(v for k, v in p.items() if k not in ('embed', 'lm_head')) + m.vocab * m.hidden * 2 + (m.vocab * 2 if m.lm_head_bias else 0)
        got = sum(float(x.weight_bytes) * x.count for x in o if not x.op.startswith('embed'))
        errs.append((abs(got / want - 1), name))
        if abs(got / want - 1) > WEIGHT_TOL: bad.append((name, 'weights', got / want))
        # FLOPs at context 0 = 2 x active params, embeddings excluded (lm_head included, tied or not)
        pa = sum(v for k, v in weight_bytes_by_part(m, 'bf16', active=True).items() if k not in ('embed', 'lm_head')) / 2 + m.vocab * m.hidden
        fl = sum(float(x.flops) * x.count for x in o if x.kind == 'compute' and not x.op.startswith('embed'))
        ferrs.append((abs(fl / (2 * pa) - 1), name))
        if abs(fl / (2 * pa) - 1) > FLOP_TOL: bad.append((name, 'flops', fl / (2 * pa)))
        # KV bytes per token at tp=1
        assert llm.kv_bytes_per_token_chip(m, 2.0) == kv_elements_per_token(m) * 2.0, name
    print('largest weight error', max(errs), 'largest FLOP error', max(ferrs))
    assert not bad, bad


def _one(model_type):
    for name, e in _configs():
        if e['model_type'] == model_type: return from_hf_config(e['config'], name=name)


def test_hybrid_state_not_kv():
    m = _one('nemotron_h')
    st = state_elements_per_layer(m)
    assert sum(st) > 0
    kv = sum(e for e, s in zip((s.kv_elements for s in layer_specs(m)), st) if s)
    assert kv == 0                                                # the SSM layers cache no KV
    per_tok = llm.kv_bytes_per_token_chip(m, 2.0)
    seq = float(llm.kv_bytes_per_seq_chip(m, 1024, 2.0, block_size=None))
    assert seq == pytest.approx(per_tok * 1024 + sum(st) * dtype(m.state_dtype).bytes)
    o = llm_ops.ops(m, 1, 1, 1000, 2, 2, 2, 2, 2)
    scan = [x for x in o if x.op == 'ssm/scan']
    assert scan and sum(x.count for x in scan) == m.kinds.count('mamba')


def test_qwen35_linear_attention_state():
    m = _one('qwen3_5_text')
    o = llm_ops.ops(m, 1, 1, 1000, 2, 2, 2, 2, 2)
    assert sum(x.count for x in o if x.op == 'linear/scan') == m.kinds.count('linear_attention')


# ---- 3. architecture facts, on bundled models ----
def test_mla_absorbed_cheaper_at_long_context():
    m = get_model('deepseek-r1')
    f = lambda ab: sum(float(x.flops) * x.count for x in llm_ops.ops(m, 1, 1, 32768, 1, 2, 1, 2, 2, mla_absorbed=ab))
    assert f(True) < 0.5 * f(False)
    s = layer_specs(m)[0]
    for ab in (True, False):
        o, _ = llm_ops.mla_ops(llm_ops.Pass(m, 1., 1., 999., 1, 2, 2, 2, 2, mla_absorbed=ab), s, 1, 'x')
        core = sum(float(x.flops) for x in o if x.op in ('attn/q_absorb', 'attn/flash', 'attn/v_absorb', 'attn/kv_b'))
        assert core - llm_ops.SOFTMAX_FLOPS * m.n_heads * 1000 == mla_decode_flops(m, 1000, absorbed=ab)
    a = llm.analyze(m, 'h100-sxm', batch=1, prompt_len=32768, gen_len=2, tp=8, efficiency='ideal')
    b = llm.analyze(m, 'h100-sxm', batch=1, prompt_len=32768, gen_len=2, tp=8, efficiency='ideal', mla_absorbed=False)
    fa, fb = (x.ops[x.ops.phase == 'decode'].flops.sum() for x in (a, b))
    assert fa < fb
    # MLA latents are replicated on every TP rank
    assert llm.kv_bytes_per_token_chip(m, 1.0, tp=8) == llm.kv_bytes_per_token_chip(m, 1.0, tp=1)


def test_gemma2_windows_read_less_kv():
    m = get_model('gemma-2-9b')
    full = replace(m, layer_types=('full_attention',) * m.n_layers)
    kv = lambda m: sum(float(x.bytes) * x.count for x in llm_ops.ops(m, 1, 1, 32768, 2, 2, 2, 2, 2) if x.op == 'attn/flash')
    assert kv(m) < 0.6 * kv(full)
    assert llm.kv_bytes_per_seq_chip(m, 32768, 2.0) < 0.6 * llm.kv_bytes_per_seq_chip(full, 32768, 2.0)


def test_gpt_oss_experts_mxfp4():
    m = get_model('gpt-oss-20b')
    o = llm_ops.ops(m, 1, 1, 0, 2.0, 2, 2, 2, 2)
    ex = [x for x in o if x.op in llm_ops.EXPERT_OPS]
    assert ex and all(x.fmt == 'mxfp4' for x in ex)
    r = llm.analyze(m, 'h100-sxm', batch=1, prompt_len=16, gen_len=1, efficiency='ideal')
    assert set(r.ops[r.ops.op.isin(llm_ops.EXPERT_OPS)].weight_format) == {'mxfp4'}
    assert set(r.ops.op[r.ops.weight_format.notna()]) <= set(llm_ops.QUANTIZED_OPS)


def test_plain_mlp_and_parallel_blocks():
    m = replace(get_model('llama-3-8b'), mlp_kind='plain', mlp_bias=True, parallel_blocks=True, norms_per_layer=1)
    o = llm_ops.ops(m, 1, 1, 0, 2, 2, 2, 2, 2, tp=2)
    names = {x.op for x in o}
    assert {'mlp/up', 'mlp/down'} <= names and 'mlp/gate_up' not in names and 'norm/mlp' not in names
    up = [x for x in o if x.op == 'mlp/up'][0]
    assert up.weight_bytes == (m.hidden * m.intermediate / 2 + m.intermediate / 2) * 2
    assert [x for x in o if x.op == 'comm/allreduce'][0].count == m.n_layers   # one all-reduce per parallel block


def test_gpt_oss_expert_memory():
    "Memory follows the same rule as the ops: routed experts in mxfp4 unless the weight format is narrower."
    m = get_model('gpt-oss-120b')
    mx = weight_format('mxfp4').bytes_per_weight
    routed = llm_ops.routed_expert_params(m)
    assert routed == sum(s.params - s.params_active for s in layer_specs(m)) // (m.n_experts - m.experts_per_token) * m.n_experts
    full = sum(weight_bytes_by_part(m, 'bf16').values())
    assert llm.weights_per_chip(m, 'bf16') == pytest.approx(full - routed * (2 - mx))
    assert weight_format('q3_k').bytes_per_weight < mx
    assert llm.weights_per_chip(m, 'q3_k') == pytest.approx(sum(weight_bytes_by_part(m, 'q3_k').values()))   # narrower: its own width
    a = llm.analyze(m, 'h100-sxm', batch=1, efficiency='ideal')
    assert a.weight_bytes == pytest.approx(a.weight_bytes_per_chip) and a.fits
    assert llm.weights_per_chip(get_model('mixtral-8x7b'), 'bf16') == sum(weight_bytes_by_part('mixtral-8x7b', 'bf16').values())


def test_kv_shared_layers_project_no_kv():
    "Gemma-4's KV-shared layers: q only (no k/v projection, no cache write), yet their core reads the shared cache; they hold no KV."
    m = _one('gemma4_text')
    o = llm_ops.ops(m, 1, 1, 1000, 2, 2, 2, 2, 2)
    shared = [s for s, _ in llm_ops.layer_groups(m) if s.kv_shared]
    assert shared and all(s.kv_elements == 0 for s in shared)
    for s in shared:
        mod = f'<{s.kind},{s.mlp},kv_shared'                        # the group's module tag
        qkv = [x for x in o if x.op == 'attn/qkv' and mod in x.module][0]
        assert qkv.shape[2] == s.n_heads * s.head_dim * (2 if m.attn_output_gate else 1)
        core = [x for x in o if x.op == 'attn/flash' and mod in x.module][0]
        assert float(core.bytes) > 2 * s.n_kv_heads * s.head_dim * min(1001, s.window or 1001)
