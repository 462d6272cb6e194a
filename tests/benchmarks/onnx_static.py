"""Static analysis of a generated 100,000-node ONNX graph with hwnb.onnx_graph.analyze (target: at most 2 s), with onnx-tool's time
on the same file beside it when onnx-tool is installed (`pip install onnx-tool`; it is not a project dependency).
Two references are measured in the same run, interleaved with it: the same analysis in one process (`workers=1`), and onnx's own
C++ shape inference of the file alone, the part of the work no Python code of hwnb's can shorten.

The graph is a chain of blocks on a (64, 256) fp32 activation: MatMul (shared 256x256 weight), Add, Relu, LayerNormalization,
Softmax, Mul, so every node has a formula. Run: python tests/benchmarks/onnx_static.py [--nodes N] [--repeat R]"""
import argparse, gc, os, statistics, subprocess, sys, tempfile, textwrap, time
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TARGET_S = 2.0          # the target for 100,000 nodes
BLOCK = ('MatMul', 'Add', 'Relu', 'LayerNormalization', 'Softmax', 'Mul')


def make_graph(n_nodes:int, rows:int=64, width:int=256) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((width, width)).astype(np.float32), 'w'),
             numpy_helper.from_array(np.zeros(width, np.float32), 'b'),
             numpy_helper.from_array(np.ones(width, np.float32), 's')]
    nodes, x = [], 'x'
    for i in range(n_nodes):
        op, y = BLOCK[i % len(BLOCK)], f't{i}'
        ins = {'MatMul': [x, 'w'], 'Add': [x, 'b'], 'Relu': [x], 'LayerNormalization': [x, 's', 'b'],
               'Softmax': [x], 'Mul': [x, 's']}[op]
        nodes.append(helper.make_node(op, ins, [y], name=f'/blocks.{i // len(BLOCK)}/{op}_{i}'))
        x = y
    g = helper.make_graph(nodes, 'chain', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [rows, width])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [rows, width])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', 20)])


ONNX_TOOL = textwrap.dedent("""
    import sys, time, io, contextlib
    import onnx_tool
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        m = onnx_tool.Model(sys.argv[1], {'verbose': False})
        g = m.graph
        g.graph_reorder_nodes()
        g.shape_infer()
        g.profile()
    print(time.perf_counter() - t)
""")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nodes', type=int, default=100_000)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--onnx-tool-timeout', type=float, default=300)
    a = ap.parse_args()
    from hwnb.onnx_graph import analyze
    t0 = time.perf_counter()
    model = make_graph(a.nodes)
    d = tempfile.mkdtemp()
    path = os.path.join(d, 'chain.onnx')
    onnx.save(model, path)
    print(f"generated {a.nodes} nodes in {time.perf_counter() - t0:.1f} s ({os.path.getsize(path) / 1e6:.1f} MB)")
    from hwnb.onnx_graph import _n_workers, PARALLEL_MIN_NODES
    raw = open(path, 'rb').read()
    times, cpu, serial, infer, df = [], [], [], [], None
    for _ in range(a.repeat):                        # interleaved, so a change in this VM's speed hits all three alike
        df = None; gc.collect()                      # free the previous run's table outside the timed region
        t, c = time.perf_counter(), time.process_time()
        df = analyze(path)                           # from the file: parse, check, shape inference, pricing, DataFrame
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
        df1 = None; gc.collect()
        t = time.perf_counter(); df1 = analyze(path, workers=1); serial.append(time.perf_counter() - t)
        t = time.perf_counter(); onnx.shape_inference.infer_shapes(raw, check_type=False, strict_mode=False, data_prop=True)
        infer.append(time.perf_counter() - t)
    assert len(df) == a.nodes and df['known'].all(), 'every node of the chain has a formula'
    assert df.equals(df1), 'the parallel and the one-process tables are the same'
    med, med1, medi = statistics.median(times), statistics.median(serial), statistics.median(infer)
    scale = 100_000 / a.nodes
    print(f"hwnb.onnx_graph.analyze ({_n_workers(None, a.nodes)} processes; forked slices from {PARALLEL_MIN_NODES} nodes): "
          f"median {med:.3f} s over {a.repeat} runs (min {min(times):.3f}, max {max(times):.3f} s); "
          f"target {TARGET_S} s for 100,000 nodes -> ratio {med * scale / TARGET_S:.2f} of the target "
          f"({'met' if med * scale <= TARGET_S else 'NOT met'}); total {df.flops.sum():.4g} FLOP")
    print(f"  one process (workers=1): median {med1:.3f} s (min {min(serial):.3f} s) -> the default is {med1 / med:.2f}x faster")
    print(f"  onnx's C++ shape inference alone: median {medi:.3f} s, {medi / med:.0%} of the default's time (a floor hwnb cannot lower)")
    print(f"  CPU time of the calling process: median {statistics.median(cpu):.3f} s (load average now {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores)")
    try:
        import onnx_tool  # noqa: F401
    except ImportError:
        print("onnx-tool: not installed (pip install onnx-tool to compare)"); return
    try:
        r = subprocess.run([sys.executable, '-c', ONNX_TOOL, path], capture_output=True, text=True, timeout=a.onnx_tool_timeout)
        if r.returncode: print(f"onnx-tool: failed ({(r.stderr.strip().splitlines() or ['?'])[-1]})"); return
        ot = float(r.stdout.strip().splitlines()[-1])
        print(f"onnx-tool {onnx_tool.VERSION if hasattr(onnx_tool, 'VERSION') else ''}: {ot:.3f} s on the same file "
              f"(load, shape inference, profile) -> hwnb is {ot / med:.1f}x faster")
    except subprocess.TimeoutExpired:
        print(f"onnx-tool: did not finish within {a.onnx_tool_timeout:.0f} s")


if __name__ == '__main__':
    main()
