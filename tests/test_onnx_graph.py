"hwnb.onnx_graph: node formulas in closed form, the cross-check against hwnb.profiler.count, and every bad input."
import math, os, warnings
import numpy as np
import pytest

onnx = pytest.importorskip('onnx')
from onnx import TensorProto, helper, numpy_helper
from hypothesis import given, settings, strategies as st
from hwnb import onnx_graph as og

F = TensorProto.FLOAT


def graph(nodes, inputs, outputs, inits=(), opset=20, extra_opsets=()):
    "A model from nodes, inputs [(name, elem, shape)], outputs [(name, elem, shape or None)] and numpy initializers {name: array}."
    ins = [helper.make_tensor_value_info(n, e, s) for n, e, s in inputs]
    outs = [helper.make_tensor_value_info(n, e, s) for n, e, s in outputs]
    init = [numpy_helper.from_array(a, n) for n, a in dict(inits).items()]
    g = helper.make_graph(nodes, 'g', ins, outs, init)
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', opset), *extra_opsets])


def one(node, inputs, out, inits=(), **kw):
    df = og.analyze(graph([node], inputs, [(node.output[0], out[0], out[1])], inits, **kw))
    return df.iloc[0]


# --- node formulas, closed forms ---------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 3), m=st.integers(1, 9), k=st.integers(1, 9), n=st.integers(1, 9))
def test_matmul_closed_form(b, m, k, n):
    r = one(helper.make_node('MatMul', ['x', 'w'], ['y']), [('x', F, [b, m, k])], (F, None), {'w': np.zeros((k, n), np.float32)})
    assert r.flops == 2 * b * m * k * n
    assert r.bytes == 4 * (b * m * k + k * n + b * m * n)
    assert r.known and r.op == 'MatMul' and r['shape'] == (b, m, k) and r['dtype'] == 'fp32'


def test_gemm_transposes_and_bias_not_counted():
    m, k, n = 5, 7, 3
    r = one(helper.make_node('Gemm', ['a', 'w', 'c'], ['y'], transA=1, transB=1),
            [('a', F, [k, m])], (F, None), {'w': np.zeros((n, k), np.float32), 'c': np.zeros(n, np.float32)})
    assert r.flops == 2 * m * k * n
    assert r.bytes == 4 * (k * m + n * k + n + m * n)


@pytest.mark.parametrize('group', [1, 2, 4])
def test_conv_groups(group):
    cin, cout, h, w, kh = 8, 12, 10, 10, 3
    r = one(helper.make_node('Conv', ['x', 'w'], ['y'], pads=[1, 1, 1, 1], group=group),
            [('x', F, [2, cin, h, w])], (F, None), {'w': np.zeros((cout, cin // group, kh, kh), np.float32)})
    assert r.flops == 2 * (2 * cout * h * w) * (cin // group) * kh * kh


def test_conv_transpose():
    r = one(helper.make_node('ConvTranspose', ['x', 'w'], ['y'], strides=[2, 2]),
            [('x', F, [1, 4, 5, 5])], (F, None), {'w': np.zeros((4, 6, 3, 3), np.float32)})
    assert r.flops == 2 * (4 * 25) * 6 * 9


def test_attention_opset23_gqa():
    b, h, hk, s, d = 2, 8, 2, 16, 4
    node = helper.make_node('Attention', ['q', 'k', 'v'], ['y'])
    r = one(node, [('q', F, [b, h, s, d]), ('k', F, [b, hk, s, d]), ('v', F, [b, hk, s, d])], (F, None), opset=23)
    assert r.flops == 2 * b * h * s * s * d * 2 and r.known
    r3 = one(helper.make_node('Attention', ['q', 'k', 'v'], ['y'], q_num_heads=h, kv_num_heads=hk),
             [('q', F, [b, s, h * d]), ('k', F, [b, s, hk * d]), ('v', F, [b, s, hk * d])], (F, None), opset=23)
    assert r3.flops == r.flops


def test_attention_flops_match_torch_sdpa_count():
    torch = pytest.importorskip('torch')
    from hwnb.opcost import attention_flops
    q, kv = (1, 32, 512, 128), (1, 8, 512, 128)
    assert og.node_flops('Attention', [q, kv, kv], [q]) == attention_flops(q, kv, kv)


@pytest.mark.parametrize('op,per', [('Softmax', 5), ('LogSoftmax', 5), ('Exp', 1), ('Relu', 1), ('Sigmoid', 1),
                                    ('ReduceMean', 1), ('GlobalAveragePool', 1)])
def test_per_element_ops(op, per):
    shape = [2, 3, 4, 5]
    r = one(helper.make_node(op, ['x'], ['y']), [('x', F, shape)], (F, None))
    assert r.flops == per * math.prod(shape)


def test_binary_and_variadic_elementwise():
    sh = [4, 6]
    r = one(helper.make_node('Add', ['x', 'c'], ['y']), [('x', F, sh)], (F, None), {'c': np.zeros(6, np.float32)})
    assert r.flops == 24 and r.bytes == 4 * (24 + 6 + 24)
    r = one(helper.make_node('Sum', ['x', 'a', 'b'], ['y']), [('x', F, sh)], (F, None),
            {'a': np.zeros(sh, np.float32), 'b': np.zeros(sh, np.float32)})
    assert r.flops == 2 * 24


@pytest.mark.parametrize('scale,bias', [(True, True), (True, False)])
def test_layer_norm(scale, bias):
    n, d = 6, 16
    names = ['x', 's'] + (['b'] if bias else [])
    inits = {'s': np.ones(d, np.float32), **({'b': np.zeros(d, np.float32)} if bias else {})}
    r = one(helper.make_node('LayerNormalization', names, ['y'], axis=-1), [('x', F, [n, d])], (F, None), inits)
    assert r.flops == (5 + 2) * n * d


def test_rms_norm_and_simplified_layer_norm():
    n, d = 6, 16
    r = one(helper.make_node('RMSNormalization', ['x', 's'], ['y']), [('x', F, [n, d])], (F, None),
            {'s': np.ones(d, np.float32)}, opset=23)
    assert r.flops == (3 + 1) * n * d
    assert og.node_flops('SimplifiedLayerNormalization', [(n, d), (d,)], [(n, d)]) == 4 * n * d
    assert og.node_flops('SkipSimplifiedLayerNormalization', [(n, d), (n, d), (d,)], [(n, d)]) == 5 * n * d


def test_batch_norm_inference():
    c = 3
    inits = {k: np.ones(c, np.float32) for k in ('s', 'b', 'm', 'v')}
    r = one(helper.make_node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y']), [('x', F, [2, c, 4, 4])], (F, None), inits)
    assert r.flops == 4 * 2 * c * 16


def test_einsum_two_operands():
    r = one(helper.make_node('Einsum', ['x', 'w'], ['y'], equation='td,tkhd->tkh'), [('x', F, [5, 8])], (F, None),
            {'w': np.zeros((5, 2, 6, 8), np.float32)}, opset=12)
    assert r.flops == 2 * 5 * 8 * 2 * 6


def test_quantized_ops():
    m, k, n = 4, 8, 6
    U8, I8 = TensorProto.UINT8, TensorProto.INT8
    r = one(helper.make_node('MatMulInteger', ['a', 'w', 'az', 'wz'], ['y']), [('a', U8, [m, k])], (TensorProto.INT32, None),
            {'w': np.zeros((k, n), np.int8), 'az': np.array(0, np.uint8), 'wz': np.array(0, np.int8)})
    assert r.flops == 2 * m * k * n and r['dtype'] == 'uint8'
    assert r.bytes == m * k + k * n + 1 + 1 + 4 * m * n
    inits = {'as': np.array(1, np.float32), 'az': np.array(0, np.uint8), 'w': np.zeros((k, n), np.uint8),
             'ws': np.array(1, np.float32), 'wz': np.array(0, np.uint8), 'ys': np.array(1, np.float32), 'yz': np.array(0, np.uint8)}
    r = one(helper.make_node('QLinearMatMul', ['a', 'as', 'az', 'w', 'ws', 'wz', 'ys', 'yz'], ['y']), [('a', U8, [m, k])], (U8, None), inits)
    assert r.flops == 2 * m * k * n
    r = one(helper.make_node('DequantizeLinear', ['x', 's', 'z'], ['y']), [('x', I8, [m, k])], (F, None),
            {'s': np.array(0.1, np.float32), 'z': np.array(0, np.int8)})
    assert r.flops == 2 * m * k and r.bytes == m * k + 4 + 1 + 4 * m * k
    df = og.analyze(graph([helper.make_node('DynamicQuantizeLinear', ['x'], ['q', 's', 'z'])], [('x', F, [m, k])],
                          [('q', U8, None), ('s', F, None), ('z', U8, None)]))
    assert df.flops[0] == 4 * m * k and df.bytes[0] == 4 * m * k + m * k + 4 + 1


def test_gather_reads_only_rows_and_views_move_nothing():
    v, d, s = 100, 8, 5
    nodes = [helper.make_node('Gather', ['emb', 'idx'], ['e']), helper.make_node('Reshape', ['e', 'shp'], ['y'])]
    df = og.analyze(graph(nodes, [('idx', TensorProto.INT64, [s])], [('y', F, None)],
                          {'emb': np.zeros((v, d), np.float32), 'shp': np.array([1, s * d], np.int64)}))
    assert df.bytes[0] == 8 * s + 2 * 4 * s * d and df.flops[0] == 0
    assert df.bytes[1] == 0 and df.flops[1] == 0 and df['known'].all()


def test_unknown_ops_are_nan_not_zero():
    cust = helper.make_node('MyOp', ['x'], ['y'], domain='my.domain')
    m = graph([cust], [('x', F, [2, 2])], [('y', F, [2, 2])], extra_opsets=[helper.make_opsetid('my.domain', 1)])
    df = og.analyze(m)
    assert not df.known[0] and math.isnan(df.flops[0]) and df.attrs['n_unknown'] == 1
    from hwnb.profiler import by_op
    assert by_op(df).n_unknown[0] == 1
    assert math.isnan(og.node_flops('Loop', [(1,)], [(1,)]))


def test_conventions_match_torch_side():
    pytest.importorskip('torch')
    from hwnb.opcost import FLOPS_PER_ELEMENT
    from hwnb.profiler import ROOT
    for k, v in FLOPS_PER_ELEMENT.items(): assert og.FLOPS_PER_ELEMENT[k] == v
    assert og.ROOT == ROOT


def test_schema_and_roofline_place():
    from hwnb.core import COUNT_COLUMNS
    from hwnb.roofline import place
    df = og.analyze(graph([helper.make_node('MatMul', ['x', 'w'], ['y'])], [('x', F, [64, 64])], [('y', F, None)],
                          {'w': np.zeros((64, 64), np.float32)}))
    assert all(c in df for c in (*COUNT_COLUMNS, 'module', 'shape', 'dtype', 'intensity', 'known', 'source'))
    p = place(df, 'h100-sxm')
    assert p.bound[0] == 'memory' and p.intensity[0] == pytest.approx(2 * 64**3 / (3 * 4 * 64 * 64))


# --- cross-check against the PyTorch count -------------------------------------------------------

@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    torch = pytest.importorskip('torch')
    from hwnb.models import build, example_input, tiny_mistral, tiny_cnn
    out = {}
    for cfg in (tiny_mistral(), tiny_cnn()):
        m, x = build(cfg), example_input(cfg)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            p = og.export(m, x, tmp_path_factory.mktemp(cfg.name) / 'm.onnx')
        out[cfg.name] = (m, x, p)
    return out


@pytest.mark.parametrize('name', ['tiny-mistral', 'tiny-cnn'])
def test_cross_check_heavy_flops_within_1pct(exported, name):
    from hwnb.profiler import count
    m, x, p = exported[name]
    o, c = og.analyze(p), count(m, x)
    heavy = ['matmul', 'conv', 'attention']
    fo = o[o.op.map(og.family).isin(heavy)].flops.sum()
    fc = c[c.op.map(og.family).isin(heavy)].flops.sum()
    assert fc > 0 and abs(fo / fc - 1) < 0.01, (fo, fc)
    assert o['known'].all()


def test_module_scopes_from_dynamo_export(exported):
    o = og.analyze(exported['tiny-mistral'][2])
    mm = o[o.op == 'MatMul']
    assert {'layers.0.attention.wq', 'layers.1.feed_forward.w2', 'output'} <= set(mm.module)
    # attention's two products belong to the attention module: 2 per layer, 2·b·h·s·s·d each
    att = mm[mm.module == 'layers.0.attention']
    assert len(att) == 2 and (att.flops == 2 * 4 * 128 * 128 * 32).all()


def test_torchscript_fallback(tmp_path, monkeypatch):
    torch = pytest.importorskip('torch')
    from hwnb.models import build, example_input, tiny_cnn
    real = torch.onnx.export
    def broken(*a, dynamo=True, **kw):
        if dynamo: raise RuntimeError('simulated dynamo failure')
        return real(*a, dynamo=False, **kw)
    monkeypatch.setattr(torch.onnx, 'export', broken)
    cfg = tiny_cnn()
    with pytest.warns(UserWarning, match='falling back to the TorchScript exporter'):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            p = og.export(build(cfg), example_input(cfg), tmp_path / 'ts.onnx')
    m = og.load(p)
    assert {q.key: q.value for q in m.metadata_props}['hwnb.exporter'] == 'torchscript'
    df = og.analyze(p)
    assert 'res.conv1.0' in set(df.module)


# --- bad input -----------------------------------------------------------------------------------

def small_model():
    return graph([helper.make_node('MatMul', ['x', 'w'], ['y'], name='mm')], [('x', F, [4, 64])], [('y', F, [4, 64])],
                 {'w': np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)})


@pytest.mark.parametrize('frac', [0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_truncated_file(tmp_path, frac):
    p = tmp_path / 'm.onnx'
    raw = small_model().SerializeToString()
    p.write_bytes(raw[:int(len(raw) * frac)])
    with pytest.raises(ValueError, match='malformed or truncated|holds no ONNX graph'):
        og.analyze(p)


@pytest.mark.parametrize('raw', [b'', b'garbage\x00\xff' * 10, b'\x08\x07'])
def test_malformed_bytes(tmp_path, raw):
    p = tmp_path / 'm.onnx'
    p.write_bytes(raw)
    with pytest.raises(ValueError, match='malformed or truncated|holds no ONNX graph'):
        og.load(p)


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(ValueError, match='no ONNX file'): og.load(tmp_path / 'nope.onnx')
    with pytest.raises(TypeError, match='ModelProto, a path or bytes'): og.load(42)


def save_external(tmp_path):
    d = tmp_path / 'model'
    d.mkdir()
    onnx.save_model(small_model(), d / 'm.onnx', save_as_external_data=True, all_tensors_to_one_file=True,
                    location='m.bin', size_threshold=0)
    return d / 'm.onnx'


def test_external_data_loads(tmp_path):
    p = save_external(tmp_path)
    m = og.load(p)
    w = numpy_helper.to_array(m.graph.initializer[0])
    assert w.shape == (64, 64) and w[0, 0] == np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)[0, 0]
    assert og.analyze(p).flops[0] == 2 * 4 * 64 * 64


def test_missing_external_data(tmp_path):
    p = save_external(tmp_path)
    os.remove(p.parent / 'm.bin')
    with pytest.raises(ValueError, match="missing external data.*m.bin"):
        og.analyze(p)


def test_truncated_external_data(tmp_path):
    p = save_external(tmp_path)
    b = p.parent / 'm.bin'
    b.write_bytes(b.read_bytes()[:100])
    with pytest.raises(ValueError, match='truncated'):
        og.load(p)


def relocate(p, loc):
    m = onnx.load(p, load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == 'location': e.value = loc
    onnx.save_model(m, p)


@pytest.mark.parametrize('loc', ['../secret.bin', 'sub/../../secret.bin', '/etc/passwd'])
def test_external_path_escaping_is_refused(tmp_path, loc):
    p = save_external(tmp_path)
    (tmp_path / 'secret.bin').write_bytes(b'\0' * 100000)
    relocate(p, loc)
    with pytest.raises(ValueError, match='outside the model|absolute'):
        og.load(p)


def test_external_symlink_escaping_is_refused(tmp_path):
    p = save_external(tmp_path)
    (tmp_path / 'secret.bin').write_bytes((p.parent / 'm.bin').read_bytes())
    os.remove(p.parent / 'm.bin')
    os.symlink(tmp_path / 'secret.bin', p.parent / 'm.bin')
    with pytest.raises(ValueError, match='outside the model'):
        og.load(p)


def test_dynamic_dims_need_shapes():
    m = graph([helper.make_node('MatMul', ['x', 'w'], ['y'])], [('x', F, ['batch', 'seq', 64])], [('y', F, None)],
              {'w': np.zeros((64, 8), np.float32)})
    with pytest.raises(ValueError, match=r"dynamic input dimensions.*x dims \[0:batch, 1:seq\].*shapes="):
        og.analyze(m)
    assert og.analyze(m, {'x': (2, 16, 64)}).flops[0] == 2 * 2 * 16 * 64 * 8
    assert og.analyze(m, {'batch': 2, 'seq': 16}).flops[0] == 2 * 2 * 16 * 64 * 8
    with pytest.raises(ValueError, match='batch'):
        og.analyze(m, {'bach': 2, 'seq': 16})


# --- pricing in forked slices -------------------------------------------------------------------

@pytest.mark.skipif(not __import__('hwnb.core', fromlist=['can_fork']).can_fork(), reason='needs os.fork on Linux')
@settings(max_examples=15, deadline=None)
@given(data=st.data(), n=st.integers(1, 120), workers=st.integers(2, 5), margin=st.sampled_from([0, 3, 64]))
def test_sliced_pricing_equals_one_process(data, n, workers, margin):
    "A random DAG whose nodes read tensors from anywhere earlier (so slices miss their local value_info), with empty, repeated and "
    "clashing names, some unknown ops and some tensors of unknown shape: forked slices give exactly the one-process table."
    import pandas as pd
    nodes, tensors = [], ['x']
    for i in range(n):
        op = data.draw(st.sampled_from(['Add', 'Relu', 'MatMul', 'Softmax', 'MysteryOp']), label='op')
        a = data.draw(st.sampled_from(tensors), label='a')
        ins = {'Add': [a, data.draw(st.sampled_from(tensors), label='b')], 'MatMul': [a, 'w']}.get(op, [a])
        name = data.draw(st.sampled_from(['', f'n{i}', 'dup', 'n0_Add', f'/blk.{i % 3}/{op}']), label='name')
        nodes.append(helper.make_node(op, ins, [f't{i}'], name=name, **({'domain': 'custom'} if op == 'MysteryOp' else {})))
        tensors.append(f't{i}')
    m = graph(nodes, [('x', F, [4, 8])], [(f't{n - 1}', F, None)], {'w': np.zeros((8, 8), np.float32)},
              extra_opsets=[helper.make_opsetid('custom', 1)])
    one_proc = og.analyze(m, workers=1)
    old, og._SLICE_MARGIN = og._SLICE_MARGIN, margin          # a narrow margin makes every slice look tensors up through the index
    try: pd.testing.assert_frame_equal(og.analyze(m, workers=workers), one_proc)
    finally: og._SLICE_MARGIN = old
    assert one_proc.node.is_unique
    assert one_proc.loc[[o.startswith('custom.') for o in one_proc.op], 'known'].eq(False).all()


def test_workers_must_be_positive():
    m = graph([helper.make_node('Relu', ['x'], ['y'])], [('x', F, [2, 2])], [('y', F, [2, 2])])
    for bad in (0, -1, 1.5, 'two'):
        with pytest.raises(ValueError, match='workers must be a positive int'): og.analyze(m, workers=bad)


@pytest.mark.skipif(not __import__('hwnb.core', fromlist=['can_fork']).can_fork(), reason='needs os.fork on Linux')
@pytest.mark.parametrize('failure', ['fork refused', 'child dies', 'child raises'])
def test_failed_slice_is_priced_here(monkeypatch, failure):
    "A slice whose child cannot start, dies or raises is priced by the calling process: the table is complete and unchanged."
    import pandas as pd
    from hwnb.core import Forked
    nodes = [helper.make_node('Relu', [f't{i}'], [f't{i + 1}'], name=f'r{i}') for i in range(40)]
    m = graph(nodes, [('t0', F, [4, 8])], [('t40', F, [4, 8])])
    want = og.analyze(m, workers=1)
    def broken(fn, *args):
        if failure == 'fork refused': raise OSError(11, 'Resource temporarily unavailable')
        return Forked(os._exit if failure == 'child dies' else (lambda *a: 1 / 0), *((3,) if failure == 'child dies' else args))
    monkeypatch.setattr(og, 'Forked', broken)
    pd.testing.assert_frame_equal(og.analyze(m, workers=3), want)


# --- issue 19 item 11: float shapes, rank mismatches, a ModelProto with a cycle ---

def _dyn():
    return graph([helper.make_node('MatMul', ['x', 'w'], ['y'], name='mm')], [('x', F, ['batch', 'seq', 64])], [('y', F, None)],
                 {'w': np.zeros((64, 8), np.float32)})


@pytest.mark.parametrize('shapes,msg', [({'batch': 2.5, 'seq': 16}, "dimension 'batch' must be an int >= 0, not 2.5"),
                                        ({'batch': 2.0, 'seq': 16}, 'not 2.0'), ({'batch': True, 'seq': 16}, 'not True'),
                                        ({'x': (2.7, 16, 64)}, "input 'x'.*2.7"), ({'x': (2, 16)}, 'rank 2.*rank 3'),
                                        ({'x': (2, 16, 64, 1)}, 'rank 4'), ({'x': (2, 16, 65)}, 'fixed at 64 in the model, not 65'),
                                        ({'x': 'abc'}, 'tuple of ints'), ({'x': 5}, 'tuple of ints'), ({'batch': -1, 'seq': 1}, 'not -1')])
def test_bad_example_shapes(shapes, msg):
    "Float sizes used to be truncated (2.7 -> 2) and a wrong rank silently accepted."
    with pytest.raises(ValueError, match=msg):
        og.analyze(_dyn(), shapes)


def test_numpy_sizes_are_fine():
    assert og.analyze(_dyn(), {'x': np.array([2, 16, 64])}).flops[0] == 2 * 2 * 16 * 64 * 8
    assert og.analyze(_dyn(), {'batch': np.int64(2), 'seq': np.int32(16)}).flops[0] == 2 * 2 * 16 * 64 * 8


def _cyclic():
    nodes = [helper.make_node('Add', ['x', 'b'], ['a'], name='add'), helper.make_node('Relu', ['a'], ['b'], name='relu'),
             helper.make_node('Identity', ['a'], ['y'], name='out')]
    return graph(nodes, [('x', F, [2, 3])], [('y', F, [2, 3])])


def test_modelproto_with_a_cycle_is_refused():
    "A ModelProto used to skip every check: analyze priced a cyclic graph."
    with pytest.raises(ValueError, match=r"ModelProto given is not a valid ONNX model: node 0 \('add'\) reads 'b'.*cycle"):
        og.analyze(_cyclic())
    with pytest.raises(ValueError, match='cycle'):
        og.load(_cyclic())
    with pytest.raises(ValueError, match='not a valid ONNX model'):        # the same graph as bytes meets the full checker
        og.load(_cyclic().SerializeToString())
    dangling = graph([helper.make_node('Relu', ['nope'], ['y'], name='r')], [('x', F, [2])], [('y', F, [2])])
    with pytest.raises(ValueError, match="reads 'nope'"): og.analyze(dangling)


size = st.one_of(st.integers(-3, 70), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=2), st.just(np.int64(4)))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.dictionaries(st.sampled_from(['batch', 'seq', 'x', 'nope']), st.one_of(size, st.lists(size, max_size=5).map(tuple)),
                                 max_size=3), st.none()))
def test_with_shapes_answers_or_names_the_bad_value(shapes):
    try: m = og.with_shapes(_dyn(), shapes)
    except (ValueError, TypeError) as e:
        assert any(repr(k) in str(e) for k in (shapes or {})) or 'dynamic input dimensions' in str(e), str(e)
        return
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert len(dims) == 3 and dims[2] == 64 and all(isinstance(v, int) and v >= 0 for v in dims)


_names = st.sampled_from(['x', 'a', 'b', 'c', 'y', '', 'zz'])


@settings(max_examples=250, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['Relu', 'Add', 'Identity', 'MatMul', 'Softmax']), st.lists(_names, min_size=1, max_size=2),
                          st.sampled_from(['a', 'b', 'c', 'y'])), min_size=1, max_size=5), st.booleans())
def test_any_wiring_is_analysed_or_refused(nodes, as_bytes):
    "Random wiring (cycles, dangling inputs, duplicate outputs, wrong arity): a priced table, or a ValueError; never a raw onnx error."
    ns = [helper.make_node(op, ins if op in ('Add', 'MatMul') else ins[:1], [out], name=f'n{k}') for k, (op, ins, out) in enumerate(nodes)]
    m = graph(ns, [('x', F, [2, 2])], [('y', F, [2, 2])])
    try: df = og.analyze(m.SerializeToString() if as_bytes else m)
    except ValueError as e:
        assert str(e); return
    assert len(df) == len(ns) and not np.isinf(df.flops.astype(float)).any() and (df.bytes.fillna(0) >= 0).all()
