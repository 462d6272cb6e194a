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
    cfg2 = tiny_mistral(n_layers=1, hidden_dim=128)
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
