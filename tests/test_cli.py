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
    # issue 19 item 16: the profile's Perfetto trace, beside the report and linked by relative path
    trace = tmp_path/'report.trace.json'
    assert str(trace) in r.stdout and 'ui.perfetto.dev' in r.stdout
    assert 'traceEvents' in json.loads(trace.read_text())
    from hwnb import traces
    assert traces.load(trace).ranks == [0]
    assert 'href="report.trace.json"' in page and str(tmp_path) not in page
    # issue 19 item 20: no profiler chatter on the way (the bench's progress bar and hwnb's own warnings are not chatter)
    assert 'USDT' not in r.stderr and 'profiler_start' not in r.stderr and 'Failed to load' not in r.stderr, r.stderr


def test_report_without_a_trace_says_so(tmp_path, monkeypatch, capsys):
    "`hwnb report --no-trace` writes no trace file, and the report says that none is kept instead of linking one."
    from hwnb import bench, cli
    monkeypatch.setenv('HWNB_CACHE_DIR', str(tmp_path/'cache'))
    monkeypatch.setattr(bench, '_sweep', _busy_sweep)
    assert cli.main(['report', '--force', '--no-trace', '-o', str(tmp_path/'r.html')]) == 0
    page = (tmp_path/'r.html').read_text()
    assert not (tmp_path/'r.trace.json').exists() and '.trace.json' not in page
    assert 'No trace of the profiled runs is kept beside this report' in page and "profile's trace" not in capsys.readouterr().out


# --- issue 19 items 14 and 15: busy machines; --force and --accept where the advice names them ---

def _busy_sweep(machine, plan, mode, dev, meta, notes, progress):
    "What a very busy 2-core machine measures: fp32 at 33 MFLOP/s, the triad at 0.1 GB/s, repeats spread 3x; fp16 slower still."
    n, rows = 256, []
    for k in range(3):
        f = 1 + k
        rows += [('gemm', 'fp32', n, 2 * n**3, 1.0 * f), ('gemm', 'fp16', n, 2 * n**3, 500.0 * f)]
        rows += [(kind, 'fp32', 2**30, moved, moved / 1e8 * f) for kind, moved in (('read', 2**28), ('triad', 3 * 2**28))]
        rows.append(('dispatch', 'fp32', 1, 0, 1e-5 * f))
    meta['elapsed_s'] = 1.0
    return rows, notes, {'fp16'}


def test_bench_on_a_busy_machine_is_kept_and_flagged(tmp_path, monkeypatch, capsys):
    "It used to exit with RuntimeError 'the measurement is implausible' (3 runs in 6 on a loaded machine)."
    from hwnb import bench, cli
    monkeypatch.setenv('HWNB_CACHE_DIR', str(tmp_path))
    monkeypatch.setattr(bench, '_sweep', _busy_sweep)
    assert cli.main(['bench', '--force']) == 0
    out, err = capsys.readouterr()
    assert 'flagged noisy' in out and 'peak fp32' in out and 'hwnb: warning: ' in err and 'Traceback' not in err
    m = bench.cached()
    assert m.meta['flags'] and m.peak_flops('fp32') == pytest.approx(2 * 256**3)


def test_bench_accept_keeps_an_impossible_measurement(tmp_path, monkeypatch, capsys):
    from dataclasses import replace
    from hwnb import bench, cli, detect as D, hardware as H
    monkeypatch.setenv('HWNB_CACHE_DIR', str(tmp_path))
    peak = H.get('epyc-9654').peak_flops('fp32')
    def impossible(machine, plan, mode, dev, meta, notes, progress):
        rows, notes, slow = _busy_sweep(machine, plan, mode, dev, meta, notes, progress)
        return [(r[0], r[1], r[2], r[3], r[3] / (3 * peak)) if r[0] == 'gemm' and r[1] == 'fp32' else r for r in rows], notes, slow
    monkeypatch.setattr(bench, '_sweep', impossible)
    real = bench.detect
    monkeypatch.setattr(bench, 'detect', lambda: replace(real(), cpu_catalog='epyc-9654'))
    assert cli.main(['bench', '--force']) == 1
    err = capsys.readouterr().err
    assert err.startswith('hwnb: error: the measurement is physically impossible') and '--accept' in err and 'Traceback' not in err
    assert cli.main(['bench', '--force', '--accept']) == 0
    assert 'accepted although' in capsys.readouterr().out


def test_report_accepts_force_and_accept():
    from hwnb import cli
    a = cli.parser().parse_args(['report', '--force', '--accept', '-o', 'x.html'])
    assert a.force and a.accept
    b = cli.parser().parse_args(['bench', '--accept'])
    assert b.accept and not b.force


def test_report_on_a_busy_machine(tmp_path, monkeypatch, capsys):
    "test_report failed on a loaded 2-core machine: the slow measurement was refused. Now it is reported, flagged."
    from hwnb import bench, cli
    monkeypatch.setenv('HWNB_CACHE_DIR', str(tmp_path/'cache'))
    monkeypatch.setattr(bench, '_sweep', _busy_sweep)
    assert cli.main(['report', '--force', '-o', str(tmp_path/'r.html')]) == 0
    page = (tmp_path/'r.html').read_text()
    assert 'This machine, measured' in page and 'noisy repeats' in page


def test_profile_hw_local(tmp_path):
    "`--hw local` was not a name: now it is this machine's measured ceilings, or a one-line error saying to run hwnb bench."
    import os
    from hwnb import bench
    env = {**os.environ, 'HWNB_CACHE_DIR': str(tmp_path/'cache')}
    r = subprocess.run([HWNB, 'profile', 'hwnb.models:tiny_cnn', '--hw', 'local', '--top', '3'], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1 and r.stderr.startswith('hwnb: error: ') and 'hwnb bench' in r.stderr and 'Traceback' not in r.stderr
    plan = bench.Plan(budget_s=0.5, repeat=2, min_sample_s=0.001, gemm_sizes=(128, 256), ws_min_bytes=64 * 2**10,
                      read_bytes_per_call=2**22, stream_min_bytes=2**20)
    m = bench.measure('quick', plan=plan, cache_dir=tmp_path/'cache', progress=False)
    r = subprocess.run([HWNB, 'profile', 'hwnb.models:tiny_cnn', '--hw', 'local', '--top', '3'], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f'roofs: {m.name}' in r.stdout and 'measured ceilings' in r.stdout


from hypothesis import given, settings as hsettings, strategies as st, HealthCheck


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(['--mode', 'quick', 'full', 'slow', '--force', '--accept', '--json', '-o', 'x.html', '--nope', '']), max_size=5))
def test_bench_any_arguments(tmp_path, monkeypatch, capsys, argv):
    "Any bench command line: exit 0, 1 (a one-line 'hwnb: error:') or 2 (argparse's usage); never a traceback."
    from hwnb import bench, cli
    monkeypatch.setenv('HWNB_CACHE_DIR', str(tmp_path/'cache'))
    monkeypatch.setattr(bench, '_sweep', _busy_sweep)
    monkeypatch.chdir(tmp_path)
    try: rc = cli.main(['bench', *argv])
    except SystemExit as e: rc = e.code
    out, err = capsys.readouterr()
    assert rc in (0, 1, 2) and 'Traceback' not in err
    if rc == 1: assert err.splitlines()[-1].startswith('hwnb: error: ')
