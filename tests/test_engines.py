"The serving-engine conventions (hwnb/data/engines/engines.toml) and the vLLM memory logs: sourced, internally consistent, checked when read."
import math, re
from pathlib import Path
import pandas as pd
import pytest
from hwnb import engines as E
from hwnb.core import GiB

TOML = E.data_path('engines.toml')
CSV = E.data_path('vllm_memory_logs.csv')
RAW = E.read_engines()
NUMBERISH = re.compile(r'\d')


def edited(tmp_path, src:Path, old:str, new:str, name=None) -> Path:
    "A copy of `src` with `old` (which must occur) replaced by `new`."
    text = src.read_text(encoding='utf-8')
    assert old in text, f'test setup: {old!r} not in {src.name}'
    p = tmp_path / (name or src.name)
    p.write_text(text.replace(old, new, 1), encoding='utf-8')
    return p


# ---------------------------------------------------------------- engines.toml
def test_the_nine_engines_exactly():
    assert list(RAW['engines']) == list(E.ENGINE_NAMES)
    assert E.ENGINE_NAMES == ('vllm', 'sglang', 'tensorrt-llm', 'llama.cpp', 'mlc-llm', 'exllama', 'lmdeploy', 'gpt-fast', 'generic')


@pytest.mark.parametrize('name', E.ENGINE_NAMES)
def test_every_field_has_a_source_or_a_reason(name):
    table = RAW['engines'][name]
    assert table.get('full_name'), f'{name}: no full_name'
    fields = {k: v for k, v in table.items() if k != 'full_name'}
    core = {'memory_fraction_of', 'block_size_default', 'cuda_graphs_default', 'reserved_gib_per_chip', 'kv_cache_dtype_default'}
    assert core <= set(fields), f'{name}: fields {sorted(core - set(fields))} absent (give a value or a missing reason)'
    for f, fig in fields.items():
        assert f in E.FIELDS, f'{name}.{f}: not a documented field'
        if 'missing' in fig:
            assert 'value' not in fig and fig['missing'].strip(), f'{name}.{f}: a missing field needs a reason and no value'
            continue
        src = RAW['sources'][fig['source']]
        assert src['title']
        if 'url' in src: assert src['url'].startswith('https://'), f'{name}.{f}: source {fig["source"]} url'
        else: assert re.fullmatch(r'[0-9a-f]{40}', src['commit']) and src['repo'].count('/') == 1 and src['path'], f'{name}.{f}: source {fig["source"]}'
        assert fig['location'].strip(), f'{name}.{f}: a value needs the location it was read at'


def test_numbers_carry_a_location_that_shows_them():
    "A numeric value's location quotes the place it stands (the number itself or the field that holds it)."
    for name, table in RAW['engines'].items():
        for f, fig in table.items():
            if f == 'full_name' or 'value' not in fig: continue
            v = fig['value']
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                txt = fig['location'] + ' ' + fig.get('note', '')
                assert NUMBERISH.search(txt) or '%' in txt, f'{name}.{f} = {v}: location {fig["location"]!r} shows no number'


def test_memory_fraction_of_and_the_documented_conventions():
    of = {n: E.engine(n).memory_fraction_of for n in E.ENGINE_NAMES}
    assert of['vllm'] == of['sglang'] == of['mlc-llm'] == 'total'
    assert of['tensorrt-llm'] == of['lmdeploy'] == 'free'
    assert of['llama.cpp'] == of['exllama'] == of['gpt-fast'] == 'none'
    assert of['generic'] is None
    for n in E.ENGINE_NAMES:
        e = E.engine(n)
        if e.memory_fraction is not None: assert 0 < e.memory_fraction <= 1, n
        assert e.memory_fraction_of in E.FRACTION_OF + (None,)
        if e.memory_fraction_of == 'none': assert e.memory_fraction is None, f'{n}: no fraction, yet a default'
    v = E.engine('vllm')
    assert (v.memory_fraction_knob, v.block_size, v.cuda_graphs, v.kv_cache_dtype) == ('gpu_memory_utilization', 16, True, 'auto')
    assert E.engine('sglang').memory_fraction_knob == 'mem_fraction_static'
    assert E.engine('tensorrt-llm').memory_fraction_knob == 'free_gpu_memory_fraction'


def test_engine_units_and_nothing_counted_as_zero():
    v = E.engine('vllm')
    assert set(v.reserved_bytes_per_chip) == {1, 2}
    assert math.isclose(v.reserved_bytes_per_chip[1], 1.79 * GiB) and math.isclose(v.reserved_bytes_per_chip[2], 3.58 * GiB)
    g = E.engine('generic')
    for attr in ('memory_fraction', 'block_size', 'cuda_graphs', 'reserved_bytes_per_chip', 'max_num_seqs'):
        assert getattr(g, attr) is None, f'generic.{attr} should be None (unknown), not {getattr(g, attr)!r}'
    assert g.missing and all(g.missing.values())
    with pytest.raises((TypeError, AttributeError)): v.reserved_bytes_per_chip[1] = 0          # frozen mappings
    with pytest.raises(Exception): v.block_size = 32                                             # frozen dataclass


def test_engines_table_matches_the_file():
    df = E.engines()
    assert set(df.columns) >= {'engine', 'field', 'value', 'unit', 'source', 'citation', 'location', 'missing'}
    n_fields = sum(len(t) - 1 for t in RAW['engines'].values())
    assert len(df) == n_fields
    assert (df.citation.notna() ^ df.missing.notna()).all(), 'each row: a citation or a reason, exactly one'
    assert df[df.missing.isna()].location.notna().all()


@pytest.mark.parametrize('bad, hint', [('vlm', 'vllm'), ('trtllm', 'tensorrt-llm'), ('llamacpp', 'llama.cpp'), ('lm-deploy', 'lmdeploy')])
def test_unknown_engine_lists_close_matches(bad, hint):
    with pytest.raises(ValueError, match=re.escape(hint)): E.engine(bad)


@pytest.mark.parametrize('old, new, match', [
    ('source = "vllm-cache-config", location = "CacheConfig.DEFAULT_BLOCK_SIZE', 'source = "vllm-cache-cfg", location = "CacheConfig.DEFAULT_BLOCK_SIZE', 'vllm-cache-config'),
    (', location = "CacheConfig.DEFAULT_BLOCK_SIZE: ClassVar[int] = 16"', '', 'engines.vllm.block_size_default'),
    ('block_size_default = { value = 16', 'block_size_defualt = { value = 16', 'block_size_default'),
    ('memory_fraction_of = { value = "free", source = "trtllm-docs-serve-0182"', 'memory_fraction_of = { value = "freee", source = "trtllm-docs-serve-0182"', 'memory_fraction_of'),
    ('[engines.generic]', '[engines.generik]', 'generic'),
    ('commit = "002f10e0cfa1373a19a0d2756598a34b700d20e5"', 'commit = "002f10e"', 'commit'),
    ('url = "https://github.com/vllm-project/vllm/pull/10511"', 'url = "github.com/vllm-project/vllm/pull/10511"', 'https'),
    ('gemm_accumulate = { missing = "generic applies hwnb\'s own defaults" }', 'gemm_accumulate = { missing = "" }', 'reason'),
])
def test_a_bad_engines_file_names_what_is_wrong(tmp_path, old, new, match):
    with pytest.raises(ValueError, match=re.escape(match)): E.read_engines(edited(tmp_path, TOML, old, new))


def test_a_broken_or_absent_engines_file(tmp_path):
    with pytest.raises(ValueError, match='not valid TOML'): E.read_engines(edited(tmp_path, TOML, '[engines.vllm]', '[engines.vllm'))
    with pytest.raises(ValueError, match='cannot read'): E.read_engines(tmp_path / 'nope.toml')


# ---------------------------------------------------------------- kv_pool_bytes
def test_kv_pool_follows_the_convention():
    h = dict(total_bytes=79.22 * GiB, weights_bytes=14.96 * GiB, activation_bytes=1.26 * GiB, reserved_bytes=1.79 * GiB)
    vllm = E.kv_pool_bytes('vllm', memory_fraction=0.9, **h)
    trt = E.kv_pool_bytes('tensorrt-llm', **h)
    assert math.isclose(vllm, (79.22 * 0.9 - 14.96 - 1.26 - 1.79) * GiB)
    assert math.isclose(trt, (79.22 - 14.96 - 1.26 - 1.79) * 0.9 * GiB)
    assert trt > vllm, 'a fraction of the free memory leaves more for the KV cache than the same fraction of the total'
    for bad in [dict(memory_fraction=0), dict(memory_fraction=1.01), dict(weights_bytes=float('nan')), dict(total_bytes=-1.0)]:
        with pytest.raises(ValueError): E.kv_pool_bytes('vllm', **{**h, 'memory_fraction': 0.9, **bad})
    with pytest.raises(ValueError, match='context'): E.kv_pool_bytes('gpt-fast', **h)
    with pytest.raises(ValueError, match='memory_fraction'): E.kv_pool_bytes('generic', **h)


# ---------------------------------------------------------------- vllm_memory_logs.csv
LOGS = E.vllm_memory_logs()
CHECKS = E.log_checks(LOGS)


def test_logs_cover_gpus_and_tp():
    assert len(LOGS) >= 15
    named = set(LOGS.gpu) - {'unknown', 'unknown-24gb'}
    assert len(named) >= 3, named
    assert {1, 2, 4} <= set(LOGS.tp)
    assert LOGS.source.str.match(r'https://github\.com/[^/]+/[^/]+/(issues|pull)/\d+$').all()
    assert LOGS.location.str.strip().astype(bool).all()
    assert (LOGS.gpu_count >= LOGS.tp).all()
    assert LOGS.non_torch_gib.notna().sum() >= 8 and LOGS.cuda_graph_gib.notna().sum() >= 4 and LOGS.kv_cache_gib.notna().sum() >= 10


def test_every_row_is_internally_consistent():
    assert len(CHECKS) >= 15 and CHECKS.ok.all(), CHECKS[~CHECKS.ok]
    assert CHECKS.row.nunique() >= 8, 'most rows give both sides of at least one identity'
    assert {'total x utilization = usable', 'weights + non_torch + activation + kv = budget', 'peak_torch + non_torch + kv = budget',
            'blocks x block_size = tokens', 'tokens / max_model_len = concurrency'} <= set(CHECKS.check)


def test_logged_parts_add_up_to_the_budget():
    "Independent of log_checks: where the log gives all four parts, they sum to total x utilization within rounding."
    full = LOGS.dropna(subset=['total_gpu_memory_gib', 'gpu_memory_utilization', 'weights_gib', 'non_torch_gib', 'activation_peak_gib', 'kv_cache_gib'])
    assert len(full) >= 4
    parts = full.weights_gib + full.non_torch_gib + full.activation_peak_gib + full.kv_cache_gib
    assert ((parts - full.total_gpu_memory_gib * full.gpu_memory_utilization).abs() <= 0.03).all()
    pred = [E.kv_pool_bytes('vllm', r.total_gpu_memory_gib * GiB, r.weights_gib * GiB, r.activation_peak_gib * GiB, r.non_torch_gib * GiB,
                            memory_fraction=r.gpu_memory_utilization) / GiB for r in full.itertuples()]
    assert all(abs(p - k) <= 0.03 for p, k in zip(pred, full.kv_cache_gib))


def test_reported_memory_is_below_the_nominal_size():
    "What vLLM reports as total memory lies just under the card's nominal size in GiB (80 GB H100: 79.22 GiB; 24 GB: 23.58 GiB)."
    nominal_gib = {'h100-80gb': 80, 'rtx-3090': 24, 'rtx-5090': 32, 'rtx-4090': 24}   # the cards' marketed sizes
    rows = LOGS.dropna(subset=['total_gpu_memory_gib'])
    assert len(rows) >= 5 and set(rows.gpu) <= set(nominal_gib), set(rows.gpu) - set(nominal_gib)
    for r in rows.itertuples():
        assert 0.95 * nominal_gib[r.gpu] < r.total_gpu_memory_gib < nominal_gib[r.gpu], (r.source, r.gpu, r.total_gpu_memory_gib)


@pytest.mark.parametrize('old, new, match', [
    (',53.29,', ',50.29,', 'row 2'),                           # the four parts no longer add up to the budget
    (',53.29,', ',53.29GiB,', 'kv_cache_gib'),                # not a number
    (',7299,', ',7499,', 'concurrency'),                       # blocks x 16 / max_model_len no longer matches
    (',1478,', ',1479,', 'blocks x block_size'),
    (',0.85,', ',1.85,', 'gpu_memory_utilization'),
    ('https://github.com/vllm-project/vllm/issues/5248', 'github.com/vllm-project/vllm/issues/5248', 'https'),
    ('max_concurrency,', 'concurrency,', 'columns'),
])
def test_a_bad_log_row_is_named(tmp_path, old, new, match):
    with pytest.raises(ValueError, match=re.escape(match)): E.vllm_memory_logs(edited(tmp_path, CSV, old, new))


def test_bad_row_message_names_the_source(tmp_path):
    with pytest.raises(ValueError, match=re.escape('https://github.com/vllm-project/vllm/issues/10517')):
        E.vllm_memory_logs(edited(tmp_path, CSV, ',17.06,', ',18.06,'))
    with pytest.raises(ValueError, match='cannot read'): E.vllm_memory_logs(tmp_path / 'none.csv')


# ---------------------------------------------------------------- logged KV bytes match the published model configs
from conftest import shared_or_skip

KV_CONFIGS = {  # model in the log -> id of its published config in ../shared/hf_configs/configs.json
    'meta-llama/Llama-3.1-8B-Instruct': 'llama-3.1-8b-instruct', 'Qwen/Qwen3-1.7B': 'Qwen/Qwen3-1.7B', 'Qwen/Qwen3-14B': 'qwen3-14b'}
KV_ELEMENT_BYTES = 2   # these rows run bf16 models with kv_cache_dtype 'auto' (the model's dtype): 2 bytes per K/V element


def test_logged_kv_cache_holds_the_logged_tokens():
    "KV GiB / tokens is the model's KV bytes per token (2 x layers x kv_heads/tp x head_dim x 2 B), within the log's rounding."
    import json
    cfgs = {e['id']: e['config'] for e in json.loads(shared_or_skip('hf_configs', 'configs.json').read_text())}
    rows = LOGS[LOGS.model.isin(KV_CONFIGS) & LOGS.kv_cache_gib.notna() & (LOGS.kv_cache_tokens.notna() | LOGS.gpu_blocks.notna())]
    assert len(rows) >= 4, rows
    for r in rows.itertuples():
        c = cfgs[KV_CONFIGS[r.model]]
        head_dim = c.get('head_dim') or c['hidden_size'] // c['num_attention_heads']
        per_token = 2 * c['num_hidden_layers'] * (c['num_key_value_heads'] // r.tp) * head_dim * KV_ELEMENT_BYTES
        tokens = r.kv_cache_tokens if not pd.isna(r.kv_cache_tokens) else r.gpu_blocks * r.block_size
        lo, hi = (r.kv_cache_gib - E.LOG_ROUND) * GiB, (r.kv_cache_gib + E.LOG_ROUND) * GiB
        # vLLM rounds the pool down to whole blocks: tokens x bytes <= pool < (tokens + block) x bytes
        assert tokens * per_token <= hi and (tokens + r.block_size) * per_token >= lo, (r.source, r.model, tokens, per_token, r.kv_cache_gib)


def test_conventions_wired_into_analyze():
    "engine= picks the reserve per chip, block size and memory-fraction semantics from engines.toml; explicit figures win."
    from hwnb import llm
    v = E.engine('vllm')
    a = llm.analyze('mistral-7b', 'h100-sxm', tp=2)
    assert math.isclose(a.reserved_bytes_per_chip, v.reserved_bytes_per_chip[2])
    assert llm.analyze('mistral-7b', 'h100-sxm', tp=2, reserved_bytes_per_chip=0.0).reserved_bytes_per_chip == 0.0
    assert llm.analyze('mistral-7b', 'h100-sxm', tp=2, reserved_bytes_per_chip=0.0).kv_capacity_tokens > a.kv_capacity_tokens
    lm = llm.analyze('mistral-7b', 'h100-sxm', engine='lmdeploy')
    assert lm.kv_capacity_tokens % E.engine('lmdeploy').block_size == 0 and lm.reserved_bytes_per_chip == 0.0
    # TensorRT-LLM: KV pool = fraction x (reported memory - weights - activations), not fraction x total - the rest
    t = llm.analyze('mistral-7b', 'h100-sxm', engine='tensorrt-llm', gpu_memory_utilization=0.9)
    cap = t.mem_capacity_per_chip
    pool = 0.9 * (cap - t.weight_bytes_per_chip - t.act_bytes_per_chip)
    assert math.isclose(t.mem_usable_per_chip, t.weight_bytes_per_chip + t.act_bytes_per_chip + pool, rel_tol=1e-9)
    g = llm.conventions(llm.Deployment(engine='gpt-fast'), engine_block_size=True)
    assert g.block_size is None and g.reserved_bytes_per_chip == 0.0                    # static cache, no documented reserve
    r8, how = llm.engine_reserve('vllm', 8)
    assert r8 == v.reserved_bytes_per_chip[2] and 'largest documented degree below TP 8' in how     # no extrapolation
