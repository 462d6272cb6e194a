"Issue 19 item 16: op categories (matmul, attention, norm, elementwise, communication, memory) on real aten and hwnb.llm op tables."
import pytest
from hwnb.optable import CATEGORIES, category, by_category


def test_llm_op_names():
    from hwnb import llm
    ops = llm.analyze('mistral-7b', 'h100-sxm').ops
    cats = {o: category(o) for o in ops['op']}
    assert cats['attn/flash'] == 'attention' and cats['norm/attn'] == 'norm' and cats['embed'] == 'memory'
    assert all(cats[o] == 'matmul' for o in ['attn/qkv', 'attn/o', 'mlp/gate_up', 'mlp/down', 'lm_head'])
    assert set(cats.values()) <= set(CATEGORIES)


def test_aten_op_table_by_category():
    pytest.importorskip('torch')
    from hwnb import models, profiler
    cfg = models.tiny_mistral()
    ops = profiler.count(models.build(cfg).eval(), models.example_input(cfg))
    bc = by_category(ops).set_index('category')
    assert set(bc.index) <= set(CATEGORIES) and {'matmul', 'attention', 'norm', 'memory'} <= set(bc.index)
    assert bc['calls'].sum() == len(ops) and bc.loc['matmul', 'flops'] == bc['flops'].max()     # the GEMMs carry most FLOPs
    assert category('aten.mm.default') == 'matmul' and category('aten.rsqrt.default', 'layers.0.attention_norm') == 'norm'


def test_timed_share_and_errors():
    import pandas as pd
    t = pd.DataFrame(dict(op=['aten.mm.default', 'aten.add.Tensor', 'ncclKernel_AllGather'], module='m', flops=[8.0, 1.0, 0.0],
                          bytes=[4.0, 4.0, 4.0], known=True, time_s=[2e-3, 1e-3, 1e-3]))
    bc = by_category(t)
    assert bc['% of time'].tolist() == [50.0, 25.0, 25.0] and bc['category'].tolist()[0] == 'matmul'
    with pytest.raises(TypeError): category(3)
    with pytest.raises(TypeError): by_category([1, 2])
