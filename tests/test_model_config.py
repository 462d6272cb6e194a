"One ModelConfig (issue 14): the reference torch models, the config reader and the LLM model share hwnb.llm_config.ModelConfig."
import warnings
import pytest
from dataclasses import replace
from hwnb import llm, llm_config, models as tm
from hwnb.llm_config import get_model, model_names, params_total


def test_one_class():
    assert tm.ModelConfig is llm_config.ModelConfig is llm.ModelConfig
    assert isinstance(tm.tiny_mistral(), llm_config.ModelConfig)


def test_presets_are_the_bundled_configs():
    assert tm.mistral_7b() == get_model('mistral-7b')
    assert tm.mixtral_8x7b() == get_model('mixtral-8x7b')


@pytest.mark.parametrize('name', [n for n in model_names() if n.startswith(('llama', 'mistral', 'mixtral', 'codellama')) and n != 'llama-4-scout'])
def test_bundled_llama_shapes_build_with_their_parameter_count(name):
    m = get_model(name)
    assert tm.n_params(tm.build(m, device='meta')) == params_total(m)


@pytest.mark.parametrize('name,field', [('gemma-2-9b', None), ('gpt-oss-20b', None), ('deepseek-r1', None), ('qwen3-8b', 'qk_norm'), ('llama-4-scout', 'attention_chunk_size')])
def test_other_shapes_are_refused_naming_the_field(name, field):
    with pytest.raises(ValueError, match=field or 'Mistral/Mixtral shape only'):
        tm.build(get_model(name), device='meta')


def test_the_llm_model_takes_the_reference_config_as_it_is():
    c = tm.tiny_mistral()
    a = llm.analyze(c, 'h100-sxm', batch=1, prompt_len=64, gen_len=8)
    assert a.params_total == tm.n_params(tm.build(c))


def test_old_names_warn_and_map():
    with pytest.warns(DeprecationWarning, match="'dim' is deprecated, use 'hidden'"):
        c = tm.tiny_mistral(dim=256, hidden_dim=512, vocab_size=1000, max_seq_len=128)
    assert (c.hidden, c.intermediate, c.vocab, c.max_positions, c.head_dim) == (256, 512, 1000, 128, 64)
    with pytest.warns(DeprecationWarning, match='use .hidden'):
        assert c.dim == 256
    with pytest.warns(DeprecationWarning):
        assert tm.tiny_mixtral(top_k=1).experts_per_token == 1
    with pytest.raises(AttributeError):
        c.no_such_field


def test_rope_and_eps_are_read_from_configs():
    m = llm_config.from_hf_config(dict(model_type='llama', hidden_size=512, num_hidden_layers=2, num_attention_heads=8, intermediate_size=1024,
                                       vocab_size=1000, max_position_embeddings=2048, rope_theta=500000.0, rms_norm_eps=1e-6))
    assert (m.rope_theta, m.norm_eps) == (500000.0, 1e-6)
    m = llm_config.from_hf_config(dict(model_type='llama', hidden_size=512, num_hidden_layers=2, num_attention_heads=8, intermediate_size=1024,
                                       vocab_size=1000, max_position_embeddings=2048, rope_parameters={'rope_type': 'default', 'rope_theta': 1e6}))
    assert m.rope_theta == 1e6
    with pytest.raises(ValueError, match='rope_theta'):
        replace(m, rope_theta=-1.0)
    with pytest.raises(ValueError, match='norm_eps'):
        llm_config.from_hf_config(dict(model_type='llama', hidden_size=512, num_hidden_layers=2, num_attention_heads=8, intermediate_size=1024,
                                       vocab_size=1000, max_position_embeddings=2048, rms_norm_eps='tiny'))
