"Issue 19 item 16: the report's op tables keep every op's time (top N plus one 'other' row), in SI units, with % of time, bound, % of roof."
import re
import pytest

torch = pytest.importorskip('torch')
from hwnb import models, profiler
from hwnb.report import top_ops, category_table


@pytest.fixture(scope='module')
def prof():
    cfg = models.tiny_mistral()
    return profiler.profile(models.build(cfg).eval(), models.example_input(cfg), hw='epyc-9654', warmup=1, repeat=2)


def _s(t):   # '149 µs' -> seconds
    v, u = t.split()
    return float(v) * {'s': 1, 'ms': 1e-3, 'µs': 1e-6, 'ns': 1e-9}[u]


def test_top_ops_keeps_every_op(prof):
    t = top_ops(prof.ops, 15)
    timed = prof.ops['time_s'].notna().sum()
    assert len(t) == 16 and t['op'].iloc[-1] == f'other ({timed - 15} ops)'
    assert list(t.columns) == ['op', 'module', 'time', '% of time', 'bound', '% of roof']
    share = sum(float(p.split()[0]) for p in t['% of time'] if p[0].isdigit())
    assert abs(share - 100) < 0.1 * len(t)                      # the shares (rounded to 0.1 %) add up to the whole
    assert abs(sum(_s(x) for x in t['time']) - prof.ops['time_s'].sum()) / prof.ops['time_s'].sum() < 0.02   # 3 significant digits
    assert all(re.fullmatch(r'[\d.]+ (s|ms|µs|ns)', x) for x in t['time'])   # SI, no scientific notation
    assert set(t['bound'][:-1]) <= {'compute', 'memory', '—'} and all(p.endswith('%') or p == '—' for p in t['% of roof'][:-1])


def test_category_table(prof):
    c = category_table(prof.ops)
    assert c['calls'].sum() == len(prof.ops) and {'matmul', 'attention', 'norm', 'memory', 'elementwise'} <= set(c['category'])
    assert all(re.fullmatch(r'[\d.]+ %', p) for p in c['% of time']) and 'e-' not in c.to_string()


def test_untimed_table_is_refused():
    with pytest.raises(ValueError, match='timed op table'):
        top_ops(profiler.count(torch.nn.Linear(4, 4), torch.randn(2, 4)))


def test_ceilings_table_si_and_datasheet_share():
    from hwnb import bench
    from hwnb.hardware import get
    from hwnb.report import ceilings_table
    h = get('epyc-9654')
    m = bench.Measured(**{f: getattr(h, f) for f in h.__dataclass_fields__})
    cs = (('peak fp32', 'FLOP/s', h.peak_flops('fp32') / 2, 1e11, 2e11, h.peak_flops('fp32') / 2, ''),)
    with_ds = ceilings_table(bench.replace(m, datasheet='epyc-9654', ceilings=cs))
    assert with_ds['% of datasheet'].tolist() == ['50.0 %'] and with_ds['best'].iloc[0].endswith('FLOP/s') and 'e+' not in with_ds.to_string()
    without = ceilings_table(bench.replace(m, datasheet=None, ceilings=cs))
    assert without['% of datasheet'].tolist() == ['— (no catalog entry for this machine)']
