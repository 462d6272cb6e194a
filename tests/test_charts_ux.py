"Issue 19 item 19: charts read well — a still image never says 'click'; the Pareto chart's time axis is in SI units."
import json
import numpy as np
import pandas as pd
import pytest
from hwnb.roofline import chart, save, static


@pytest.mark.parametrize('side', [False, True])
def test_static_image_never_says_click(tmp_path, side):
    c = chart(['h100-sxm', 'mi300x'], side_by_side=side)
    assert 'click' in json.dumps(c.to_dict())                     # the interactive chart does say it
    assert 'click' not in json.dumps(static(c).to_dict()['title'])
    save(c, tmp_path/'r.svg')
    svg = (tmp_path/'r.svg').read_text()
    assert 'click' not in svg.lower() and 'dense peaks' in svg
    save(c, tmp_path/'r.html')
    assert 'click a legend entry' in (tmp_path/'r.html').read_text()   # HTML stays interactive, and says so


def test_pareto_time_axis_is_si():
    pytest.importorskip('torch')
    from hwnb.optimize import Results, Gate
    df = pd.DataFrame(dict(variant=['fp32', 'bf16', 'int8'], kind=['baseline', 'cast', 'quant'], status='ok',
                           latency_s=[2.1e-3, 1.2e-3, 4.5e-4], size_bytes=[4_000_000, 2_000_000, 1_000_000], metric=[1.0, 0.99, 0.95],
                           passed=[True, True, False], pareto=[False, True, True], speedup=[1.0, 1.75, 4.7], size_ratio=[1, .5, .25],
                           metric_delta=[0, -.01, -.05], reason=''))
    d = Results(df, Gate()).chart().to_dict()
    xs = [l['encoding']['x'] for l in d['layer'] if 'x' in l.get('encoding', {})]
    assert xs and all(x['field'] == 'latency_s' and '(s)' not in x['title'] for x in xs)
    assert all("format(datum.value, '~s') + 's'" in x['axis']['labelExpr'] for x in xs)     # 450µs, 1.2ms
    tips = [t['field'] for l in d['layer'] for t in l.get('encoding', {}).get('tooltip', [])]
    assert 'latency' in tips and 'latency_s' not in tips
    shown = {r['latency'] for v in d['datasets'].values() for r in v if 'latency' in r}
    assert shown == {'2.1 ms', '1.2 ms', '450 µs'}
