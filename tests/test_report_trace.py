"Issue 19 item 16: the report links the Perfetto trace of its profile, written beside it, by relative path; or says why there is none."
import json, re
import pytest

torch = pytest.importorskip('torch')
from hwnb import models, profiler, traces
from hwnb.report import PERFETTO, sections, trace_link, trace_path


@pytest.fixture(scope='module')
def prof():
    cfg = models.tiny_mistral()
    return profiler.profile(models.build(cfg).eval(), models.example_input(cfg), hw='epyc-9654', warmup=1, repeat=2)


def test_trace_beside_the_report(prof, tmp_path):
    report = tmp_path/'sub dir'/'my report.html'
    report.parent.mkdir()
    link = trace_link(prof, report)
    t = tmp_path/'sub dir'/'my report.trace.json'
    assert trace_path(report) == t and t.exists()
    doc = json.loads(t.read_text())
    assert doc['traceEvents'] and any(e.get('name', '').startswith('hwnb.run.') for e in doc['traceEvents'])   # the profiled runs
    assert traces.load(t).ranks == [0]
    assert re.findall(r'href="([^"]+)"', link) == ['my%20report.trace.json', PERFETTO]    # relative, URL-quoted; nothing absolute
    assert str(tmp_path) not in link and 'ui.perfetto.dev' in link and 'chrome://tracing' in link
    assert not [p for p in t.parent.iterdir() if p.name not in ('my report.trace.json',)]   # written atomically: no temporary left


@pytest.mark.parametrize('case,why', [('none', 'no profile was run'), ('untraced', 'the profile kept no trace'),
                                      ('no path', 'written without one')])
def test_no_trace_says_so(prof, tmp_path, case, why):
    p = {'none': None, 'untraced': profiler.profile(torch.nn.Linear(4, 4), torch.randn(2, 4), hw='epyc-9654', keep_trace=False),
         'no path': prof}[case]
    link = trace_link(p, None if case == 'no path' else tmp_path/'r.html')
    assert 'href' not in link and 'No trace' in link and why in link
    assert not list(tmp_path.iterdir())


def test_sections_link_the_trace(tmp_path, monkeypatch):
    "The profile section of the report carries the link; the trace is the one of the profile the section shows."
    from hwnb import bench, hardware
    h = hardware.get('epyc-9654')
    m = bench.Measured(**{f: getattr(h, f) for f in h.__dataclass_fields__})
    m = bench.replace(m, ceilings=(('peak fp32', 'FLOP/s', 3.17e11, 2.66e11, 3.09e11, 3.17e11, ''),
                                   ('dram bandwidth', 'B/s', 2.92e10, 2.84e10, 2.88e10, 2.92e10, 'triad')))
    monkeypatch.setattr(bench, 'measure', lambda *a, **k: m)     # no measurement here: the ceilings of a catalog CPU
    secs = dict(sections(chips=('h100-sxm',), formats=('bf16',), progress=False, trace_to=tmp_path/'r.html'))
    parts = [p for p in secs['A Mistral-style model, op by op'] if isinstance(p, str)]
    assert any('href="r.trace.json"' in p for p in parts)
    assert traces.load(tmp_path/'r.trace.json').ranks == [0]
