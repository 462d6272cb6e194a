"Roofline charts: several chips, points with tooltips, legend selections, many points, offline saving."
import json
import numpy as np
import pandas as pd
import pytest
from hwnb import roofline as R


def ops_table(n=5, seed=0, timed=True):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(dict(op=rng.choice(['aten.mm.default', 'aten.add.Tensor', 'aten._softmax.default'], n),
                           module=[f'layers.{i % 4}.mlp' for i in range(n)], shape=[(1, 4096)] * n,
                           flops=rng.uniform(1e6, 1e12, n), bytes=rng.uniform(1e5, 1e10, n), dtype='bf16', known=True))
    if timed:
        df['time_s'] = R.time_bound('h100-sxm', df.flops, df.bytes) * rng.uniform(1, 3, n)
    return df


def test_three_chips_one_chart():
    c = R.chart(['h100-sxm', 'mi300x', 'tpu-v5e'], points=ops_table())
    roofs, pts = R.chart_data(c)
    assert {r['chip'] for r in roofs} == {'h100-sxm', 'mi300x', 'tpu-v5e'}
    # the compute roof of each chip sits at its dense peak; the ridge vertex at peak/bw
    for r in roofs:
        if r['order'] == 1:
            assert r['intensity'] == pytest.approx(R.ridge(r['chip'], r['dtype']))
            assert r['perf'] == pytest.approx(r['peak_flops'])
    assert len(pts) == 5
    spec = c.to_dict()
    names = {p['name']: p for p in spec['params']}
    assert names['chip_sel']['bind'] == 'legend' and names['group_sel']['bind'] == 'legend'
    txt = json.dumps(spec)
    for field in ['"op"', '"shape"', '"dtype"', '"flops"', '"bytes"', '"time_s"', '% of roof']:
        assert field in txt, f'tooltip lacks {field}'
    assert spec['layer'][0]['layer'][0]['encoding']['x']['scale']['type'] == 'log'


def test_points_measured_vs_untimed():
    timed = R.chart('h100-sxm', points=ops_table())
    _, pts = R.chart_data(timed)
    assert all(p['placed'] == 'timed' for p in pts)
    for p in pts:
        assert p['perf'] == pytest.approx(p['flops'] / p['time_s'])
        assert 0 < p['pct_of_roof'] <= 100 + 1e-6
    untimed = R.chart('h100-sxm', points=ops_table(timed=False))
    _, pts = R.chart_data(untimed)
    assert all(p['perf'] == pytest.approx(R.attainable('h100-sxm', p['flops'] / p['bytes'])) for p in pts)


def test_zero_rows_left_out_and_said():
    df = ops_table(6)
    df.loc[0, 'bytes'] = 0          # a view
    df.loc[1, 'flops'] = np.nan     # unknown op
    df.loc[1, 'known'] = False
    c = R.chart('h100-sxm', points=df)
    assert len(R.chart_data(c)[1]) == 4
    assert any('2 of 6 ops left out' in s for s in c.to_dict()['title']['subtitle'])


@pytest.mark.parametrize('n,max_points', [(6000, 5000), (20_000, 2)])
def test_many_points(n, max_points):
    df = ops_table(n)
    c = R.chart(['h100-sxm', 'mi300x'], points=df, max_points=max_points)
    pts = R.chart_data(c)[1]
    assert len(pts) <= max_points
    sub = ' '.join(c.to_dict()['title']['subtitle'])
    assert f'{n} ops aggregated' in sub
    assert sum(p['flops'] for p in pts) <= df.flops.sum() * (1 + 1e-9)
    if max_points == 2: assert 'kept the 2 heaviest' in sub


def test_many_points_default_setting_no_maxrows_error():
    "More than altair's 5,000-row limit: aggregated by default, never a MaxRowsError."
    df = ops_table(12_000)
    df['op'] = [f'op{i}' for i in range(len(df))]     # nothing to aggregate
    c = R.chart('h100-sxm', points=df)
    assert len(R.chart_data(c)[1]) == 5000
    c.to_dict()


def test_side_by_side_and_levels():
    c = R.chart(['h100-sxm', 'mi300x'], dtypes=['bf16', 'fp8'], levels='all', side_by_side=True)
    spec = c.to_dict()
    assert len(spec['hconcat']) == 2
    roofs = [r for t in R.chart_data(c) for r in t]
    mi_levels = {r['level'] for r in roofs if r['chip'] == 'mi300x'}
    assert len(mi_levels) >= 2          # HBM plus the caches with published bandwidth


def test_per_row_hw_points():
    df = pd.concat([ops_table(3).assign(hw='h100-sxm'), ops_table(3, seed=1).assign(hw='mi300x')])
    _, pts = R.chart_data(R.chart(['h100-sxm', 'mi300x'], points=df))
    assert {p['hw'] for p in pts} == {'h100-sxm', 'mi300x'}


@pytest.mark.parametrize('suffix,magic', [('.html', b'<!DOCTYPE html>'), ('.png', b'\x89PNG'), ('.svg', b'<svg'), ('.json', b'{')])
def test_save_offline(tmp_path, suffix, magic):
    c = R.chart(['h100-sxm', 'mi300x', 'tpu-v5e'], points=ops_table())
    out = R.save(c, tmp_path/f'roof{suffix}')
    data = out.read_bytes()
    assert data.lstrip()[:len(magic)] == magic
    if suffix == '.html':
        assert b'vegaEmbed' in data and b'cdn.jsdelivr.net' not in data
    assert [p.name for p in tmp_path.iterdir()] == [f'roof{suffix}']     # no temp files left behind


def test_save_bad_suffix(tmp_path):
    with pytest.raises(ValueError, match='use .html, .png, .svg or .json'):
        R.save(R.chart('h100-sxm'), tmp_path/'x.pdf')


def test_place_table():
    df = ops_table(4)
    p = R.place(df, 'h100-sxm')
    for c in ['intensity', 'bound', 'attainable_flops_s', 'achieved_flops_s', 'achieved_bytes_s', 'roof_fraction']:
        assert c in p
    assert np.allclose(p.intensity, df.flops / df.bytes)
    assert (p.roof_fraction <= 1 + 1e-9).all()
    untimed = R.place(df.drop(columns='time_s'), 'h100-sxm')
    assert 'roof_fraction' not in untimed and 'achieved_flops_s' not in untimed      # absent, not NaN
    tpu = R.place(df.assign(dtype='fp32'), 'tpu-v5e')                              # no fp32 units: judged on bf16
    assert set(tpu.roof_dtype) == {'bf16'}
