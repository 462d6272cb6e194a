"Issue 19 item 8: a corrupt optimize cache row (out of range, or another variant's) is ignored and measured again, with a warning."
import json, warnings
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('torchao')
import torch.nn as nn
from hwnb.optimize import sweep, read_cached, write_cached

QUICK = dict(memory=False, repeat=2, warmup=1, threads=1, progress=False)
XS = torch.randn(32, 64, generator=torch.Generator().manual_seed(2))


def _setup():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()
    labels = net(XS).argmax(-1)
    calls = []
    def agree(m):
        calls.append(1)
        with torch.no_grad(): return float((m(XS).argmax(-1) == labels).float().mean())
    return net, agree, calls


def _file_of(cache, variant):
    for p in (cache / 'optimize').glob('*.json'):
        if json.loads(p.read_text())['row']['variant'] == variant: return p


@pytest.mark.parametrize('edit,why', [(dict(latency_s=-1e-3), 'latency_s'), (dict(metric=float('inf')), 'metric'),
                                      (dict(size_bytes=-1), 'size_bytes'), (dict(variant='renamed'), "holds variant 'renamed'")])
def test_corrupt_row_is_measured_again(tmp_path, edit, why):
    net, agree, calls = _setup()
    x = torch.randn(8, 64)
    sweep(net, x, agree, ['bf16'], cache=tmp_path, **QUICK)
    p = _file_of(tmp_path, 'bf16')
    d = json.loads(p.read_text()); d['row'].update(edit); p.write_text(json.dumps(d))
    calls.clear()
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        res = sweep(net, x, agree, ['bf16'], cache=tmp_path, **QUICK)
    msgs = [str(w.message) for w in ws if 'ignoring cached result' in str(w.message)]
    assert len(msgs) == 1 and why in msgs[0] and 'measuring again' in msgs[0], msgs
    df = res.df.set_index('variant')
    assert list(df.index) == ['fp32', 'bf16']                      # the requested names, never the stored one
    assert df.loc['fp32', 'cached'] and not df.loc['bf16', 'cached'] and len(calls) == 1
    assert df.loc['bf16', 'latency_s'] > 0 and df.loc['bf16', 'metric'] == df.loc['bf16', 'metric']
    assert read_cached(p, d['key'], name='bf16') is not None       # measured again and stored afresh
