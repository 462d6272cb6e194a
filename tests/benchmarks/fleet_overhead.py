"""The per-variant overhead of optimize.sweep(executor='ray') on a local Ray instance with 2 worker processes, against the local
sweep of the same model and variants in the same run. Ray's start-up is timed and printed apart. Figures to read, no assertion.

    python tests/benchmarks/fleet_overhead.py [--variants N] [--repeat R]
"""
import argparse, tempfile, time
import torch, torch.nn as nn
from hwnb import optimize as opt

VARIANTS = ['bf16', 'fp16', 'int8-weight-only', 'int8-dynamic', 'prune-l1-50', 'prune-ln-25']


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--variants', type=int, default=4, help=f'how many of {VARIANTS}')
    ap.add_argument('--repeat', type=int, default=10)
    a = ap.parse_args()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
    xs = torch.randn(512, 128)
    labels = model(xs).argmax(-1)
    def agreement(m):
        with torch.no_grad(): return float((m(xs).argmax(-1) == labels).float().mean())
    names, kw = VARIANTS[:a.variants], dict(memory=False, repeat=a.repeat, threads=1, progress=False)
    n = 1 + len(names)                                   # the baseline is measured too
    t0 = time.perf_counter()
    with opt.ray_session(num_cpus=2) as ray:
        t_start = time.perf_counter() - t0
        walls = {}
        for rnd in range(2):                             # interleaved: local, ray, local, ray; the first ray round warms the workers
            for ex in ('local', 'ray'):
                t = time.perf_counter()
                opt.sweep(model, xs[:32], agreement, names, cache=tempfile.mkdtemp(), executor=ex, **kw)
                walls.setdefault(ex, []).append(time.perf_counter() - t)
    t_all = time.perf_counter() - t0
    print(f"Ray start-up (local instance, 2 CPUs, 127.0.0.1): {t_start:.1f} s; shut-down included in the total {t_all:.1f} s")
    for ex, w in walls.items():
        print(f"{ex:>5} sweep of {n} variants: rounds {', '.join(f'{x:.2f} s' for x in w)}  ({min(w) / n * 1e3:.0f} ms per variant, best round)")
    over = (min(walls['ray']) - min(walls['local'])) / n
    print(f"overhead per variant on Ray (best rounds): {over * 1e3:+.0f} ms  (ratio {min(walls['ray']) / min(walls['local']):.2f}x)")


if __name__ == '__main__':
    main()
