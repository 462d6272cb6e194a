"Issue 19 item 20: profiling prints no USDT or kineto chatter, even after the process profiled on its own first."
import subprocess, sys, textwrap
import pytest

CODE = textwrap.dedent('''
    import sys, torch
    from torch.profiler import profile as raw, ProfilerActivity
    if sys.argv[1] == 'raw-first':                 # kineto already started once without hwnb: its log level is fixed by now
        with raw(activities=[ProfilerActivity.CPU]): torch.ones(4).sum()
        print('--- hwnb from here', file=sys.stderr, flush=True)
    from hwnb import profiler
    net = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU())
    p = profiler.profile(net, torch.randn(2, 16), hw='epyc-9654', warmup=1, repeat=2)
    import warnings; warnings.warn('still visible')   # stderr itself works afterwards
    print(len(p.ops))
''')


def _stderr_after(mode):
    r = subprocess.run([sys.executable, '-c', CODE, mode], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stderr.split('--- hwnb from here')[-1]


def test_profile_is_quiet():
    err = _stderr_after('fresh')
    assert 'USDT' not in err and 'profiler_start' not in err, err
    assert 'still visible' in err


def test_profile_is_quiet_after_a_raw_profile():
    err = _stderr_after('raw-first')
    assert 'USDT' not in err and 'profiler_start' not in err, err
    assert 'still visible' in err


# --- every other path that profiles or measures: onnxruntime, torchao, the ONNX exporter, the LLM calibration, a sweep ---

CHATTER = ('USDT', 'profiler_start', 'Failed to load', 'natively supported', 'torchvision is not installed', 'pre-processing',
           '[W:onnxruntime', 'WARNING:root')

ONNX_MODEL = textwrap.dedent('''
    import numpy as np, onnx
    from onnx import helper, TensorProto
    W = helper.make_tensor('W', TensorProto.FLOAT, [16, 16], np.random.randn(256).astype('float32'))
    U = helper.make_tensor('U', TensorProto.FLOAT, [4], np.zeros(4, 'float32'))         # unused: onnxruntime warns that it removes it
    g = helper.make_graph([helper.make_node('MatMul', ['x', 'W'], ['y']), helper.make_node('Relu', ['y'], ['z'])], 'g',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 16]),
                           helper.make_tensor_value_info('W', TensorProto.FLOAT, [16, 16])],   # an initializer among the inputs: warned too
                          [helper.make_tensor_value_info('z', TensorProto.FLOAT, [2, 16])], [W, U])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]); model.ir_version = 8
    x = [np.random.randn(2, 16).astype('float32')]
''')

PATHS = {
    'onnx profile and quantize': ONNX_MODEL + textwrap.dedent('''
        import logging, sys, tempfile, pathlib
        from hwnb import onnx_profile
        p = onnx_profile.profile(model, x, hw='epyc-9654', device='cpu', opt_level='all', repeat=2)
        q = onnx_profile.quantize(model, pathlib.Path(tempfile.mkdtemp()) / 'q.onnx')
        c = onnx_profile.compare({'fp32': model, 'int8': q}, x, device='cpu', repeat=2)
        assert not logging.getLogger().handlers, logging.getLogger().handlers   # quantize left the root logger as it found it
        print(len(p.ops), len(c))
    '''),
    'torchao and onnx variants, a sweep that profiles': textwrap.dedent('''
        import tempfile, torch
        from hwnb import optimize, variants
        net = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU()).eval()
        r = optimize.sweep(net, (torch.randn(2, 16),), eval_fn=lambda m: 1.0, cache=tempfile.mkdtemp(), memory=False, progress=False,
                           variants=[variants.variant(n) for n in ('int8-dynamic', 'onnx-int8')], repeat=2, warmup=1)
        print(r.diff('int8-dynamic').shape, r.diff('onnx-int8').shape)
    '''),
    'llm calibration': textwrap.dedent('''
        from hwnb import llm_calibrate, models
        cfg = models.tiny_mistral()
        df = llm_calibrate.measure_steps(models.build(cfg).eval(), prompt_len=8, hw='epyc-9654', warmup=0, repeat=1, profile_repeat=1)
        print(len(df))
    '''),
}


@pytest.mark.parametrize('name', list(PATHS))
def test_other_paths_are_quiet(name):
    "onnxruntime's C++ warnings and its root-logger advice, torchao's .so lines, torch.onnx's 'torchvision' lines: none reach stderr."
    code = PATHS[name] + "\nimport warnings; warnings.warn('still visible')\n"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert not [c for c in CHATTER if c in r.stderr + r.stdout], r.stderr
    assert 'still visible' in r.stderr
