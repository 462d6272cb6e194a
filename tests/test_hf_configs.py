"""Every published config in ../shared/hf_configs against transformers (the oracle): params_total exactly, the layer kinds,
and each layer's KV width read off the built model's attention modules.

transformers builds each model on the meta device (no memory, no weights, no network); hwnb itself never imports it."""
import json, os, time, warnings
import pytest
from conftest import SHARED, shared_or_skip
from hwnb.llm_config import from_hf_config, params_total, kv_elements_per_layer, layer_windows, layer_specs

SLOW_S = 2.0   # a config taking longer than this to build prints its time (CI runs on 2 cores)
_KINDS = {'indexed_attention': 'sparse_attention', 'mlp': 'none', 'moe': 'none'}   # transformers' names -> hwnb's kinds


def _entries():
    path = SHARED / 'hf_configs' / 'configs.json'
    if not path.exists(): return [pytest.param(None, id='shared-data-missing')]   # the test itself skips (or fails in CI)
    return [pytest.param(e, id=f"{i:03d}-{e['id']}") for i, e in enumerate(json.loads(path.read_text()))]


@pytest.fixture(scope='module')
def tr():
    if os.environ.get('HWNB_REQUIRE_SHARED') == '1': import transformers, torch   # CI: the oracle must be there
    else:
        transformers = pytest.importorskip('transformers', reason='the oracle test needs transformers (pip install -e ".[dev]")')
        torch = pytest.importorskip('torch')
    transformers.logging.set_verbosity_error()
    return transformers, torch


def _build(tr, e):
    "The transformers config and model of entry `e`, built on the meta device."
    transformers, torch = tr
    cfg = transformers.AutoConfig.for_model(e['model_type'], **{k: v for k, v in e['config'].items() if k != 'model_type'})
    with warnings.catch_warnings(), torch.device('meta'):
        warnings.simplefilter('ignore')
        try: model = transformers.AutoModelForCausalLM.from_config(cfg)
        except ValueError:   # a text-only config of a multimodal family (qwen3_vl_text) has no *ForCausalLM: its text model, plus the head
            model = transformers.AutoModel.from_config(cfg)
    return cfg, model


def _oracle_params(cfg, model) -> int:
    "Unique parameters (tied weights once), adding the lm_head when the built class is a bare text model."
    n = sum(p.numel() for p in model.parameters())            # parameters() yields each shared tensor once
    if not hasattr(model, 'lm_head') and not getattr(cfg, 'tie_word_embeddings', False):
        n += cfg.vocab_size * cfg.hidden_size
    return n


def _layers(model):
    for path in ('model.layers', 'layers', 'transformer.h', 'transformer.layers', 'gpt_neox.layers', 'model.decoder.layers'):
        obj = model
        try:
            for a in path.split('.'): obj = getattr(obj, a)
            return list(obj)
        except AttributeError: continue
    raise AssertionError(f'no decoder layers found in {type(model).__name__}')


def _kv_width(layer, q_width=None):
    "Cached elements per token of one built layer from its attention projections; a fused qkv matmul gives its width less the query's (`q_width`)."
    for name, mod in layer.named_modules():
        if 'indexer' in name or 'compressor' in name or 'linear_attn' in name: continue
        if hasattr(mod, 'kv_a_proj_with_mqa'):                        # MLA: the compressed kv plus the rope key
            w = mod.kv_a_proj_with_mqa.out_features
            idx = getattr(mod, 'indexer', None)
            return w + (idx.wk.out_features if idx is not None and hasattr(idx, 'wk') else 0)
        if hasattr(mod, 'o_b_proj') and hasattr(mod, 'kv_proj'): return mod.kv_proj.out_features   # DeepSeek-V4: one K=V head
        if hasattr(mod, 'q_proj') and (hasattr(mod, 'k_proj') or hasattr(mod, 'o_proj')):
            k = getattr(mod, 'k_proj', None)
            if k is None: return 0                                    # KV-shared layer: reuses another layer's cache
            v = getattr(mod, 'v_proj', None)
            return k.out_features + (v.out_features if v is not None else k.out_features)   # k_eq_v: the values are the keys
        for f in ('qkv_proj', 'query_key_value', 'c_attn'):
            fused = getattr(mod, f, None)
            if fused is not None and q_width is not None:
                return (fused.out_features if hasattr(fused, 'out_features') else fused.nf) - q_width   # GPT-2's Conv1D keeps nf
    return 0                                                          # no attention (Mamba, linear attention, MLP-only)


@pytest.mark.parametrize('e', _entries())
def test_matches_transformers(e, tr):
    if e is None: shared_or_skip('hf_configs', 'configs.json')
    t0 = time.perf_counter()
    cfg, model = _build(tr, e)
    m = from_hf_config({**e['config'], 'model_type': e['model_type']}, name=e['id'], source=e['source'])
    assert params_total(m) == _oracle_params(cfg, model), f"{e['id']} ({e['source']})"
    theirs = getattr(cfg, 'layer_types', None)
    if theirs:
        mapped = [_KINDS.get(t, t) for t in theirs]
        if e['model_type'] == 'nemotron_h': mapped = ['mamba' if t == 'linear_attention' else t for t in mapped]
        assert list(m.kinds) == mapped
    if any(k != 'full_attention' for k in m.kinds) and getattr(cfg, 'sliding_window', None) and not any('clamped' in n for n in m.notes):
        assert {w for w, k in zip(layer_windows(m), m.kinds) if k == 'sliding_attention'} <= {cfg.sliding_window}
    built = _layers(model)
    per_layer = [sum(p.numel() for p in l.parameters()) for l in built]
    assert [(s.index, s.params) for s in layer_specs(m) if s.params != per_layer[s.index]] == [], 'per-layer parameters differ'
    widths = [_kv_width(l, m.n_heads * m.head_dim) for l in built]
    checked = [(i, w, k) for i, (w, k) in enumerate(zip(widths, kv_elements_per_layer(m))) if w is not None]
    assert [(i, k) for i, w, k in checked if w != k] == [], 'KV elements per token differ from the built attention modules'
    dt = time.perf_counter() - t0
    if dt > SLOW_S: print(f"{e['id']}: {dt:.1f} s")


def test_counts_how_many_load():
    "Every published config loads; the count goes in the report."
    path = shared_or_skip('hf_configs', 'configs.json')
    entries = json.loads(path.read_text())
    loaded = [e['id'] for e in entries if from_hf_config({**e['config'], 'model_type': e['model_type']})]
    assert len(loaded) == len(entries) == 122


@pytest.mark.parametrize('vision', [{}, {'hidden_size': 384, 'intermediate_size': 1536, 'num_hidden_layers': 3, 'num_attention_heads': 6,
                                     'image_size': 224, 'patch_size': 14, 'vision_use_head': False}])
def test_multimodal_config_reads_its_language_model(tr, vision):
    "Gemma-3 27B wrapped as the multimodal config it ships as: text_config matches transformers' language_model, vision_params its tower and projector."
    transformers, torch = tr
    e = next(e for e in json.loads(shared_or_skip('hf_configs', 'configs.json').read_text()) if e['id'] == 'gemma-3-27b')
    text = {**e['config'], 'model_type': 'gemma3_text'}
    cfg = transformers.AutoConfig.for_model('gemma3', text_config=text, vision_config=vision)
    with warnings.catch_warnings(), torch.device('meta'):
        warnings.simplefilter('ignore')
        model = transformers.AutoModelForImageTextToText.from_config(cfg)
    part = lambda pre: sum(p.numel() for n, p in model.named_parameters() if n.startswith(pre))
    m = from_hf_config({'model_type': 'gemma3', 'text_config': text, 'vision_config': vision})
    assert m.tie_embeddings and params_total(m) == part('model.language_model.')
    assert m.vision_params == part('model.vision_tower.') + part('model.multi_modal_projector.')
