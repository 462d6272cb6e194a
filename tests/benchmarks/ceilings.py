"""hwnb's measured ceilings against references measured in the same run, on this machine.

- DRAM bandwidth: hwnb.bench's triad against a STREAM-style triad in C with OpenMP
  (gcc -O3 -march=native -fopenmp, OMP_NUM_THREADS = physical cores, same byte counting: 3 arrays, no write-allocate).
- GEMM peak: hwnb.bench's fp32 and bf16 peaks against the best of torch.mm and numpy (fp32) at large sizes.
Target: each ratio >= 0.90. Prints the figures; asserts nothing.
    python tests/benchmarks/ceilings.py [--mode full|quick]
"""
import argparse, os, shutil, statistics, subprocess, tempfile, time
from pathlib import Path

TRIAD_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]); int reps = atoi(argv[2]);
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)), *c = malloc(n * sizeof(double));
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }      /* first touch on the threads that use it */
    double best = 1e30, s = 3.0;
    for (int r = 0; r < reps; r++) {
        double t = omp_get_wtime();
        #pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        t = omp_get_wtime() - t; if (t < best) best = t;
    }
    printf("%.6e %.6e\n", 3.0 * n * sizeof(double) / best, a[n / 2]);
    return 0;
}
"""


def c_triad(array_bytes, threads, reps=10):
    "Best bandwidth (B/s) of the C OpenMP triad over arrays of `array_bytes` each."
    if not shutil.which('gcc'): return None, 'gcc not found'
    with tempfile.TemporaryDirectory() as d:
        src, exe = Path(d)/'triad.c', Path(d)/'triad'
        src.write_text(TRIAD_C)
        r = subprocess.run(['gcc', '-O3', '-march=native', '-fopenmp', str(src), '-o', str(exe)], capture_output=True, text=True)
        if r.returncode: return None, r.stderr[:300]
        out = subprocess.run([str(exe), str(array_bytes // 8), str(reps)], capture_output=True, text=True, check=True,
                             env={**os.environ, 'OMP_NUM_THREADS': str(threads), 'OMP_PROC_BIND': 'spread'})
        return float(out.stdout.split()[0]), f'{threads} threads, arrays of {array_bytes / 1e6:.0f} MB'


def best_gemm(threads, sizes=(2048, 3072, 4096), reps=5):
    "Best fp32 and bf16 GEMM FLOP/s of torch.mm, and fp32 of numpy, over `sizes`."
    import numpy as np, torch
    torch.set_num_threads(threads)
    res = {}
    for name, mk, mm in [('torch fp32', lambda n: torch.randn(n, n), torch.mm),
                         ('torch bf16', lambda n: torch.randn(n, n).bfloat16(), torch.mm),
                         ('numpy fp32', lambda n: np.random.default_rng(0).standard_normal((n, n), dtype=np.float32), np.matmul)]:
        best = 0
        for n in sizes:
            a, b = mk(n), mk(n)
            mm(a, b)
            for _ in range(reps):
                t = time.perf_counter(); mm(a, b); best = max(best, 2 * n**3 / (time.perf_counter() - t))
        res[name] = best
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--mode', default='full', choices=['quick', 'full'])
    a = ap.parse_args()
    from hwnb.bench import measure
    from hwnb.detect import detect
    mach = detect()
    cores = mach.physical_cores
    llc = max([c.size_bytes for c in mach.caches], default=32 * 2**20)
    t = time.perf_counter(); m = measure(a.mode, force=True, progress=False); took = time.perf_counter() - t
    print(f"hwnb.bench.measure('{a.mode}') took {took:.1f} s on {m.meta['threads']} threads ({mach.cpu_model})")
    ref_bw, how = c_triad(int(max(4 * llc, 2**27)), cores)
    ref = best_gemm(cores)
    s = m.summary().set_index('ceiling')
    rows = [('DRAM triad bandwidth', m.mem_bw, ref_bw, f'C OpenMP triad ({how})', 'B/s')]
    rows.append(('GEMM fp32 peak', m.peak_flops('fp32'), max(ref['torch fp32'], ref['numpy fp32']), 'best of torch.mm / numpy fp32, n up to 4096', 'FLOP/s'))
    if 'bf16' in m.dtypes: rows.append(('GEMM bf16 peak', m.peak_flops('bf16'), ref['torch bf16'], 'torch.mm bf16, n up to 4096', 'FLOP/s'))
    print(f"\n{'ceiling':<22} {'hwnb':>12} {'reference':>12} {'ratio':>7}  target  reference")
    for name, mine, theirs, what, unit in rows:
        if theirs is None: print(f"{name:<22} {mine:12.4g} {'n/a':>12} {'n/a':>7}  >=0.90  {what}"); continue
        r = mine / theirs
        print(f"{name:<22} {mine:12.4g} {theirs:12.4g} {r:7.3f}  >=0.90  {what}  [{'OK' if r >= 0.9 else 'BELOW TARGET'}]")
    print('\nsamples spread (min / median / max):')
    print(s[['best', 'min', 'median', 'max', 'note']].to_string())


if __name__ == '__main__':
    main()
