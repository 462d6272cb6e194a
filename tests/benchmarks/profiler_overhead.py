"""Overhead of hwnb's profiler against torch's own tools, same model, same run (prints ratios; not a test).

  count()   vs FlopCounterMode alone                                   target <= 1.2x
  profile() vs torch.profiler(record_shapes=True, with_flops=True)      target <= 1.5x
            (same warm-up and repeats; the reference also builds key_averages(), the table a user reads)

The four are timed in turns, round after round (the order rotating each round), so a burst of load from other processes
on a shared machine hits both sides of a ratio alike. Each ratio is the median of its per-round ratios; wall time and the
process's CPU time are both reported (CPU time is what to trust when the load average is above the core count).
Garbage collection: the heap that exists after warm-up is frozen (gc.freeze), and each timed call ends with gc.collect(),
so each side pays for collecting its own garbage and neither pays for a full collection of torch's heap that the other
side's allocations happened to trigger.

Usage: python tests/benchmarks/profiler_overhead.py [--threads 1] [--rounds 9] [--models tiny-mistral,tiny-cnn] [--natural-gc]
"""
import argparse, gc, os, statistics, time
import torch
from torch.utils.flop_counter import FlopCounterMode
from hwnb.models import build, example_input, tiny_mistral, tiny_mixtral, tiny_cnn
from hwnb.opcost import sdpa_cpu_flop
from hwnb.profiler import count, profile

CPU_SDPA = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: sdpa_cpu_flop}
WARMUP, REPEAT = 2, 5     # profile()'s defaults, used for both sides
MODELS = {c.name: c for c in (tiny_mistral(), tiny_mixtral(), tiny_cnn())}


def flopcounter(m, x):
    with FlopCounterMode(display=False, custom_mapping=CPU_SDPA), torch.no_grad(): m(x)


def plain_profiler(m, x):
    with torch.no_grad():
        for _ in range(WARMUP): m(x)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True, with_flops=True) as p:
            for _ in range(REPEAT): m(x)
    p.key_averages()


NATURAL_GC = False    # --natural-gc: leave the collector alone (what a user sees, noisier)


def timed(fn):
    "(wall s, CPU s) of one call of `fn`, collecting its own cyclic garbage (profiler events are cyclic) before the clock stops."
    if not NATURAL_GC: gc.collect()
    w, c = time.perf_counter(), time.process_time()
    fn()
    if not NATURAL_GC: gc.collect()
    return time.perf_counter() - w, time.process_time() - c


def rounds(fns: dict, n: int) -> dict:
    "name -> list of (wall, cpu) over `n` rounds; every function is called once per round, the order rotating."
    for f in fns.values(): f()                       # warm caches, lazy imports, the allocator
    if not NATURAL_GC:                               # the long-lived heap (torch, pandas) out of every collection: a full one costs
        gc.collect(); gc.freeze()                    # ~0.2 s here, and would land in whichever call happened to trigger it
    names, out = list(fns), {k: [] for k in fns}
    for r in range(n):
        for k in names[r % len(names):] + names[:r % len(names)]: out[k].append(timed(fns[k]))
    return out


def ratio(t, a, b, i):
    "Median over rounds of t[a]/t[b] (i=0 wall, 1 CPU) and the medians of each side."
    return (statistics.median(x[i] / y[i] for x, y in zip(t[a], t[b])),
            statistics.median(x[i] for x in t[a]), statistics.median(y[i] for y in t[b]))


def load() -> str:
    return ', '.join(f'{v:.2f}' for v in os.getloadavg())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1, help='torch threads (1 is steadiest on a shared 2-core machine)')
    ap.add_argument('--rounds', type=int, default=9)
    ap.add_argument('--models', default=','.join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    ap.add_argument('--natural-gc', action='store_true', help='do not freeze the heap or collect around each call')
    a = ap.parse_args()
    global NATURAL_GC
    NATURAL_GC = a.natural_gc
    torch.set_num_threads(a.threads)
    print(f'torch {torch.__version__}, {a.threads} thread(s), {os.cpu_count()} cores, {a.rounds} rounds, GC {"natural" if NATURAL_GC else "frozen heap + collect per call"}; load average before: {load()}')
    print(f"{'model':13} {'clock':5} {'count':>9} {'FlopCounter':>11} {'ratio':>6}   {'profile':>9} {'torch.prof':>10} {'ratio':>6}")
    for name in a.models.split(','):
        cfg = MODELS[name]
        m, x = build(cfg), example_input(cfg)
        t = rounds(dict(count=lambda: count(m, x), fc=lambda: flopcounter(m, x),
                        profile=lambda: profile(m, x, hw='epyc-9654', warmup=WARMUP, repeat=REPEAT),
                        prof=lambda: plain_profiler(m, x)), a.rounds)
        for i, clock in enumerate(('wall', 'cpu')):
            rc, tc, tf = ratio(t, 'count', 'fc', i)
            rp, tp, tt = ratio(t, 'profile', 'prof', i)
            print(f'{name:13} {clock:5} {tc*1e3:7.1f}ms {tf*1e3:9.1f}ms {rc:5.2f}x   {tp*1e3:7.1f}ms {tt*1e3:8.1f}ms {rp:5.2f}x')
    print(f'load average after: {load()}')
    print('targets: count <= 1.2x FlopCounterMode, profile <= 1.5x torch.profiler')


if __name__ == '__main__':
    main()
