"The hwnb console script, run as a user would: every subcommand, and its error paths and exit codes."
import json, subprocess, sys, shutil
from pathlib import Path
import pytest

HWNB = shutil.which('hwnb') or str(Path(sys.executable).parent/'hwnb')


def run(*args, cwd=None):
    return subprocess.run([HWNB, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_hardware_list():
    r = run('hardware', 'list')
    assert r.returncode == 0, r.stderr
    for n in ['h100-sxm', 'mi300x', 'tpu-v5e', 'epyc-9654']:
        assert n in r.stdout
    assert '989 TFLOP/s' in r.stdout and '3.35 TB/s' in r.stdout


def test_hardware_list_json_and_kind():
    r = run('hardware', 'list', '--kind', 'cpu', '--json')
    rows = json.loads(r.stdout)
    assert rows and all(x['kind'] == 'cpu' for x in rows)
    assert run('hardware', 'list', '--kind', 'gpus').returncode == 1


def test_hardware_show():
    r = run('hardware', 'show', 'h100-sxm')
    assert r.returncode == 0
    assert 'nvidia.com' in r.stdout and 'peak bf16' in r.stdout and 'with sparsity' in r.stdout
    rows = json.loads(run('hardware', 'show', 'mi300x', '--json').stdout)
    assert any(x['figure'] == 'peak bf16' and x['value'] == 1307.4e12 for x in rows)


def test_hardware_show_unknown():
    r = run('hardware', 'show', 'h100')
    assert r.returncode == 1
    assert 'closest matches: h100-sxm' in r.stderr and 'Traceback' not in r.stderr


def test_roofline_writes_offline_chart(tmp_path):
    r = run('roofline', '--hw', 'h100-sxm,mi300x,tpu-v5e', '-o', 'roofline.html', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path/'roofline.html'
    assert str(out) in r.stdout
    html = out.read_text()
    assert 'vegaEmbed' in html and 'cdn.jsdelivr.net' not in html
    assert all(n in html for n in ['h100-sxm', 'mi300x', 'tpu-v5e'])


def test_roofline_png_and_options(tmp_path):
    r = run('roofline', '--hw', 'mi300x', '--dtype', 'bf16,fp8', '--levels', 'all', '-o', str(tmp_path/'r.png'))
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'r.png').read_bytes()[:4] == b'\x89PNG'


@pytest.mark.parametrize('args,code,msg', [
    (['roofline', '--hw', 'h100-sxn'], 1, 'closest matches: h100-sxm'),
    (['roofline', '--hw', 'a100-sxm-80gb', '--dtype', 'fp8'], 1, 'has no fp8 units'),
    (['roofline', '--hw', 'h100-sxm', '-o', 'x.pdf'], 1, 'use .html'),
    (['roofline'], 2, '--hw'),
    (['frobnicate'], 2, 'invalid choice'),
    (['hardware'], 2, 'ACTION'),
    (['docs', '--nbs', '/nonexistent'], 1, 'no notebooks folder'),
])
def test_errors(tmp_path, args, code, msg):
    r = run(*args, cwd=tmp_path)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert msg in r.stderr
    assert 'Traceback' not in r.stderr


def test_bench_uses_cache_and_writes_chart(tmp_path):
    env_cache = {'HWNB_CACHE_DIR': str(tmp_path/'cache')}
    import os
    r = subprocess.run([HWNB, 'bench', '-o', str(tmp_path/'m.html')], capture_output=True, text=True, timeout=300,
                       env={**os.environ, **env_cache})
    assert r.returncode == 0, r.stderr
    assert 'dram bandwidth' in r.stdout and 'peak fp32' in r.stdout and (tmp_path/'m.html').exists()
    assert list((tmp_path/'cache'/'bench').glob('*.json'))
    j = subprocess.run([HWNB, 'bench', '--json'], capture_output=True, text=True, timeout=300, env={**os.environ, **env_cache})
    assert any(x['ceiling'] == 'dram bandwidth' for x in json.loads(j.stdout))
    assert subprocess.run([HWNB, 'bench', '--mode', 'slow'], capture_output=True, text=True).returncode == 2


def test_plan():
    r = run('plan', 'mistral-7b', '--hw', 'h100-sxm', '--weights', 'fp8', '--price', '3')
    assert r.returncode == 0, r.stderr
    assert '7,241,732,096' in r.stdout and 'tokens/s' in r.stdout and 'per 1M tokens' in r.stdout
    d = json.loads(run('plan', 'mixtral-8x7b', '--hw', 'h100-sxm', '--json').stdout)
    assert d['params_total'] > d['params_active'] and d['fits'] is False and d['min_chips'] >= 2


@pytest.mark.parametrize('args,msg', [(['plan', 'mistral-8b'], 'closest matches'), (['plan', 'mistral-7b', '--tp', '3'], 'tp'),
                                      (['plan', 'mistral-7b', '--weights', 'fp9'], 'fp8'), (['plan', 'nope/config.json'], 'config')])
def test_plan_errors(args, msg):
    r = run(*args)
    assert r.returncode == 1 and msg in r.stderr and 'Traceback' not in r.stderr


def test_profile_count_and_timed(tmp_path):
    r = run('profile', 'hwnb.models:tiny_cnn', '--count', '--top', '5', '--csv', str(tmp_path/'ops.csv'))
    assert r.returncode == 0, r.stderr
    assert 'aten.convolution' in r.stdout and 'without a FLOP formula' in r.stdout
    import pandas as pd
    assert len(pd.read_csv(tmp_path/'ops.csv')) > 5
    t = run('profile', 'hwnb.models:tiny_cnn', '--hw', 'epyc-9654', '--top', '3')
    assert t.returncode == 0, t.stderr
    assert 'roofs: epyc-9654' in t.stdout and 'time_s' in t.stdout


@pytest.mark.parametrize('spec,msg', [('hwnb.models', 'MODULE:FACTORY'), ('hwnb.models:nope', 'cannot load'), ('no_such_mod:f', 'cannot load')])
def test_profile_errors(spec, msg):
    r = run('profile', spec)
    assert r.returncode == 1 and msg in r.stderr and 'Traceback' not in r.stderr


def test_report(tmp_path):
    import os
    r = subprocess.run([HWNB, 'report', '-o', str(tmp_path/'report.html')], capture_output=True, text=True, timeout=600,
                       env={**os.environ, 'HWNB_CACHE_DIR': str(tmp_path/'cache')})
    assert r.returncode == 0, r.stderr
    assert str(tmp_path/'report.html') in r.stdout
    page = (tmp_path/'report.html').read_text()
    assert page.count('class="hwnb-chart"') == 3 and 'This machine, measured' in page
    assert 'cdn.jsdelivr' not in page
