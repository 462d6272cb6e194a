"hwnb.onnx_profile: ONNX Runtime times joined to static costs, fused kernels never priced as zero, input checks, dynamic quantization."
import math, os, warnings
import numpy as np
import pytest

pytest.importorskip('onnxruntime')
onnx = pytest.importorskip('onnx')
from onnx import TensorProto, helper, numpy_helper
from hwnb import onnx_profile as op
from hwnb.onnx_graph import analyze

F = TensorProto.FLOAT


def mlp(m=64, k=256, n=256):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32) / 16, 'w'),
             numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), 'b')]
    nodes = [helper.make_node('MatMul', ['x', 'w'], ['h'], name='mm'), helper.make_node('Add', ['h', 'b'], ['a'], name='add'),
             helper.make_node('Relu', ['a'], ['y'], name='relu')]
    g = helper.make_graph(nodes, 'mlp', [helper.make_tensor_value_info('x', F, ['batch', k])],
                          [helper.make_tensor_value_info('y', F, ['batch', n])], inits)
    # onnx 1.23's make_model writes IR version 14, newer than onnxruntime 1.31 reads (13): pin the IR version opset 17 needs
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)], ir_version=8)


X = np.random.default_rng(1).standard_normal((64, 256)).astype(np.float32)


def test_profile_joins_every_node_at_disable_all():
    p = op.profile(mlp(), X, hw='h100-sxm', threads=1, warmup=1, repeat=3)
    o = p.ops
    assert list(o.node) == ['mm', 'add', 'relu'] and o.time_s.notna().all() and (o.source == 'measured').all()
    assert o.flops[0] == 2 * 64 * 256 * 256                      # the dynamic batch took the input's size
    np.testing.assert_allclose(o.achieved_flops_s, o.flops / o.time_s)
    assert (o.roof_fraction > 0).all() and p.wall_s >= o.time_s.sum() * 0.5
    assert p.env['opt_level'] == 'disable_all' and p.trace


def test_fused_kernels_are_unknown_not_zero():
    p = op.profile(mlp(), X, hw='h100-sxm', opt_level='all', threads=1, warmup=1, repeat=2)
    o = p.ops
    fused = o[o.module == op.FUSED]
    # at 'all', ONNX Runtime fuses MatMul+Add (and maybe Relu): the originals lose their time, the fused kernel keeps it
    assert len(fused) >= 1 and not fused.known.any() and fused.flops.isna().all() and fused.time_s.notna().all()
    assert o[o.node == 'add'].time_s.isna().all()
    assert p.summary()['n_unknown'] >= 1


def test_bad_inputs():
    sess = op.session(mlp(), threads=1)
    with pytest.raises(ValueError, match="unknown model input 'xx'.*x"): op.feeds(sess, {'xx': X})
    with pytest.raises(ValueError, match='astype'): op.feeds(sess, X.astype(np.float64))
    with pytest.raises(ValueError, match='rank'): op.feeds(sess, X[0])
    with pytest.raises(ValueError, match='takes 1 inputs'): op.feeds(sess, [X, X])
    with pytest.raises(ValueError, match='disable_all'): op.session(mlp(), opt_level='none')
    with pytest.raises(ValueError, match='need repeat'): op.profile(mlp(), X, repeat=0)


def test_newer_ir_version_is_explained():
    m = mlp(); m.ir_version = 99
    with pytest.raises(ValueError, match='IR version'):
        op.session(m)


def test_torch_tensor_inputs():
    torch = pytest.importorskip('torch')
    p = op.profile(mlp(), torch.from_numpy(X), hw='h100-sxm', threads=1, warmup=0, repeat=1)
    assert p.ops.time_s.notna().all()


def test_quantize_dynamic_variant(tmp_path):
    src = tmp_path / 'mlp.onnx'
    onnx.save(mlp(), src)
    q = op.quantize(src, tmp_path / 'mlp.int8.onnx')
    qops = analyze(q, {'batch': 64})
    assert {'DynamicQuantizeLinear', 'MatMulInteger'} <= set(qops.op) and qops.known.all()
    mi = qops[qops.op == 'MatMulInteger']
    assert mi.flops.sum() == 2 * 64 * 256 * 256                  # the same multiply-adds, in int8
    cmp = op.compare({'fp32': src, 'int8': q}, X, threads=1, repeat=3)
    assert cmp.speedup[0] == 1 and cmp.size_bytes[1] < 0.5 * cmp.size_bytes[0]
    # independent reference: the float model in numpy
    w = numpy_helper.to_array(mlp().graph.initializer[0]); b = numpy_helper.to_array(mlp().graph.initializer[1])
    ref = np.maximum(X @ w + b, 0)
    y = op.session(q, threads=1).run(None, {'x': X})[0]
    rel = np.linalg.norm(y - ref) / np.linalg.norm(ref)
    assert rel == pytest.approx(cmp.rel_l2[1], rel=1e-3, abs=1e-4) and 0 < rel < 0.1


def test_side_by_side_families():
    import pandas as pd
    t = pd.DataFrame({'op': ['aten.mm.default', 'aten.scaled_dot_product_attention.default', 'aten.add.Tensor'],
                      'flops': [10.0, 6.0, 1.0], 'bytes': [1.0, 1.0, 1.0], 'known': True})
    o = pd.DataFrame({'op': ['MatMul', 'MatMul', 'Softmax', 'Add', 'Loop'], 'flops': [10.0, 6.0, 5.0, 1.0, math.nan],
                      'bytes': [1.0] * 5, 'known': [True, True, True, True, False]})
    s = op.side_by_side(t, o).set_index('family')
    assert s.loc['matmul', 'flops_onnx'] == 16 and s.loc['attention', 'flops_torch'] == 6 and s.loc['other', 'n_unknown_onnx'] == 1


# --- issue 19 item 11: onnxruntime's own errors, temp dirs, inputs ---
import glob, tempfile
from hypothesis import given, settings, strategies as st


def _ort_dirs():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), 'hwnb-ort-*')))


def mismatch():
    "x (batch, k) @ w (k2, 4), both k's dynamic: ONNX Runtime finds the mismatch only when it runs."
    g = helper.make_graph([helper.make_node('MatMul', ['x', 'w'], ['y'], name='mm')], 'mm',
                          [helper.make_tensor_value_info('x', F, ['batch', 'k']), helper.make_tensor_value_info('w', F, ['k2', 4])],
                          [helper.make_tensor_value_info('y', F, ['batch', 4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)], ir_version=8)


def test_invalid_argument_is_a_valueerror():
    "onnxruntime's InvalidArgument used to leak out raw."
    sess = op.session(mlp(), threads=1)
    with pytest.raises(ValueError, match=r"fixes dimension 1 at 256"): op.feeds(sess, X[:, :100])
    s2 = op.session(mismatch(), threads=1)
    fd = op.feeds(s2, {'x': np.ones((2, 3), np.float32), 'w': np.ones((5, 4), np.float32)})
    with pytest.raises(ValueError, match=r"ONNX Runtime could not run the model on these inputs \(x \(2, 3\) float32"):
        op.run(s2, fd)
    with pytest.raises(ValueError, match='could not run'):
        op.compare({'a': mismatch()}, {'x': np.ones((2, 3), np.float32), 'w': np.ones((5, 4), np.float32)}, repeat=1, warmup=0)


def test_profile_leaves_no_temp_dirs():
    "hwnb-ort-* folders used to stay behind, on success and on failure."
    before = _ort_dirs()
    op.profile(mlp(), X, hw='h100-sxm', threads=1, warmup=0, repeat=1)
    with pytest.raises(ValueError): op.profile(mlp(), X[:, :7], hw='h100-sxm', threads=1, warmup=0, repeat=1)
    with pytest.raises(ValueError): op.profile(mismatch(), {'x': np.ones((2, 3), np.float32), 'w': np.ones((5, 4), np.float32)},
                                               hw='h100-sxm', threads=1, warmup=0, repeat=1)
    with pytest.raises(ValueError): op.session(mlp(), opt_level='nope', profiling=True)
    assert _ort_dirs() == before


@pytest.fixture(scope='module')
def sess():
    return op.session(mlp(), threads=1)


arr = st.one_of(st.tuples(st.integers(0, 3), st.integers(0, 300), st.sampled_from([np.float32, np.float64, np.int64])).map(
                    lambda t: np.zeros(t[:2], t[2])),
                st.integers(0, 3).map(lambda n: np.zeros((n,), np.float32)), st.just(X), st.none(), st.text(max_size=3),
                st.lists(st.floats(), max_size=3))


@settings(max_examples=250, deadline=None)
@given(st.one_of(arr, st.dictionaries(st.sampled_from(['x', 'y', 'X']), arr, max_size=2), st.lists(arr, max_size=2)))
def test_feeds_answer_or_name_the_problem(sess, inputs):
    try: fd = op.feeds(sess, inputs)
    except (ValueError, TypeError) as e:
        assert "'x'" in str(e) or 'inputs' in str(e) or 'model input' in str(e), str(e); return
    y = op.run(sess, fd)[0]
    assert y.shape == (fd['x'].shape[0], 256) and np.isfinite(y).all()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(['disable_all', 'basic', 'extended', 'all', 'none', '', 'ALL']), st.sampled_from(['auto', 'cpu', 'cuda', 'gpu']),
       st.one_of(st.none(), st.integers(-2, 3), st.floats(0, 2), st.booleans(), st.text(max_size=2)))
def test_session_answers_or_names_the_bad_value(opt, device, threads):
    try: s = op.session(mlp(), opt_level=opt, device=device, threads=threads)
    except (ValueError, TypeError) as e:
        assert repr(opt) in str(e) or repr(device) in str(e) or repr(threads) in str(e) or 'CUDA' in str(e), str(e); return
    assert [i.name for i in s.get_inputs()] == ['x']
