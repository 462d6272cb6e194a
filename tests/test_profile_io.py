"Profile diff, projection onto another chip, and JSON save/load."
import json
import numpy as np
import pytest

torch = pytest.importorskip('torch')
from hwnb.hardware import get
from hwnb.models import build, example_input, tiny_mistral
from hwnb.profiler import count, profile
from hwnb.profile_io import diff, project, save, load, export_chrome


@pytest.fixture(scope='module')
def counted():
    cfg = tiny_mistral(n_layers=1)
    return count(build(cfg), example_input(cfg, seq_len=32))


def test_diff_per_op_and_module(counted):
    cfg2 = tiny_mistral(n_layers=1, intermediate=128)
    other = count(build(cfg2), example_input(cfg2, seq_len=32))
    d = diff(counted, other).set_index('op')
    assert d.loc['aten.mm.default', 'd_flops'] == 3 * 2 * 32 * 128 * (128 - 352)
    assert d.d_flops.sum() == other.flops.sum() - counted.flops.sum()
    assert d.d_bytes.sum() == other.bytes.sum() - counted.bytes.sum()
    dm = diff(counted, other, by='module').set_index('module')
    assert dm.loc['layers.0.attention.wq', 'd_flops'] == 0
    with pytest.raises(ValueError, match="'op' or 'module'"): diff(counted, other, by='layer')
    with pytest.raises(TypeError): diff(counted, [1, 2])


def test_project_is_roofline_time(counted):
    hw = get('h100-sxm')
    pj = project(counted, hw)
    f, b = pj.flops.to_numpy(), pj.bytes.to_numpy()
    roof = pj.roof_dtype.map(hw.peak_flops).to_numpy()
    expect = np.maximum(f / roof, b / hw.mem_bw)
    assert np.allclose(pj.time_s, expect, rtol=1e-12) and (pj.source == 'predicted').all()
    assert set(pj.bound.dropna()) <= {'compute', 'memory'}


def test_save_load_roundtrip_and_validation(tmp_path):
    torch.set_num_threads(1)
    cfg = tiny_mistral(n_layers=1)
    pr = profile(build(cfg), example_input(cfg, seq_len=16), hw='epyc-9654', warmup=0, repeat=1)
    p = save(pr, tmp_path/'a.json')
    assert not [f for f in tmp_path.iterdir() if f.name.startswith('.')]          # no temp file left behind
    back = load(p)
    assert back.ops[['op', 'module', 'shape', 'flops', 'bytes', 'known']].equals(pr.ops[['op', 'module', 'shape', 'flops', 'bytes', 'known']])
    assert np.allclose(back.ops.time_s, pr.ops.time_s) and back.hw.name == 'epyc-9654'
    for k in ('torch', 'threads', 'fingerprint', 'hw'): assert back.env[k] == pr.env[k]
    assert (diff(pr, back).d_time_s.abs() < 1e-12).all()
    doc = json.loads(p.read_text())
    for bad, msg in [({**doc, 'format': 'x'}, 'not a saved hwnb profile'), ({**doc, 'version': 99}, 'version 99'),
                     ({**doc, 'columns': doc['columns'][1:]}, 'missing columns'), ({**doc, 'rows': [[1]]}, 'do not match')]:
        (tmp_path/'b.json').write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=msg): load(tmp_path/'b.json')
    (tmp_path/'c.json').write_text('{not json')
    with pytest.raises(ValueError, match='invalid JSON'): load(tmp_path/'c.json')
    f = export_chrome(pr, tmp_path/'t.json')
    assert 'traceEvents' in json.loads(f.read_text())


# --- issue 19 item 13: a profile on measured ceilings loads without hw=; export_tensorboard stays inside its logdir ---

import math
from dataclasses import replace
from hypothesis import given, settings, strategies as st
from hwnb.profile_io import export_tensorboard


@pytest.fixture(scope='module')
def timed():
    torch.set_num_threads(1)
    cfg = tiny_mistral(n_layers=1)
    return profile(build(cfg), example_input(cfg, seq_len=8), hw='epyc-9654', warmup=0, repeat=1)


def test_measured_profile_loads_without_hw(timed, tmp_path):
    "It used to raise \"unknown hardware 'local-...'\" unless hw= was passed."
    mine = replace(get('epyc-9654'), name='local-amd-epyc-7b13', measured=True, full_name='this box (measured, quick)')
    p = save(replace(timed, hw=mine), tmp_path/'m.json')
    back = load(p)
    assert back.hw.name == 'local-amd-epyc-7b13' and back.hw.measured
    assert back.hw.peak_flops('fp32') == mine.peak_flops('fp32') and back.hw.mem_bw == mine.mem_bw
    assert 'saved with the profile' in back.hw_note
    assert load(p, hw='h100-sxm').hw.name == 'h100-sxm'


def test_saved_catalog_profile_still_uses_the_catalog(timed, tmp_path):
    p = save(timed, tmp_path/'c.json')
    assert load(p).hw is get('epyc-9654')


@pytest.mark.parametrize('run', ['../../x', '..', '../x', '/tmp/abs', 'a/../../b', 'a\\..\\b', '', '.', 'a//b', 'x\x00y'])
def test_tensorboard_run_cannot_escape(timed, tmp_path, run):
    with pytest.raises(ValueError, match='leave the log directory'):
        export_tensorboard(timed, tmp_path/'logs', run=run)
    assert not (tmp_path/'x').exists() and not list(tmp_path.rglob('*.pt.trace.json'))


def test_tensorboard_nested_run_and_bad_worker(timed, tmp_path):
    f = export_tensorboard(timed, tmp_path, run='exp1/bf16', worker='w0')
    assert f.parent == tmp_path/'exp1'/'bf16' and f.name.startswith('w0.')
    with pytest.raises(ValueError, match='worker'): export_tensorboard(timed, tmp_path, worker='../w')
    with pytest.raises(TypeError, match='run must be a string'): export_tensorboard(timed, tmp_path, run=3)


@settings(max_examples=250, deadline=None)
@given(st.text(max_size=12) | st.sampled_from(['..', '../..', 'a/..', '/etc', 'ok', 'a/b']))
def test_tensorboard_any_run_name_stays_inside(timed, tmp_path_factory, run):
    d = tmp_path_factory.mktemp('tb')
    logdir = d/'logs'
    try: f = export_tensorboard(timed, logdir, run=run, worker='w')
    except (ValueError, TypeError) as e:
        assert repr(run) in str(e); return
    except OSError: return                                            # a name the file system refuses (too long, ...)
    assert f.resolve().is_relative_to(logdir.resolve())


_json = st.recursive(st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.floats() | st.text(max_size=6),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=6)


def _paths(d, pre=()):
    yield pre
    if isinstance(d, dict):
        for k, v in d.items(): yield from _paths(v, pre + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d[:2]): yield from _paths(v, pre + (i,))


@pytest.fixture(scope='module')
def saved_doc(timed, tmp_path_factory):
    mine = replace(get('epyc-9654'), name='local-box', measured=True)
    p = save(replace(timed, hw=mine), tmp_path_factory.mktemp('s')/'p.json')
    return json.loads(p.read_text())


@settings(max_examples=250, deadline=None)
@given(data=st.data())
def test_load_answers_or_names_the_file(saved_doc, tmp_path_factory, data):
    "Any field of a saved profile replaced by any JSON value: a Profile with finite roofs, or a ValueError naming the file."
    doc = json.loads(json.dumps(saved_doc))
    path = data.draw(st.sampled_from([p for p in _paths(doc) if p]))
    *head, last = path
    tgt = doc
    for k in head: tgt = tgt[k]
    tgt[last] = data.draw(_json)
    f = tmp_path_factory.mktemp('l')/'p.json'
    f.write_text(json.dumps(doc))
    try: pr = load(f)
    except ValueError as e:
        assert str(f) in str(e); return
    assert pr.hw.dtypes and all(math.isfinite(pr.hw.peak_flops(d)) for d in pr.hw.dtypes) and math.isfinite(pr.hw.mem_bw)
    for c in ('flops', 'bytes', 'time_s'):
        if c in pr.ops: assert not (pr.ops[c] < 0).any() and not np.isinf(pr.ops[c]).any()


@pytest.mark.parametrize('content', [b'\xff\xfe\x00bad', b'[' * 50000 + b']' * 50000])
def test_load_binary_or_deep_file(tmp_path, content):
    (tmp_path/'x.json').write_bytes(content)
    with pytest.raises(ValueError, match='not a saved'): load(tmp_path/'x.json')
    with pytest.raises(ValueError, match='no saved profile'): load(tmp_path/'nope.json')
