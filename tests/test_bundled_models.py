"""The bundled model files (hwnb/data/models/*.json): each names where its config.json was read, keeps only architecture
keys, loads with get_model, and its params_total equals transformers' count of the same config built on the meta device.

transformers is the oracle (the dev extra); hwnb itself never imports it. Issue 16's names are checked to be bundled."""
import json, re, warnings
from importlib import resources
import pytest
from hwnb.llm_config import from_hf_config, get_model, model_names, params_total

# issue 16's models bundled so far; qwen2.5-7b (base) and qwen2.5-72b wait for a stored literal copy of their config.json
ISSUE_16 = ['deepseek-v3', 'phi-4']
LOADING_KEYS = {'architectures', 'auto_map', 'initializer_range', 'torch_dtype', 'transformers_version', 'use_cache', '_name_or_path'}


def _file(name) -> dict:
    return json.loads(resources.files('hwnb').joinpath(f'data/models/{name}.json').read_text(encoding='utf-8'))


@pytest.fixture(scope='module')
def tr():
    transformers = pytest.importorskip('transformers', reason='the oracle test needs transformers (pip install -e ".[dev]")')
    torch = pytest.importorskip('torch')
    transformers.logging.set_verbosity_error()
    return transformers, torch


def _oracle_params(tr, config: dict) -> int:
    "Unique parameters of `config` built by transformers on the meta device (tied weights once; a bare text model gets its lm_head added)."
    transformers, torch = tr
    cfg = transformers.AutoConfig.for_model(config['model_type'], **{k: v for k, v in config.items() if k != 'model_type'})
    with warnings.catch_warnings(), torch.device('meta'):
        warnings.simplefilter('ignore')
        try: model = transformers.AutoModelForCausalLM.from_config(cfg)
        except ValueError: model = transformers.AutoModel.from_config(cfg)
    n = sum(p.numel() for p in model.parameters())
    if not hasattr(model, 'lm_head') and not getattr(cfg, 'tie_word_embeddings', False): n += cfg.vocab_size * cfg.hidden_size
    return n


def test_issue_16_models_are_bundled():
    assert set(ISSUE_16) <= set(model_names())


@pytest.mark.parametrize('name', ISSUE_16)
def test_issue_16_files_cite_repo_commit_and_path(name):
    d = _file(name)
    r = d['read_from']
    assert re.fullmatch(r'[0-9a-f]{40}', r['commit']), r
    assert d['source'] == f"https://github.com/{r['repo']}/blob/{r['commit']}/{r['path']}"
    assert d['name'] == name and '/' in d['hf_id'] and 'left out' in d['note']
    cfg = d['config']
    dropped = [k for k in cfg if k in LOADING_KEYS or k.endswith('_token_id') or 'dropout' in k or k.endswith('_pdrop')]
    assert dropped == [] and 'model_type' in cfg
    m = get_model(name)
    assert (m.name, m.source) == (name, d['source'])


@pytest.mark.parametrize('name', model_names())
def test_params_total_matches_transformers(name, tr):
    assert params_total(get_model(name)) == _oracle_params(tr, _file(name)['config']), name


def test_oracle_sees_a_changed_config(tr):
    "The oracle is not a constant: with one layer fewer in phi-4's config both counts drop, by the same amount."
    cfg = _file('phi-4')['config']
    fewer = {**cfg, 'num_hidden_layers': cfg['num_hidden_layers'] - 1}
    full, less = _oracle_params(tr, cfg), _oracle_params(tr, fewer)
    assert 0 < full - less < full
    assert params_total(from_hf_config(fewer)) == less
