"The profiler on transformers' own Mistral and Mixtral classes (tiny configs, random weights, nothing downloaded); skipped without the `hf` extra."
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('transformers', reason='transformers is not installed (pip install -e ".[hf]")')
from torch.utils.flop_counter import FlopCounterMode
from hwnb import profiler as P
from hwnb.models import build, example_input, hf_model, tiny_mistral, tiny_mixtral
from hwnb.opcost import grouped_mm_flop, sdpa_cpu_flop

SEQ = 64
HEAVY = r'\.(?:mm|addmm|bmm|_grouped_mm|scaled_dot_product_attention|_scaled_dot_product_flash_attention_for_cpu)\.'
# the formulas FlopCounterMode's registry lacks, handed to it the documented way
MAPPING = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: sdpa_cpu_flop, torch.ops.aten._grouped_mm: grouped_mm_flop}


def heavy(ops):
    return ops[ops.op.str.contains(HEAVY)]


def fc_total(model, x) -> int:
    with FlopCounterMode(display=False, custom_mapping=MAPPING) as fc, torch.no_grad(): model(x)
    return fc.get_total_flops()


def expert_flops(cfg, tokens) -> int:
    "Closed form of a Mixtral MoE's expert matmuls: every token through top_k SwiGLU experts (3 matrices of dim x hidden), per layer."
    return cfg.n_layers * tokens * cfg.experts_per_token * 3 * 2 * cfg.hidden * cfg.intermediate


@pytest.fixture(scope='module')
def mistral():
    cfg = tiny_mistral(n_layers=1)
    return cfg, hf_model(cfg), example_input(cfg, seq_len=SEQ)


def test_hf_mistral_counts_like_flopcounter_and_the_reference(mistral):
    cfg, hf, x = mistral
    ops = P.count(hf, x)
    assert ops.known.all(), ops[~ops.known].op.unique()
    assert heavy(ops).flops.sum() == fc_total(hf, x)
    # transformers' code and hwnb's compact reference implementation do the same matmuls and attention
    ref = P.count(build(cfg), x)
    assert heavy(ops).groupby('op').flops.sum().to_dict() == heavy(ref).groupby('op').flops.sum().to_dict()
    assert (ops.module.str.startswith('model.layers.0.self_attn') & (ops.op == 'aten.scaled_dot_product_attention.default')).sum() == 1


def test_hf_mistral_on_meta(mistral):
    "On meta, transformers takes a few device-dependent paths (constants, cache tensors), so only the costly rows must agree."
    cfg, hf, x = mistral
    with torch.device('meta'): hm = hf_model(cfg)
    cpu, meta = heavy(P.count(hf, x)), heavy(P.count(hm, example_input(cfg, seq_len=SEQ, device='meta')))
    cols = ['op', 'module', 'shape', 'flops', 'bytes']
    assert meta[cols].reset_index(drop=True).equals(cpu[cols].reset_index(drop=True))


def test_hf_mixtral_grouped_mm_is_counted():
    cfg = tiny_mixtral(n_layers=1)
    hf, x = hf_model(cfg), example_input(cfg, seq_len=SEQ)
    ops = P.count(hf, x)
    assert ops.known.all(), ops[~ops.known].op.unique()
    g = ops[ops.op == 'aten._grouped_mm.default']
    assert len(g) >= 1 and g.flops.sum() == expert_flops(cfg, SEQ)
    assert heavy(ops).flops.sum() == fc_total(hf, x)
    # on meta too (in bf16: torch's meta function for _grouped_mm takes bf16 only), without weights
    with torch.device('meta'): hm = hf_model(cfg).to(torch.bfloat16)
    om = P.count(hm, example_input(cfg, seq_len=SEQ, device='meta'))
    assert om[om.op == 'aten._grouped_mm.default'].flops.sum() == expert_flops(cfg, SEQ)


def test_hf_mistral_profile_times_every_costly_row(mistral):
    torch.set_num_threads(1)
    _, hf, x = mistral
    pr = P.profile(hf, x, hw='epyc-9654', warmup=1, repeat=2, keep_trace=False)
    o = pr.ops
    costly = (o.bytes > 0) | (o.flops > 0)
    assert o.loc[costly, 'time_s'].notna().all()
    assert pr.summary()['n_unmatched'] <= 0.05 * len(o)       # only a few views, which cost nothing, may go unmatched
