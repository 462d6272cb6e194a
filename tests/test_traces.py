"hwnb.traces on the shared real Kineto traces (against their README's reference figures and HTA), on hand-written traces, and on a CPU torch.profiler trace."
import gzip, json, math, os, subprocess, sys, warnings
from decimal import Decimal
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, shared_or_skip
from hwnb import traces

# ../shared/traces/README.md ("The traces", "Reference figures") and more/README.md: GPU events per rank (kernel, memcpy, memset),
# kernel time per kind and the breakdown in ms, and the share of kernel time linkable to a cpu_op.
REFERENCE = {  # folder: {rank: (counts, (compute, communication, memory) kernel ms, (compute, comm, memory, idle) breakdown ms, linked)}
    'hta_sampled_2rank': {0: ((1154, 40, 10), (210.320, 396.199, 1.325), (210.320, 336.983, 0.353, 675.191), 0.999),
                          1: ((1104, 40, 10), (271.973, 379.053, 16.504), (271.973, 303.523, 4.554, 651.136), 0.999)},
    'h100_qwen1.5-0.5b_inference': {0: ((1465, 1, 241), (45.433, 0, 0.215), (45.433, 0, 0.215, 4.006), 0.699)},
    'a100_alexnet': {0: ((79, 16, 3), (10.692, 0, 55.511), (10.630, 0, 55.511, 12854.103), 1.0)},
    'mi300x_bert-small_inference': {0: ((60, 1, 0), (0.388, 0, 0.002), (0.388, 0, 0.002, 3.105), 1.0)},
    'v100_rank1_of_2': {1: ((9876, 4856, 900), (550.517, 251.341, 161.904), (548.148, 73.298, 96.497, 27.296), 0.929)},
}
MORE_EVENTS = {  # more/README.md: folder -> (ranks, GPU events over all ranks)
    'param_dlrm_8rank': (list(range(8)), 2244), 'h100_owlv2_inference': ([0], 5165), 'b200_eager_rank0_of_8': ([0], 929),
    'mi300x_resnet_actckpt_rank0_of_8': ([0], 3653), 'a100_rank3_of_8': ([3], 9450), 'a100_80gb_rank0_of_16': ([0], 7747),
    'v100_ns_resolution': ([0], 6095), 'rtx2080ti_resnet50': ([0], 10113), 'vllm_hipgraph_decode': ([0], 434),
    'v100_rank1_of_2_ddp': ([1], 22290),
}
ALL = list(REFERENCE) + [f'more/{k}' for k in MORE_EVENTS]
_cache = {}

def trace(name):
    if name not in _cache: _cache[name] = traces.load(shared_or_skip('traces', *name.split('/')))
    return _cache[name]

def raw_sums(path) -> dict:
    "rank -> {kind: ms}, summed over the raw events with a plain parser and the README's definitions (independent of hwnb)."
    out = {}
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    for f in files:
        if not f.name.endswith('.gz'): continue
        d = json.load(gzip.open(f))
        r = (d.get('distributedInfo') or {}).get('rank', 0)
        s = out.setdefault(r, {'compute': 0.0, 'communication': 0.0, 'memory': 0.0})
        for e in d['traceEvents']:
            if e.get('ph') != 'X' or e.get('cat') not in ('kernel', 'gpu_memcpy', 'gpu_memset'): continue
            k = 'memory' if e['cat'] != 'kernel' else 'communication' if 'nccl' in e['name'].lower() else 'compute'
            s[k] += float(e['dur']) / 1e3
    return out

# ---------------------------------------------------------------- real traces: the README's figures

@pytest.mark.parametrize('name', list(REFERENCE))
def test_reference_counts_times_breakdown_and_links(name):
    t = trace(name)
    assert t.ranks == sorted(REFERENCE[name])
    k = t.kernels
    for r, (counts, kt, bd, linked) in REFERENCE[name].items():
        kr = k[k['rank'] == r]
        assert tuple(int((kr['category'] == c).sum()) for c in traces.GPU_CATEGORIES) == counts
        for kd, ms in zip(('compute', 'communication', 'memory'), kt):
            assert kr.loc[kr['kind'] == kd, 'dur_us'].sum() / 1e3 == pytest.approx(ms, abs=1.5e-3)
        b = t.breakdown().loc[r]
        for col, ms in zip(('compute_s', 'communication_s', 'memory_s', 'idle_s'), bd):
            assert b[col] * 1e3 == pytest.approx(ms, abs=1.5e-3, rel=1e-4), col
        assert b[['compute_s', 'communication_s', 'memory_s', 'idle_s']].sum() == pytest.approx(b['span_s'], rel=1e-12)
        share = kr.loc[kr['link'] == 'op', 'dur_us'].sum() / kr['dur_us'].sum()
        assert share == pytest.approx(linked, abs=1e-3)


@pytest.mark.parametrize('name', ALL)
def test_counts_and_kernel_time_per_kind_match_the_raw_events(name):
    t = trace(name)
    if name.startswith('more/'):
        ranks, n = MORE_EVENTS[name[5:]]
        assert t.ranks == ranks and len(t.kernels) == n
    raw = raw_sums(shared_or_skip('traces', *name.split('/')))
    kind = t.kernels['kind'].where(~t.kernels['name'].str.contains('multimem'), 'compute')   # the plain sum calls non-NCCL collectives compute
    got = t.kernels.assign(kind=kind).groupby(['rank', 'kind'])['dur_us'].sum() / 1e3
    for r, per in raw.items():
        for kd, ms in per.items():
            assert got.get((r, kd), 0.0) == pytest.approx(ms, rel=5e-3, abs=1e-9), (r, kd)


@pytest.mark.parametrize('name', ALL)
def test_ops_sum_to_linked_time_and_follow_the_schema(name):
    t = trace(name)
    o = t.ops
    linked = t.kernels.loc[t.kernels['link'] == 'op', 'dur_us'].sum() * 1e-6
    assert o['time_s'].sum() == pytest.approx(linked, rel=1e-9)
    assert len(o) == t.kernels.loc[t.kernels['link'] == 'op', ['rank', 'op_id']].drop_duplicates().shape[0]
    from hwnb import core
    core.check_ops(o, 'timed')
    for c in core.OP_SCHEMA:
        if c != 'phase': assert c in o, c
    assert 'rank' in o and set(o['source']) <= {'measured'}
    assert o.loc[~o['known'], 'flops'].isna().all()                                  # unknown is NaN, never 0
    b = o['bytes'].to_numpy(float)
    assert np.array_equal(np.isnan(o['intensity']), np.isnan(b) | (b == 0) | np.isnan(o['flops'].to_numpy(float)))
    assert set(o['bound'].dropna()) <= {'compute', 'memory'}


def test_no_shapes_means_every_flops_is_nan():
    t = trace('a100_alexnet')
    o = t.ops
    assert len(o) and o['flops'].isna().all() and not o['known'].any() and (t.op_notes == 'not rebuilt: no shapes recorded').all()


def test_nccl_ops_keep_nan_flops():
    o = trace('more/a100_rank3_of_8').ops
    comm = o[o['op'] == 'record_param_comms']
    assert len(comm) and comm['flops'].isna().all() and not comm['known'].any()


def test_gemms_are_priced_from_their_recorded_shapes():
    t = trace('h100_qwen1.5-0.5b_inference')
    o = t.ops
    mm = o[o['op'] == 'aten.mm.default']
    assert len(mm) > 10 and mm['known'].all() and (mm['dtype'] == 'bf16').all()
    # each row's FLOPs are 2·m·k·n of a raw aten::mm event with that row's shape, read with a plain parser
    path = next(shared_or_skip('traces', 'h100_qwen1.5-0.5b_inference').iterdir())
    raw = {}
    for e in json.load(gzip.open(path))['traceEvents']:
        if e.get('cat') == 'cpu_op' and e['name'] == 'aten::mm':
            (m, k), (k2, n) = e['args']['Input Dims'][:2]
            raw.setdefault((m, k), set()).add(2 * m * k2 * n)
    for row in mm.itertuples(): assert row.flops in raw[row.shape]
    assert mm['roof_fraction'].between(0, 1.2).all() and set(mm['bound']) <= {'compute', 'memory'}
    assert t.hw[0].name == 'h100-sxm' and t.device[0] == 'NVIDIA H100 80GB HBM3'
    assert o['module'].str.startswith('Qwen2Model_0').mean() > 0.9    # the nn.Module hierarchy is recorded


def test_ranks_devices_and_chips():
    assert trace('hta_sampled_2rank').device == {0: None, 1: None} and trace('hta_sampled_2rank').hw == {0: None, 1: None}
    assert trace('v100_rank1_of_2').ranks == [1] and trace('more/a100_rank3_of_8').ranks == [3]
    assert trace('more/vllm_hipgraph_decode').device == {0: ''}
    assert trace('more/a100_80gb_rank0_of_16').hw[0].name == 'a100-sxm-80gb'
    assert trace('more/b200_eager_rank0_of_8').hw[0].name == 'b200' and trace('mi300x_bert-small_inference').hw[0].name == 'mi300x'
    t = traces.load(shared_or_skip('traces', 'a100_alexnet'), hw='a100-sxm-40gb')
    assert t.hw[0].name == 'a100-sxm-40gb' and t.ops['roof_fraction'].isna().all()      # no shapes: nothing to place


def test_graph_replays_and_missing_launches_are_unlinked():
    k = trace('more/vllm_hipgraph_decode').kernels
    share = k.groupby('link')['dur_us'].sum() / k['dur_us'].sum()
    assert share['no_op'] > 0.96 and k.loc[k['link'] != 'op', 'op'].isna().all()
    q = trace('h100_qwen1.5-0.5b_inference').quirks
    row = q[q['quirk'].str.startswith('kernels without a launch')].iloc[0]
    assert row['events'] == 509
    alex = trace('a100_alexnet').quirks
    assert alex[alex['quirk'].str.startswith('cuda_sync')].iloc[0]['events'] == 41


# the figures of the notebook's quirk table (nbs/03c_traces.ipynb): kernels without a launch, and launches outside every cpu_op
QUIRKS = {'v100_rank1_of_2': (614, 5.86, 48, 1.27), 'more/a100_80gb_rank0_of_16': (872, 13.23, 90, 7.12),
          'more/mi300x_resnet_actckpt_rank0_of_8': (968, 31.76, 0, 0.0), 'more/vllm_hipgraph_decode': (0, 0.0, 421, 96.93)}

@pytest.mark.parametrize('name', list(QUIRKS))
def test_quirk_table_figures(name):
    t = trace(name)
    q = t.quirks.set_index('quirk')
    total = t.kernels['dur_us'].sum() * 1e-6
    n_l, pct_l, n_o, pct_o = QUIRKS[name]
    nl = q[q.index.str.startswith('kernels without a launch')].iloc[0]
    no = q[q.index.str.startswith('kernels whose launch no cpu_op')].iloc[0]
    assert (nl['events'], no['events']) == (n_l, n_o)
    assert 100 * nl['time_s'] / total == pytest.approx(pct_l, abs=0.01) and 100 * no['time_s'] / total == pytest.approx(pct_o, abs=0.01)
    assert (t.kernels['link'] == 'no_launch').sum() == n_l and (t.kernels['link'] == 'no_op').sum() == n_o


def test_symmetric_memory_collectives_are_communication():
    k = trace('more/b200_eager_rank0_of_8').kernels
    mm = k[k['name'].str.contains('multimem_all_reduce')]
    assert len(mm) == 73 and (mm['kind'] == 'communication').all()
    assert k.loc[k['kind'] == 'communication', 'name'].str.contains('multimem|nccl').all() and (k['kind'] == 'communication').sum() == 74
    assert (mm['op'] == 'symm_mem::multimem_all_reduce_').all()


def test_absolute_timestamps_keep_their_ns_digits():
    path = next(shared_or_skip('traces', 'more', 'v100_ns_resolution').iterdir())
    d = json.loads(gzip.open(path).read(), parse_float=Decimal)
    ev = [e for e in d['traceEvents'] if e.get('ph') == 'X' and e.get('cat') in traces.GPU_CATEGORIES]
    ts = [Decimal(e['ts']) for e in ev]
    t = trace('more/v100_ns_resolution')
    base = Decimal(min(ts)) - Decimal(repr(float(t.kernels['start_us'].min())))
    exact = np.array([float(x - base) for x in ts])
    assert np.abs(t.kernels['start_us'].to_numpy() - exact).max() < 1e-6       # ns digits kept (float64 of 1.7e15 µs spaces 0.25 µs)


# ---------------------------------------------------------------- against HTA

HTA_TRACES = ['hta_sampled_2rank', 'h100_qwen1.5-0.5b_inference', 'a100_alexnet', 'mi300x_bert-small_inference', 'v100_rank1_of_2',
              'more/param_dlrm_8rank', 'more/b200_eager_rank0_of_8', 'more/v100_ns_resolution', 'more/a100_rank3_of_8']

@pytest.fixture
def hta(monkeypatch):
    pytest.importorskip('hta')
    import logging
    from hta.common.trace import Trace as HTATrace
    from hta.trace_analysis import TraceAnalysis
    monkeypatch.setenv('HTA_DISABLE_NS_ROUNDING', '1')                                  # HTA otherwise rounds float-µs events to whole µs
    monkeypatch.setattr(HTATrace, '_filter_irrelevant_gpu_kernels', lambda self, *a, **k: None)   # keep every kernel, as hwnb does
    logging.disable(logging.WARNING)
    yield TraceAnalysis
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize('name', HTA_TRACES)
def test_breakdown_matches_hta_within_2_percent(name, hta):
    path = shared_or_skip('traces', *name.split('/'))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        a = hta(trace_dir=str(path))
        ref = a.get_temporal_breakdown(visualize=False).set_index('rank')
        ov = a.get_comm_comp_overlap(visualize=False).set_index('rank')
    b = trace(name).breakdown()
    for r in b.index:
        ours = b.loc[r]
        compute = ours['compute_s'] + (ours['communication_s'] if 'b200' in name else 0)   # HTA calls multimem_all_reduce compute
        noncomp = ours['memory_s'] + (0 if 'b200' in name else ours['communication_s'])
        span = ours['span_s'] * 1e6
        for mine, theirs in ((compute * 1e6, ref.loc[r, 'compute_time(us)']), (noncomp * 1e6, ref.loc[r, 'non_compute_time(us)']),
                             (ours['idle_s'] * 1e6, ref.loc[r, 'idle_time(us)'])):
            assert mine == pytest.approx(theirs, rel=0.02, abs=1e-3 * span)
        if ours['communication_s'] > 0 and 'b200' not in name:
            assert 100 * ours['comm_overlap'] == pytest.approx(ov.loc[r, 'comp_comm_overlap_pctg'], rel=0.02, abs=0.5)

# ---------------------------------------------------------------- hand-written traces

def X(cat, name, ts, dur, pid=1, tid=1, **args):
    return dict(ph='X', cat=cat, name=name, ts=ts, dur=dur, pid=pid, tid=tid, args=args)

def write(path, events, **top):
    path.write_text(json.dumps({'schemaVersion': 1, **top, 'traceEvents': events}))
    return path


def test_linking_goes_through_the_correlation_and_the_innermost_op_on_the_launch_thread(tmp_path):
    ev = [X('cpu_op', 'aten::linear', 0, 100, **{'External id': 1}), X('cpu_op', 'aten::addmm', 10, 50, **{'External id': 2}),
          X('cuda_runtime', 'cudaLaunchKernel', 20, 5, correlation=7),            # inside addmm (innermost)
          X('cuda_runtime', 'cudaLaunchKernel', 70, 5, correlation=8),            # inside linear only
          X('cuda_runtime', 'cudaLaunchKernel', 30, 5, tid=2, correlation=9),     # another thread: no op there
          X('cuda_driver', 'cuLaunchKernel', 80, 5, correlation=10),
          # a kernel's External id equals another op's id: the join must not use it
          X('kernel', 'gemm', 200, 10, 0, 7, stream=7, device=0, correlation=7, **{'External id': 1}),
          X('kernel', 'bias', 210, 10, 0, 7, stream=7, device=0, correlation=8, **{'External id': 2}),
          X('kernel', 'k3', 220, 10, 0, 7, stream=7, device=0, correlation=9),
          X('kernel', 'k4', 230, 10, 0, 8, stream=8, device=0, correlation=10),
          X('kernel', 'early', 5, 3, 0, 7, stream=7, device=0, correlation=1),   # launched before the CPU window
          {'ph': 's', 'cat': 'ac2g', 'id': 7, 'ts': 20, 'pid': 1, 'tid': 1}]       # flow events are not needed
    t = traces.load(write(tmp_path/'t.json', ev))
    k = t.kernels.set_index('name')
    assert k.loc['gemm', 'op'] == 'aten::addmm' and k.loc['bias', 'op'] == 'aten::linear' and k.loc['k4', 'op'] == 'aten::linear'
    assert k.loc['k3', 'link'] == 'no_op' and k.loc['k3', 'op'] is None and k.loc['early', 'link'] == 'no_launch'
    assert t.ranks == [0] and t.device == {0: None} and t.hw == {0: None}
    assert sorted(t.ops['op']) == ['aten.addmm.default', 'aten.linear.default']
    assert t.ops.set_index('op').loc['aten.linear.default', 'n_kernels'] == 2
    assert t.ops['time_s'].sum() == pytest.approx(30e-6)
    assert (t.ops['module'] == traces.NO_MODULE).all()


def test_breakdown_over_streams_matches_a_brute_force_grid(tmp_path):
    rng = np.random.default_rng(0)
    ev, grid = [], {}
    cats = [('kernel', 'gemm'), ('kernel', 'ncclKernel_AllReduce'), ('gpu_memcpy', 'Memcpy HtoD'), ('gpu_memset', 'Memset')]
    for i in range(60):
        cat, name = cats[rng.integers(4)]
        s, d = int(rng.integers(0, 400)), int(rng.integers(1, 40))
        ev.append(X(cat, name, 1_000_000 + s, d, 0, int(rng.integers(3)), stream=int(rng.integers(3)), device=0, correlation=1000 + i))
    t = traces.load(write(tmp_path/'g.json', ev))
    cover = {k: np.zeros(500, bool) for k in ('compute', 'communication', 'memory')}
    for e in ev:
        cover[traces.kind(e['cat'], e['name'])][e['ts'] - 1_000_000:e['ts'] - 1_000_000 + e['dur']] = True
    lo = min(e['ts'] for e in ev) - 1_000_000; hi = max(e['ts'] + e['dur'] for e in ev) - 1_000_000
    c, m, x = cover['compute'], cover['communication'], cover['memory']
    b = t.breakdown().loc[0] * 1e6
    assert b['compute_s'] == pytest.approx(c.sum()) and b['communication_s'] == pytest.approx((m & ~c).sum())
    assert b['memory_s'] == pytest.approx((x & ~c & ~m).sum()) and b['idle_s'] == pytest.approx((hi - lo) - (c | m | x).sum())
    assert t.breakdown().loc[0, 'comm_overlap'] == pytest.approx((m & c).sum() / m.sum())


def test_ranks_devices_and_modules_from_the_metadata(tmp_path):
    props = [{'id': 0, 'name': 'NVIDIA H100 80GB HBM3'}, {'id': 1, 'name': 'NVIDIA A100-SXM4-80GB'}]
    ev = [X('python_function', 'nn.Module: Net_0', 0, 100), X('python_function', 'nn.Module: Linear_1', 5, 50),
          X('cpu_op', 'aten::mm', 10, 20, **{'Input Dims': [[8, 16], [16, 4]], 'Input type': ['float', 'float']}),
          X('cuda_runtime', 'cudaLaunchKernel', 12, 2, correlation=3),
          X('cpu_op', 'aten::relu', 60, 10, **{'Input Dims': [[8, 4]], 'Input type': ['float']}),
          X('cuda_runtime', 'cudaLaunchKernel', 62, 2, correlation=4),
          X('kernel', 'gemm', 100, 4, 0, 7, stream=7, device=1, correlation=3), X('kernel', 'relu', 110, 1, 0, 7, stream=7, device=1, correlation=4)]
    t = traces.load(write(tmp_path/'r.json', ev, distributedInfo={'rank': 3}, deviceProperties=props))
    assert t.ranks == [3] and t.device == {3: 'NVIDIA A100-SXM4-80GB'} and t.hw[3].name == 'a100-sxm-80gb'   # its own GPU, not the first listed
    o = t.ops.set_index('op')
    assert o.loc['aten.mm.default', 'module'] == 'Net_0.Linear_1' and o.loc['aten.relu.default', 'module'] == 'Net_0'
    assert o.loc['aten.mm.default', 'flops'] == 2 * 8 * 16 * 4 and o.loc['aten.relu.default', 'flops'] == 8 * 4
    assert o.loc['aten.mm.default', 'dtype'] == 'fp32' and o.loc['aten.mm.default', 'shape'] == (8, 16)
    t2 = traces.load(write(tmp_path/'e.json', ev, deviceProperties=[{'id': 1, 'name': ''}]), hw={0: 'h100-sxm'})
    assert t2.device == {0: ''} and t2.hw[0].name == 'h100-sxm'
    with pytest.raises(ValueError, match='ranks'): traces.load(tmp_path/'e.json', hw={5: 'h100-sxm'})


def test_absolute_float_timestamps_are_subtracted_exactly(tmp_path):
    base = '1712195495519689'
    ev = [X('kernel', 'a', 0, 0.001, 0, 7, stream=7, device=0, correlation=1), X('kernel', 'b', 0, 0.002, 0, 7, stream=7, device=0, correlation=2)]
    text = json.dumps({'traceEvents': ev}).replace('"ts": 0,', f'"ts": {base}.123,', 1).replace('"ts": 0,', f'"ts": {base}.124,', 1)
    (tmp_path/'abs.json').write_text(text)
    t = traces.load(tmp_path/'abs.json')
    assert t.kernels['start_us'].tolist() == pytest.approx([0.0, 0.001], abs=1e-9)   # float64 parsing would give 0 or 0.25
    assert t.breakdown().loc[0, 'span_s'] == pytest.approx((0.001 + 0.002) * 1e-6, rel=1e-6)


def test_bad_input_raises_valueerror_naming_the_file(tmp_path):
    good = json.dumps(traces.example())
    (tmp_path/'cut.json').write_text(good[:len(good) // 2])
    gz = gzip.compress(good.encode())
    (tmp_path/'cut.json.gz').write_bytes(gz[:len(gz) // 2])
    (tmp_path/'corrupt.json.gz').write_bytes(gz[:20] + b'\x00' * 50 + gz[70:])
    (tmp_path/'notgz.json.gz').write_bytes(b'{"traceEvents": []}')
    (tmp_path/'nottrace.json').write_text('{"hello": 1}')
    (tmp_path/'list.json').write_text('[]')
    (tmp_path/'badts.json').write_text(json.dumps({'traceEvents': [X('kernel', 'k', 'soon', 1)]}))
    (tmp_path/'notrace.txt').write_text('x')
    (tmp_path/'badargs.json').write_text(json.dumps({'traceEvents': [{**X('kernel', 'k', 1, 1), 'args': [1]}]}))
    for f in ('cut.json', 'cut.json.gz', 'corrupt.json.gz', 'notgz.json.gz', 'nottrace.json', 'list.json', 'badts.json', 'badargs.json', 'notrace.txt', 'missing.json'):
        with pytest.raises(ValueError, match=f.replace('.', r'\.')): traces.load(tmp_path/f)
    empty = tmp_path/'empty'; empty.mkdir()
    with pytest.raises(ValueError, match='no trace files'): traces.load(empty)
    folder = tmp_path/'ranks'; folder.mkdir()
    (folder/'r0.json').write_text(json.dumps(traces.example(0)))
    (folder/'r1.json.gz').write_bytes(gzip.compress(json.dumps(traces.example(1)).encode())[:-30])
    with pytest.raises(ValueError, match=r'r1\.json\.gz'): traces.load(folder)
    (folder/'r1.json.gz').write_bytes(gzip.compress(json.dumps(traces.example(0)).encode()))
    with pytest.raises(ValueError, match='rank 0 also in'): traces.load(folder)
    (folder/'r1.json.gz').write_bytes(gzip.compress(json.dumps(traces.example(1, world_size=4)).encode()))
    with pytest.warns(UserWarning, match='different runs'): t = traces.load(folder)
    assert t.ranks == [0, 1]


def test_summary_top_and_unplaced(tmp_path):
    t = traces.load(write(tmp_path/'s.json', traces.example()['traceEvents'], deviceProperties=[{'id': 0, 'name': 'NVIDIA H100 80GB HBM3'}]))
    s = t.summary()
    assert isinstance(s, pd.Series) and s['kernels'] == 4 and s['top_kernel'].startswith('ncclDevKernel')
    assert s['top_kernel_share'] == pytest.approx(50 / 110) and s['linked_share'] == pytest.approx(90 / 110)
    top = t.top(5, 'op')
    assert top['share'].sum() == pytest.approx(90 / 110) and top.set_index('op').loc['c10d.allreduce_.default', 'n_unknown'] == 1
    assert np.isnan(top.set_index('op').loc['c10d.allreduce_.default', 'flops'])
    u = t.unplaced()
    assert u['share'].sum() == pytest.approx(70 / 110)
    spec = t.roofline().to_dict()
    assert '64% of GPU time not placed' in str(spec['title'])
    with pytest.raises(ValueError, match='rank 9'): t.roofline(rank=9)
    with pytest.raises(ValueError, match='matches no catalog chip'): traces.load(write(tmp_path/'n.json', traces.example()['traceEvents'])).roofline()


# ---------------------------------------------------------------- a CPU torch.profiler trace

def test_a_cpu_torch_profiler_trace(tmp_path):
    torch = pytest.importorskip('torch')
    from torch.profiler import ProfilerActivity, profile
    x, w = torch.randn(32, 64), torch.randn(64, 16)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as p:
        for _ in range(3): torch.relu(x @ w)
    p.export_chrome_trace(str(tmp_path/'cpu.pt.trace.json'))
    t = traces.load(tmp_path/'cpu.pt.trace.json')
    assert t.ranks == [0] and len(t.kernels) == 0 and len(t.ops) == 0 and t.device == {0: None}
    b = t.breakdown().loc[0]
    assert b[['compute_s', 'communication_s', 'memory_s', 'idle_s', 'span_s']].tolist() == [0.0] * 5 and math.isnan(b['comm_overlap'])
    assert t.summary()['kernels'] == 0 and t.summary()['ops'] == 0
    # its cpu_ops carry shapes: a recorded aten::mm prices like hwnb.profiler's count of it
    ev = json.loads((tmp_path/'cpu.pt.trace.json').read_text())['traceEvents']
    mm = next(e for e in ev if e.get('cat') == 'cpu_op' and e['name'] == 'aten::mm')
    f, b_, known, _ = traces.price([(mm['name'], mm['args'])])
    from hwnb.profiler import count
    class M(torch.nn.Module):
        def forward(self, a): return a @ w
    c = count(M(), x)
    assert known[0] and f[0] == c.loc[c.op == 'aten.mm.default', 'flops'].sum() and b_[0] == c.loc[c.op == 'aten.mm.default', 'bytes'].sum()

# ---------------------------------------------------------------- light import, no torch

def test_import_without_torch_and_unknown_ops_without_it(tmp_path):
    (tmp_path/'t.json').write_text(json.dumps(traces.example()))
    code = ("import sys; import hwnb.traces as tr; assert 'torch' not in sys.modules, 'imported torch';"
            "sys.modules['torch'] = None; t = tr.load(sys.argv[1]); o = t.ops;"
            "assert len(o) == 2 and not o.known.any() and o.flops.isna().all() and t.op_notes.str.contains('torch is not installed').all()")
    r = subprocess.run([sys.executable, '-c', code, str(tmp_path/'t.json')], capture_output=True, text=True,
                       env={**os.environ, 'PYTHONPATH': str(ROOT)}, timeout=120)
    assert r.returncode == 0, r.stderr

# ---------------------------------------------------------------- diff, ProfileExplorer, CLI

def test_diff_between_traces_and_against_a_profile(tmp_path):
    pytest.importorskip('torch')
    from hwnb.profile_io import diff
    from hwnb.profiler import profile
    a = traces.load(shared_or_skip('traces', 'h100_qwen1.5-0.5b_inference'))
    d = diff(a, a).set_index('op')
    assert (d['d_time_s'].abs() < 1e-15).all() and d.loc['aten.mm.default', 'd_flops'] == 0
    assert d['n_unknown_before'].sum() == int((~a.ops['known']).sum())
    assert np.isnan(d.loc[d['n_unknown_before'] == d['calls_before'], 'flops_before']).all()   # all-unknown groups: NaN, not 0
    import torch
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU())
    pr = profile(net, torch.randn(8, 64), hw='epyc-9654', warmup=0, repeat=1)
    dp = diff(a, pr).set_index('op')
    assert 'aten.addmm.default' in dp.index and dp.loc['aten.addmm.default', 'calls_after'] == 1
    assert dp.loc['aten.addmm.default', 'calls_before'] == (a.ops['op'] == 'aten.addmm.default').sum()


def test_profile_explorer_takes_a_trace():
    pytest.importorskip('ipywidgets')
    from hwnb.widgets import ProfileExplorer
    t = trace('h100_qwen1.5-0.5b_inference')
    pe = ProfileExplorer(t, hw=t.hw[0])
    assert len(pe.ops) == len(t.ops) and pe.hw.name == 'h100-sxm'
    assert len(pe.table()) > 0 and pe.view()['time_s'].iloc[0] == t.ops['time_s'].max()


def test_cli_writes_the_offline_report(tmp_path, capsys):
    from hwnb.cli import main
    path = shared_or_skip('traces', 'hta_sampled_2rank')
    assert main(['trace', str(path), '-o', str(tmp_path/'r.html')]) == 0
    html = (tmp_path/'r.html').read_text()
    assert 'Breakdown' in html and 'ncclKernel' in html and 'vegaEmbed' not in html     # no chip: no roofline chart, said in words
    assert 'no catalog chip' in html
    out = capsys.readouterr().out
    assert 'r.html' in out and 'rank' in out
    q = shared_or_skip('traces', 'h100_qwen1.5-0.5b_inference')
    assert main(['trace', str(q), '-o', str(tmp_path/'q.html')]) == 0
    assert 'vegaEmbed' in (tmp_path/'q.html').read_text()
    assert main(['trace', str(tmp_path/'nothing.json')]) == 1 and 'nothing.json' in capsys.readouterr().err
