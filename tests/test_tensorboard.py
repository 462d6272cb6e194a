"TensorBoard's PyTorch profiler plugin (torch-tb-profiler) opens a trace written by hwnb.profile_io.export_tensorboard."
import json, os, shutil, socket, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
import pytest

pytest.importorskip('tensorboard', reason='tensorboard is not installed (pip install -e ".[tb]")')
pytest.importorskip('torch_tb_profiler', reason='torch-tb-profiler is not installed (pip install -e ".[tb]")')
torch = pytest.importorskip('torch')
from hwnb.models import build, example_input, tiny_cnn
from hwnb.profiler import profile
from hwnb.profile_io import export_tensorboard

PLUGIN = '/data/plugin/pytorch_profiler'   # torch_tb_profiler.consts.PLUGIN_NAME; routes from TorchProfilerPlugin.get_plugin_apps
START_S, LOAD_S = 60, 90                   # deadlines: the server answering, then the plugin having parsed the run
RUN, WORKER = 'tiny-cnn', 'worker0'
REPEAT = 2
N_CONV = None                              # set by the logdir fixture: nn.Conv2d modules in the model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r: return json.loads(r.read())


def poll(fn, deadline_s, proc, what):
    "Call `fn` until it returns something truthy; fail (with the server's log) after `deadline_s` or if the server exits."
    end = time.monotonic() + deadline_s
    while True:
        if proc.poll() is not None: pytest.fail(f'tensorboard exited with {proc.returncode} while waiting for {what}')
        try:
            v = fn()
            if v: return v
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError): pass
        if time.monotonic() > end: pytest.fail(f'tensorboard: no {what} after {deadline_s} s')
        time.sleep(0.5)


@pytest.fixture(scope='module')
def logdir(tmp_path_factory):
    "A logdir with one run, traced by hwnb.profiler.profile and written by export_tensorboard."
    global N_CONV
    cfg = tiny_cnn()
    model = build(cfg)
    N_CONV = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    prof = profile(model, example_input(cfg), hw='epyc-9654', warmup=1, repeat=REPEAT)
    d = tmp_path_factory.mktemp('tb')/'logdir'
    path = export_tensorboard(prof, d, run=RUN, worker=WORKER)
    assert path.parent == d/RUN and path.name.endswith('.pt.trace.json')
    return d


@pytest.fixture(scope='module')
def server(logdir):
    "`tensorboard` on 127.0.0.1 serving `logdir`; always terminated on teardown."
    exe = shutil.which('tensorboard', path=os.path.dirname(sys.executable)) or shutil.which('tensorboard')
    if exe is None: pytest.fail('the tensorboard package is installed but its `tensorboard` script is not on PATH')
    port = free_port()
    log = open(logdir.parent/'tensorboard.log', 'wb')
    proc = subprocess.Popen([exe, '--logdir', str(logdir), '--host', '127.0.0.1', '--port', str(port), '--load_fast=false'],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}'
    try:
        poll(lambda: get_json(f'{base}/data/plugins_listing'), START_S, proc, 'answer on the port')
        yield base, proc
    finally:
        proc.terminate()
        try: proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill(); proc.wait(timeout=10)
        log.close()


def _loaded(base):
    r = get_json(f'{base}{PLUGIN}/runs')
    return r if RUN in r['runs'] else None


def test_plugin_lists_and_parses_the_run(server):
    server, proc = server
    listing = get_json(f'{server}/data/plugins_listing')
    assert 'pytorch_profiler' in listing, f'the profiler plugin is not registered: {sorted(listing)}'
    runs = poll(lambda: _loaded(server), LOAD_S, proc, f'run {RUN!r} in {PLUGIN}/runs')  # the plugin loads runs in a thread
    assert RUN in runs['runs']
    # the run was parsed, not just found: its worker and the operator view exist, and the op table has the CNN's convolutions
    assert 'Operator' in get_json(f'{server}{PLUGIN}/views?run={RUN}')
    assert WORKER in get_json(f'{server}{PLUGIN}/workers?run={RUN}&view=Operator')
    spans = get_json(f'{server}{PLUGIN}/spans?run={RUN}&worker={WORKER}')
    assert len(spans) == 1, spans                                    # one trace file: export_tensorboard's timestamp is its span
    table = get_json(f'{server}{PLUGIN}/operation/table?run={RUN}&worker={WORKER}&span={spans[0]}&view=Operator&group_by=Operation')
    calls = {r['name']: r['calls'] for r in table['data']}
    assert calls.get('aten::convolution') == N_CONV * REPEAT, calls   # every profiled run is in the trace
