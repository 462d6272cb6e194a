"Issue 19 item 20: profiling prints no USDT or kineto chatter, even after the process profiled on its own first."
import subprocess, sys, textwrap

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
