"LLM configs: exact parameter counts against published figures, KV per token and per layer, family rules, and bad config.json input."
import json, subprocess, sys
import pytest
from hwnb.llm_config import (ModelConfig, from_hf_config, get_model, model_names, params_total, params_active, params_mtp, param_counts,
                             kv_elements_per_token, kv_elements_per_layer, cached_kv_elements, layer_windows, state_bytes)

QWEN2_7B = dict(model_type='qwen2', hidden_size=3584, intermediate_size=18944, max_position_embeddings=32768,
                num_attention_heads=28, num_hidden_layers=28, num_key_value_heads=4, vocab_size=152064,
                sliding_window=131072, use_sliding_window=False, tie_word_embeddings=False)


def test_mistral_7b_exact():
    m = get_model('mistral-7b')
    assert params_total(m) == 7_241_732_096          # published: 7,241,732,096 (HF safetensors metadata)
    assert kv_elements_per_token(m) * 2 == 131_072   # bf16 bytes per token
    assert m.sliding_window == 4096


def test_mixtral_8x7b_total_and_active():
    m = get_model('mixtral-8x7b')
    assert f"{params_total(m)/1e9:.1f}" == '46.7' and f"{params_active(m)/1e9:.1f}" == '12.9'   # Mistral AI's figures


@pytest.mark.parametrize('name,published', [('llama-2-7b', 6.74e9), ('llama-3-8b', 8.03e9), ('llama-3-70b', 70.55e9),
                                            ('mixtral-8x22b', 140.6e9), ('gemma-7b', 8.54e9)])
def test_published_totals(name, published):
    assert abs(params_total(get_model(name)) / published - 1) < 0.003


def test_qwen2_qkv_bias_count():
    # Qwen2-7B: 7,615,616,512 parameters (HF safetensors metadata); needs the q/k/v biases to match exactly
    assert params_total(from_hf_config(QWEN2_7B)) == 7_615_616_512


NEW_BUNDLED = {'llama-3.1-8b', 'llama-3.1-70b', 'llama-3.1-405b', 'qwen2.5-7b-instruct', 'qwen3-8b', 'qwen3-30b-a3b', 'qwen3-235b-a22b',
               'deepseek-r1', 'gemma-2-9b', 'gemma-2-27b', 'gemma-3-27b', 'gpt-oss-20b', 'gpt-oss-120b', 'llama-4-scout'}


def test_all_bundled_have_sources():
    assert {'mistral-7b', 'mixtral-8x7b', 'mixtral-8x22b', 'llama-2-7b', 'llama-3-8b', 'llama-3-70b'} | NEW_BUNDLED <= set(model_names())
    for n in model_names():
        assert get_model(n).source.startswith(('https://huggingface.co/', 'https://github.com/')), n


@pytest.mark.parametrize('name,published_b', [('deepseek-r1', 37.0), ('qwen3-30b-a3b', 3.3), ('qwen3-235b-a22b', 22.0), ('llama-4-scout', 17.0)])
def test_active_parameters_near_the_published_a_number(name, published_b):
    # published active sizes: "A3B" and "A22B" in the Qwen3 checkpoint names, "17B" in Llama-4-Scout-17B-16E, and DeepSeek-V3's
    # "671B total parameters with 37B activated for each token" (arXiv:2412.19437, abstract; the R1 config bundled here gives the same 671B total)
    assert abs(params_active(get_model(name)) / 1e9 / published_b - 1) < 0.04


@pytest.mark.parametrize('change,msg', [
    ({'num_key_value_heads': 5}, 'must divide num_attention_heads'),
    ({'num_attention_heads': 30, 'num_key_value_heads': 5}, 'does not divide hidden_size'),
    ({'hidden_size': -3584}, 'hidden_size must be >= 1'),
    ({'num_hidden_layers': 0}, 'num_hidden_layers must be >= 1'),
    ({'num_key_value_heads': 56}, 'exceeds num_attention_heads'),
    ({'n_embd': 4096}, 'contradictory'),
    ({'num_experts_per_tok': 2}, 'has no experts'),
    ({'num_hidden_layers': None}, r"missing required fields \['num_hidden_layers'\]"),
    ({'model_type': 'mixtral', 'num_local_experts': 8, 'num_experts_per_tok': 9}, 'exceeds the number of experts'),
    ({'model_type': 'gemma2', 'sliding_window': -1}, 'sliding_window must be >= 0'),
    ({'layer_types': ['full_attention'] * 3}, 'one type per layer'),
    ({'layer_types': ['global'] * 28}, 'unknown types'),
])
def test_bad_configs(change, msg):
    with pytest.raises(ValueError, match=msg): from_hf_config({**QWEN2_7B, **change})


@pytest.mark.parametrize('change,field', [({'vocab_size': '152064'}, 'vocab_size'), ({'hidden_size': 3584.5}, 'hidden_size'),
                                          ({'num_key_value_heads': True}, 'num_key_value_heads'), ({'tie_word_embeddings': 'no'}, 'tie_word_embeddings')])
def test_wrong_types_name_the_field(change, field):
    with pytest.raises(TypeError, match=field): from_hf_config({**QWEN2_7B, **change})


@pytest.mark.parametrize('bad', [{'hidden_size': 0}, {'num_attention_heads': 0}, {'intermediate_size': -1}, {'vocab_size': 0},
                                 {'model_type': 'qwen2_moe', 'num_experts': 8, 'num_experts_per_tok': 0}, {'model_type': 'deepseek_v3', 'kv_lora_rank': 512, 'qk_rope_head_dim': None}])
def test_never_a_raw_error(bad):
    with pytest.raises((ValueError, TypeError)): from_hf_config({**QWEN2_7B, **bad})


def test_missing_fields_and_files(tmp_path):
    with pytest.raises(ValueError, match='missing required fields'): from_hf_config({'model_type': 'llama'})
    with pytest.raises(ValueError, match="missing 'model_type'"): from_hf_config({'hidden_size': 8})
    with pytest.raises(ValueError, match='no config.json'): from_hf_config(tmp_path)
    (tmp_path/'config.json').write_text('{not json')
    with pytest.raises(ValueError, match='not valid JSON'): from_hf_config(tmp_path)
    with pytest.raises(ValueError, match='num_experts_per_tok|between 1 and'):
        from_hf_config({**QWEN2_7B, 'model_type': 'mixtral', 'num_local_experts': 8, 'num_experts_per_tok': 9})
    with pytest.raises(ValueError, match='closest matches: mixtral-8x7b'): get_model('mixtral-8x7')


def test_qwen2_sliding_from_max_window_layers():
    m = from_hf_config({**QWEN2_7B, 'use_sliding_window': True, 'sliding_window': 4096, 'max_window_layers': 20})
    assert m.kinds[:20] == ('full_attention',) * 20 and m.kinds[20:] == ('sliding_attention',) * 8
    assert sum(cached_kv_elements(m, 10_000)) == (20 * 10_000 + 8 * 4096) * 2 * 4 * 128


def test_window_larger_than_context_is_clamped_with_a_note():
    m = from_hf_config({**QWEN2_7B, 'model_type': 'mistral', 'sliding_window': 131072})
    assert m.sliding_window == 32768 and any('clamped' in n for n in m.notes)


def test_unknown_model_type_loads_with_its_assumptions():
    m = from_hf_config({**QWEN2_7B, 'model_type': 'brand_new'})
    assert 'unknown model_type' in m.notes[0] and 'RMSNorm' in m.notes[0]
    assert params_total(m) == params_total(from_hf_config({**QWEN2_7B, 'model_type': 'llama'}))


def test_plain_mlp_and_parallel_blocks_gpt_j_shape():
    # GPT-J-6B shape: plain MLP (2 matmuls) with biases, one LayerNorm with bias, lm_head bias, untied
    m = from_hf_config(dict(model_type='gptj', n_embd=4096, n_layer=28, n_head=16, n_positions=2048, vocab_size=50400))
    d, f = 4096, 4 * 4096
    layer = 4 * d * d + (2 * d * f + f + d) + 2 * d
    assert (m.mlp_kind, m.parallel_blocks, m.norm_kind) == ('plain', True, 'layer')
    assert params_total(m) == 28 * layer + 2 * 50400 * d + 50400 + 2 * d


def test_mla_cache_is_compressed():
    m = get_model('deepseek-r1')
    assert set(kv_elements_per_layer(m)) == {512 + 64} and m.is_mla and m.q_lora_rank == 1536
    assert params_mtp(m) > 0 and m.mtp_layers == 1


def test_hybrid_state_replaces_kv():
    m = from_hf_config(dict(model_type='nemotron_h', hidden_size=1024, hybrid_override_pattern='M*M-', num_attention_heads=8,
                            num_key_value_heads=2, head_dim=128, intermediate_size=4096, vocab_size=1000, max_position_embeddings=4096,
                            mamba_num_heads=16, mamba_head_dim=64, ssm_state_size=128, n_groups=2, conv_kernel=4, mamba_ssm_cache_dtype='float32'))
    assert m.n_layers == 4 and kv_elements_per_layer(m) == (0, 2 * 2 * 128, 0, 0)
    conv = (16 * 64 + 2 * 2 * 128) * 3
    assert state_bytes(m) == 2 * (conv + 16 * 64 * 128) * 4


def test_reads_file(tmp_path):
    (tmp_path/'config.json').write_text(json.dumps(QWEN2_7B))
    m = from_hf_config(tmp_path/'config.json')
    assert m.qkv_bias and m.sliding_window is None and m.n_kv_heads == 4


@pytest.mark.parametrize('mod', ['hwnb.llm_config', 'hwnb.llm_formats', 'hwnb.llm', 'hwnb.llm_sweep'])
def test_llm_modules_are_light(mod):
    heavy = ['torch', 'onnx', 'onnxruntime', 'altair', 'pandas', 'vl_convert']
    code = f"import sys, {mod}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == '', f'{mod} imported {r.stdout.strip()} at import time'


def test_damaged_real_configs_raise_only_value_or_type_errors():
    "Real configs with one or two fields replaced by a wrong value: from_hf_config and the counts raise ValueError/TypeError or work."
    import random
    from conftest import shared_or_skip
    entries = json.loads(shared_or_skip('hf_configs', 'configs.json').read_text())
    rng, bad = random.Random(16), [None, 0, -1, 'abc', 1.5, True, [], {}, [1, 2], 10**9, 3, '4096']
    for _ in range(600):
        e = rng.choice(entries)
        c = {**e['config'], 'model_type': e['model_type']}
        for _ in range(rng.choice([1, 2])): c[rng.choice(list(c))] = rng.choice(bad)
        try:
            m = from_hf_config(c)
            params_total(m), params_active(m), params_mtp(m), kv_elements_per_layer(m), cached_kv_elements(m, 5000), state_bytes(m)
        except (ValueError, TypeError): pass


def test_omitted_fields_take_transformers_class_defaults():
    # configuration_mistral.py: sliding_window=4096, num_key_value_heads=8 when a config leaves them out; an explicit null stays null
    base = dict(hidden_size=4096, intermediate_size=14336, max_position_embeddings=32768, num_attention_heads=32, num_hidden_layers=32, vocab_size=32000)
    m = from_hf_config({**base, 'model_type': 'mistral'})
    assert (m.sliding_window, m.n_kv_heads) == (4096, 8)
    assert from_hf_config({**base, 'model_type': 'mistral', 'sliding_window': None}).sliding_window is None
