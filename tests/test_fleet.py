"""hwnb.fleet and optimize.sweep(executor='ray') on a local Ray instance with 2 CPUs: the same metrics as the local sweep, failing and
dying variants recorded, a resume after the driver is killed, hwnb's instance shut down, nothing bound beyond 127.0.0.1, clear errors."""
import ast, json, os, signal, subprocess, sys, textwrap, threading, time
from pathlib import Path
import pytest

torch = pytest.importorskip('torch')
ray = pytest.importorskip('ray')
psutil = pytest.importorskip('psutil')
import torch.nn as nn
from hwnb import fleet, optimize as opt

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 300              # generous: the 2-core machine is shared, and Ray start-up alone can take 30 s
FAST = dict(memory=False, repeat=3, warmup=1, threads=1, progress=False)
LOOPBACK = ('127.0.0.1', '::ffff:127.0.0.1', '::1')


def run_py(code, env=None, timeout=TIMEOUT_S):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, 'PYTHONPATH': str(ROOT), **(env or {})})


# ---- without Ray running ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('mod', ['hwnb', 'hwnb.optimize', 'hwnb.fleet'])
def test_importing_does_not_import_ray(mod):
    r = run_py(f"import sys, {mod}; print('ray' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'False', f"import {mod} imported ray"


def test_optimize_never_imports_fleet():
    tree = ast.parse((ROOT / 'hwnb' / 'optimize.py').read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [(n.module or '') + ':' + ','.join(a.name for a in n.names) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert names and not [x for x in names if 'fleet' in x], names


def test_unreachable_address_is_a_clear_error():
    code = textwrap.dedent("""
        import torch, torch.nn as nn
        from hwnb import optimize as opt
        for addr in ('127.0.0.1:1', 'ray://127.0.0.1:1'):
            try: opt.sweep(nn.Linear(4, 4), torch.randn(2, 4), lambda m: 1.0, ['bf16'], executor='ray', ray_address=addr, progress=False)
            except ValueError as e: print('ValueError', e)
        import ray; print('initialized', ray.is_initialized())""")
    r = run_py(code, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count('ValueError cannot reach the Ray cluster') == 2, r.stdout
    assert f'within {opt.RAY_CONNECT_TIMEOUT_S} s' in r.stdout and 'initialized False' in r.stdout


def test_bad_ray_arguments():
    m = nn.Linear(4, 4)
    with pytest.raises(ValueError, match="executor='ray'"): opt.sweep(m, torch.randn(2, 4), lambda m: 1.0, ['bf16'], hw='h100-sxm')
    with pytest.raises(ValueError, match='executor'): opt.sweep(m, torch.randn(2, 4), lambda m: 1.0, ['bf16'], executor='dask')
    with pytest.raises(ValueError, match='num_tpus'): opt.sweep(m, torch.randn(2, 4), lambda m: 1.0, ['bf16'], executor='ray', resources={'num_tpus': 1})
    with pytest.raises(ValueError, match='distinct'): opt.sweep(m, torch.randn(2, 4), lambda m: 1.0, ['bf16'], executor='ray', hw=['a', 'a'])
    with pytest.raises(ValueError, match='MODULE:FACTORY'): opt.sweep('nomodule', executor='ray')


def fleet_rows():
    "Raw rows as a fleet sweep returns them: two hardware groups, each with its own baseline (latencies in s, made up)."
    row = lambda hw, v, lat, metric, size: dict(hw=hw, node=f'node-{hw}', variant=v, kind='baseline' if v == 'fp32' else 'cast', config='{}',
                                               status='ok', error='', latency_s=lat, size_bytes=size, metric=metric)
    return [row('a100-sxm-80gb', 'fp32', 2e-3, 0.95, 4000), row('a100-sxm-80gb', 'bf16', 1e-3, 0.95, 2000),
            row('h100-sxm', 'fp32', 1e-3, 0.95, 4000), row('h100-sxm', 'bf16', 4e-4, 0.90, 2000)]


def test_table_gate_chart_and_board_group_by_hw():
    from hwnb.optimize import Gate, Results, table
    g = Gate(0.02)
    res = Results(table(fleet_rows(), g), g)
    df = res.df
    assert list(df.columns[:2]) == ['hw', 'node']
    assert df.speedup.tolist() == pytest.approx([1.0, 2.0, 1.0, 2.5])          # each against its own hw's baseline
    assert df.reason.tolist()[::2] == ['baseline', 'baseline']
    assert df.passed.tolist() == [True, True, True, False]                      # h100 bf16 lost 5 %: beyond 2 %
    assert res.regate(0.1).df.passed.tolist() == [True, True, True, True]
    assert res.for_hw('h100-sxm').df.variant.tolist() == ['fp32', 'bf16']
    with pytest.raises(ValueError, match='h100-sxm'): res.for_hw('h100')
    c = res.chart()
    assert len(c.hconcat) == 2                                                  # one panel per hw
    pytest.importorskip('ipywidgets'); pytest.importorskip('anywidget')
    from hwnb.widgets import OptimizationBoard
    b = OptimizationBoard(res)
    assert 'a100-sxm-80gb' in b.w_table.value and 'h100-sxm' in b.w_table.value


# ---- one local Ray instance for the rest of this module ------------------------------------------------------------------------------

def tiny():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10)).eval()
    xs = torch.randn(256, 32, generator=torch.Generator().manual_seed(1))
    return m, xs, m(xs).argmax(-1).detach()


class Cluster:
    "hwnb's own local Ray instance (opt.ray_session with 2 CPUs), held open for this module and closed by the last test."
    def __init__(self):
        self.stack = __import__('contextlib').ExitStack()
        before = {p.pid for p in psutil.Process().children(recursive=True)}      # e.g. the browser tests' Chromium: not Ray's
        self.ray = self.stack.enter_context(opt.ray_session(num_cpus=2))
        self.children = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]   # what starting Ray added
        self.address = self.ray.get_runtime_context().gcs_address
        self.node = self.ray.get_runtime_context().get_node_id()


@pytest.fixture(scope='module')
def cluster():
    c = Cluster()
    yield c
    c.stack.close()


def test_same_metric_as_the_local_sweep(cluster, tmp_path):
    m, xs, labels = tiny()
    def agreement(model):
        with torch.no_grad(): return float((model(xs).argmax(-1) == labels).float().mean())
    names = ['bf16', 'int8-weight-only', 'prune-l1-50']
    local = opt.sweep(m, xs[:8], agreement, names, cache=tmp_path / 'local', **FAST)
    fleet_ = opt.sweep(m, xs[:8], agreement, names, cache=tmp_path / 'ray', executor='ray', **FAST)
    assert list(fleet_.df.variant) == ['fp32'] + names
    assert list(fleet_.df.status) == ['ok'] * 4, fleet_.df.error.tolist()
    assert fleet_.df.metric.tolist() == pytest.approx(local.df.metric.tolist(), abs=1e-9)
    assert fleet_.df.metric.iloc[-1] < 1.0                      # pruning half of a random network changes predictions: a real metric
    assert set(fleet_.df.node) == {cluster.node} and set(fleet_.df.hw) == {opt.node_hw()}
    assert (fleet_.df.size_bytes == local.df.size_bytes).all()
    assert fleet_.df.passed.tolist() == local.df.passed.tolist()
    again = opt.sweep(m, xs[:8], agreement, names, cache=tmp_path / 'ray', executor='ray', **FAST)
    assert again.df.cached.all()                                 # the driver cached every row
    cached = [json.loads(p.read_text())['row'] for p in (tmp_path / 'ray' / 'optimize').glob('*.json')]
    assert sorted(r['variant'] for r in cached) == sorted(['fp32'] + names) and all(r['node'] == cluster.node for r in cached)
    fleet_.chart(); fleet_.regate(0.5)                           # the chart and the gate work on fleet results


def test_failing_and_dying_variants_are_rows(cluster, tmp_path):
    m, xs, labels = tiny()
    def score(model):
        dt = next(model.parameters()).dtype
        if dt == torch.float16: raise RuntimeError('fp16 is not allowed here')
        if dt == torch.bfloat16: os._exit(3)                     # the worker process dies (as a segfault or an OOM kill would)
        with torch.no_grad(): return float((model(xs).argmax(-1) == labels).float().mean())
    r = opt.sweep(m, xs[:8], score, ['fp16', 'bf16', 'prune-l1-50'], cache=tmp_path, executor='ray', **FAST)
    row = r.df.set_index('variant')
    assert row.loc['fp16', 'status'] == 'failed' and 'fp16 is not allowed here' in row.loc['fp16', 'error']
    assert row.loc['bf16', 'status'] == 'failed' and 'worker process died' in row.loc['bf16', 'error']
    assert row.loc['fp32', 'status'] == 'ok' and row.loc['prune-l1-50', 'status'] == 'ok'
    assert not row.loc['bf16', 'passed'] and row.loc['bf16', 'reason'].startswith('failed')
    assert sorted(json.loads(p.read_text())['row']['variant'] for p in (tmp_path / 'optimize').glob('*.json')) == ['fp32', 'prune-l1-50']


RESUME = """
import os, sys, time, json, torch, torch.nn as nn
from hwnb import optimize as opt
CACHE, ADDR, BLOCK = sys.argv[1], sys.argv[2], sys.argv[3]
torch.manual_seed(0)
m = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10)).eval()
xs = torch.randn(256, 32, generator=torch.Generator().manual_seed(1))
labels = m(xs).argmax(-1).detach()
def score(model):
    if next(model.parameters()).dtype == torch.float16 and os.path.exists(BLOCK):
        open(BLOCK + '.started', 'w').close()
        time.sleep(120)                       # the driver is killed while this variant runs
    with torch.no_grad(): return float((model(xs).argmax(-1) == labels).float().mean())
r = opt.sweep(m, xs[:8], score, ['bf16', 'prune-l1-50', 'fp16', 'int8-weight-only'], cache=CACHE, executor='ray', ray_address=ADDR,
              memory=False, repeat=3, warmup=1, threads=1, progress=False)
print(json.dumps(r.df[['variant', 'status', 'cached', 'latency_s']].to_dict('records')))
"""


def test_resume_after_the_driver_is_killed(cluster, tmp_path):
    script, cache, block = tmp_path / 'resume.py', tmp_path / 'cache', tmp_path / 'block'
    script.write_text(RESUME)
    block.touch()
    args = [sys.executable, str(script), str(cache), cluster.address, str(block)]
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    files = lambda: sorted((cache / 'optimize').glob('*.json')) if (cache / 'optimize').exists() else []
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and p.poll() is None and not (Path(str(block) + '.started').exists() and files()):
        time.sleep(0.5)
    assert p.poll() is None, p.communicate()[1][-2000:]
    p.send_signal(signal.SIGKILL); p.wait()
    before = {json.loads(f.read_text())['row']['variant']: json.loads(f.read_text())['row']['latency_s'] for f in files()}
    assert 'fp32' in before and 'fp16' not in before
    block.unlink()
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = {x['variant']: x for x in json.loads(r.stdout.strip().splitlines()[-1])}
    assert all(x['status'] == 'ok' for x in rows.values())
    assert {v for v, x in rows.items() if x['cached']} == set(before)         # finished variants were not measured again...
    assert all(rows[v]['latency_s'] == lat for v, lat in before.items())      # ...their rows are the cached ones
    assert not rows['fp16']['cached']


def test_unknown_hw_lists_the_cluster(cluster):
    with pytest.raises(ValueError, match=r"no node of this Ray cluster has hardware 'h100-sxm'.*" + opt.node_hw()):
        opt.sweep(nn.Linear(4, 4).eval(), torch.randn(2, 4), lambda m: 1.0, ['bf16'], executor='ray', hw=['h100-sxm'], **FAST)
    with pytest.raises(ValueError, match='no node'):
        opt.sweep(nn.Linear(4, 4).eval(), torch.randn(2, 4), lambda m: 1.0, ['bf16'], executor='ray', resources={'num_gpus': 8}, **FAST)


class Locked(nn.Linear):
    "Copyable (it makes a new lock) but not picklable."
    def __init__(self):
        super().__init__(4, 4)
        self.lock = threading.Lock()
    def __deepcopy__(self, memo):
        m = Locked(); m.load_state_dict(self.state_dict()); return m


class Unique(nn.Linear):
    "Neither copyable nor picklable."
    def __init__(self):
        super().__init__(4, 4)
        self.lock = threading.Lock()


def test_unpicklable_model_points_to_the_factory(cluster):
    with pytest.raises(ValueError, match=r"the model \(Locked\) cannot be pickled.*factory"):
        opt.sweep(Locked().eval(), torch.randn(2, 4), lambda m: 1.0, ['bf16'], executor='ray', **FAST)
    with pytest.raises(ValueError, match=r"the model \(Unique\) cannot be copied.*factory"):
        opt.sweep(Unique().eval(), torch.randn(2, 4), lambda m: 1.0, ['bf16'], executor='ray', **FAST)


def test_hw_groups_and_factory(cluster, tmp_path):
    r = fleet.sweep('hwnb.fleet:digits', ['bf16'], hw=[opt.node_hw()], cache=tmp_path, **FAST)
    assert list(r.df.hw) == [opt.node_hw()] * 2 and list(r.df.status) == ['ok', 'ok']
    assert r.df.metric.iloc[0] > 0.9                                           # the bundled digits MLP's held-out accuracy
    assert r.for_hw(opt.node_hw()).df.variant.tolist() == ['fp32', 'bf16']


def test_ceilings_one_row_per_node(cluster):
    df = fleet.ceilings(progress=False)
    assert len(df) == 1 and df.node[0] == cluster.node and df.hw[0] == opt.node_hw()
    if df.status[0] == 'ok':
        assert df.peak_flops_fp32[0] > 0 and df.mem_bw_dram[0] > 0
        assert 'peak_flops_fp32_of_datasheet' in df
        fleet.chart(df)
    else:
        assert 'implausible' in df.error[0], df.error[0]          # the only way bench refuses a measurement (a busy machine)


def test_cli_fleet_sweep_and_ceilings(cluster, tmp_path):
    hwnb = str(Path(sys.executable).parent / 'hwnb')
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'HWNB_CACHE_DIR': str(tmp_path)}
    r = subprocess.run([hwnb, 'fleet', 'sweep', 'hwnb.fleet:digits', 'bf16', '--address', cluster.address, '--repeat', '3', '--no-memory',
                        '--json'], capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(r.stdout)
    assert [x['variant'] for x in rows] == ['fp32', 'bf16'] and {x['node'] for x in rows} == {cluster.node}
    assert [x['cached'] for x in rows] == [False, False] and len(list((tmp_path / 'optimize').glob('*.json'))) == 2
    r = subprocess.run([hwnb, 'fleet', 'ceilings', '--address', cluster.address, '--json'], capture_output=True, text=True,
                       timeout=TIMEOUT_S, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [x['node'] for x in json.loads(r.stdout)] == [cluster.node]


def test_nothing_listens_beyond_loopback(cluster):
    pids = {os.getpid()} | {p.pid for p in psutil.Process().children(recursive=True)}
    listening = [c for c in psutil.net_connections(kind='inet') if c.status == psutil.CONN_LISTEN and c.pid in pids]
    assert len({c.pid for c in listening}) >= 2, listening                  # the GCS and the raylet at least
    assert [c for c in listening if c.laddr.ip not in LOOPBACK] == []


def test_zz_hwnb_shuts_its_instance_down(cluster):
    procs = [p for p in cluster.children if p.is_running()]
    assert any('gcs_server' in p.name() or 'raylet' in p.name() for p in procs)
    cluster.stack.close()
    assert not ray.is_initialized()
    gone, alive = psutil.wait_procs(procs, timeout=60)
    assert alive == [], [p.name() for p in alive]
