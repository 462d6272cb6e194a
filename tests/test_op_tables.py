"Every table-producing function returns a table that passes core.check_ops (issue 14, item 3)."
import warnings
import numpy as np
import pytest
from hwnb.core import check_ops

torch = pytest.importorskip('torch')
from hwnb import models as tm


@pytest.fixture(scope='module')
def tiny():
    cfg = tm.tiny_mistral()
    return tm.build(cfg), tm.example_input(cfg, seq_len=32)


def test_profiler_count(tiny):
    from hwnb.profiler import count
    m, x = tiny
    check_ops(count(m, x), 'counted')
    check_ops(count(tm.build(tm.tiny_cnn()), tm.example_input(tm.tiny_cnn())), 'counted')


def test_profiler_profile(tiny):
    from hwnb.profiler import profile
    m, x = tiny
    p = profile(m, x, hw='epyc-9654', warmup=0, repeat=1, keep_trace=False)
    check_ops(p.ops, 'timed')


@pytest.fixture(scope='module')
def onnx_file(tmp_path_factory, tiny):
    pytest.importorskip('onnxruntime')
    from hwnb import onnx_graph as og
    m, x = tiny
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return og.export(m, x, tmp_path_factory.mktemp('onnx') / 'tiny.onnx')


def test_onnx_graph_analyze(onnx_file):
    from hwnb import onnx_graph as og
    df = og.analyze(onnx_file)
    check_ops(df, 'counted')
    assert (~df.known).sum() == df.flops.isna().sum()


def test_onnx_profile_profile(onnx_file, tiny):
    from hwnb import onnx_profile as op
    _, x = tiny
    p = op.profile(onnx_file, [x.numpy()], hw='epyc-9654', warmup=0, repeat=1, keep_trace=False)
    check_ops(p.ops, 'timed')


@pytest.mark.parametrize('kw', [dict(), dict(tp=2), dict(weight_format='int4-g128', kv_dtype='fp8'), dict(flash_attention=False)])
def test_llm_analyze(kw):
    from hwnb import llm
    check_ops(llm.analyze('mixtral-8x7b' if 'tp' in kw else 'mistral-7b', 'h100-sxm', batch=4, prompt_len=256, gen_len=16, **kw).ops, 'timed')


def test_check_ops_catches_a_bad_table(tiny):
    "The check is not vacuous: the same tables with one defect each are refused."
    from hwnb.profiler import count
    df = count(*tiny)
    with pytest.raises(ValueError, match='unknown is not a zero'):
        check_ops(df.assign(known=False), 'counted')
    with pytest.raises(ValueError, match='undocumented columns'):
        check_ops(df.assign(whatever=1), 'counted')
    with pytest.raises(ValueError, match='intensity'):
        check_ops(df.assign(intensity=np.where(df.bytes > 0, 0.0, 1.0)), 'counted')
