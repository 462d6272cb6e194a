"""Overhead of hwnb's profiler against torch's own tools, same model, same run (prints ratios; not a test).

  count()   vs FlopCounterMode alone                                   target <= 1.2x
  profile() vs torch.profiler(record_shapes=True, with_flops=True)      target <= 1.5x
            (same warm-up and repeats; the reference also builds key_averages(), the table a user reads)

Usage: python tests/benchmarks/profiler_overhead.py [--threads 1] [--reps 5]
"""
import argparse, statistics, time
import torch
from torch.utils.flop_counter import FlopCounterMode
from hwnb.models import build, example_input, tiny_mistral, tiny_mixtral, tiny_cnn
from hwnb.opcost import sdpa_cpu_flop
from hwnb.profiler import count, profile

CPU_SDPA = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: sdpa_cpu_flop}
WARMUP, REPEAT = 2, 5     # profile()'s defaults, used for both sides


def best(fn, reps):
    "Median wall time of `reps` calls of `fn` (after one untimed call)."
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def flopcounter(m, x):
    with FlopCounterMode(display=False, custom_mapping=CPU_SDPA), torch.no_grad(): m(x)


def plain_profiler(m, x):
    with torch.no_grad():
        for _ in range(WARMUP): m(x)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True, with_flops=True) as p:
            for _ in range(REPEAT): m(x)
    p.key_averages()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1, help='torch threads (1 is steadiest on a shared 2-core machine)')
    ap.add_argument('--reps', type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f'torch {torch.__version__}, {a.threads} thread(s), median of {a.reps}')
    print(f"{'model':14} {'count':>9} {'FlopCounter':>11} {'ratio':>6}   {'profile':>9} {'torch.prof':>10} {'ratio':>6}")
    for cfg in (tiny_mistral(), tiny_mixtral(), tiny_cnn()):
        m, x = build(cfg), example_input(cfg)
        tc = best(lambda: count(m, x), a.reps)
        tf = best(lambda: flopcounter(m, x), a.reps)
        tp = best(lambda: profile(m, x, hw='epyc-9654', warmup=WARMUP, repeat=REPEAT), a.reps)
        tt = best(lambda: plain_profiler(m, x), a.reps)
        print(f'{cfg.name:14} {tc*1e3:8.1f}ms {tf*1e3:10.1f}ms {tc/tf:5.2f}x   {tp*1e3:8.1f}ms {tt*1e3:9.1f}ms {tp/tt:5.2f}x')
    print('targets: count <= 1.2x FlopCounterMode, profile <= 1.5x torch.profiler')


if __name__ == '__main__':
    main()
