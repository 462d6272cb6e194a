"LLM configs: exact parameter counts against published figures, KV per token, and bad config.json input."
import json, subprocess, sys
import pytest
from hwnb.llm_config import ModelConfig, from_hf_config, get_model, model_names, params_total, params_active, kv_elements_per_token

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


def test_all_bundled_have_sources():
    assert {'mistral-7b', 'mixtral-8x7b', 'mixtral-8x22b', 'llama-2-7b', 'llama-3-8b', 'llama-3-70b'} <= set(model_names())
    for n in model_names(): assert get_model(n).source.startswith('https://huggingface.co/')


@pytest.mark.parametrize('change,msg', [
    ({'num_key_value_heads': 5}, 'must divide num_attention_heads'),
    ({'num_attention_heads': 30, 'num_key_value_heads': 5}, 'does not divide hidden_size'),
    ({'hidden_size': -3584}, 'must be > 0'),
    ({'num_hidden_layers': 0}, 'must be > 0'),
    ({'vocab_size': 1.5}, 'must be an integer'),
    ({'num_key_value_heads': 56}, 'exceeds num_attention_heads'),
    ({'model_type': 'gpt2'}, 'not supported'),
    ({'use_sliding_window': True}, 'not supported'),
    ({'n_embd': 4096}, 'contradictory'),
    ({'num_local_experts': 8, 'num_experts_per_tok': 2}, 'has no experts'),
])
def test_bad_configs(change, msg):
    with pytest.raises(ValueError, match=msg): from_hf_config({**QWEN2_7B, **change})


def test_missing_fields_and_files(tmp_path):
    with pytest.raises(ValueError, match='missing required fields'): from_hf_config({'model_type': 'llama'})
    with pytest.raises(ValueError, match="missing 'model_type'"): from_hf_config({'hidden_size': 8})
    with pytest.raises(ValueError, match='no config.json'): from_hf_config(tmp_path)
    (tmp_path/'config.json').write_text('{not json')
    with pytest.raises(ValueError, match='not valid JSON'): from_hf_config(tmp_path)
    with pytest.raises(ValueError, match='num_experts_per_tok|between 1 and'):
        from_hf_config({**QWEN2_7B, 'model_type': 'mixtral', 'num_local_experts': 8, 'num_experts_per_tok': 9})
    with pytest.raises(ValueError, match='closest matches: mixtral-8x7b'): get_model('mixtral-8x7')


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
