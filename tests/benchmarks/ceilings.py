"""hwnb's measured ceilings against references measured in the same run, on this machine.

- DRAM bandwidth: hwnb.bench's triad against a STREAM-style triad in C with OpenMP
  (gcc -O3 -march=native -fopenmp, OMP_NUM_THREADS = physical cores, same byte counting: 3 arrays, no write-allocate).
- GEMM peak: hwnb.bench's fp32 and bf16 peaks against the best of torch.mm and numpy at large sizes.
Target: each ratio >= 0.90. Prints the figures; asserts nothing. Run it on an idle machine.
    python tests/benchmarks/ceilings.py [--mode full|quick]
"""
import argparse, time
import pandas as pd


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--mode', default='full', choices=['quick', 'full'])
    a = ap.parse_args()
    from hwnb.bench import measure, against_references
    t = time.perf_counter(); m = measure(a.mode, force=True, progress=False); took = time.perf_counter() - t
    print(f"hwnb.bench.measure('{a.mode}') took {took:.1f} s (budget {m.meta['budget_s']} s) on {m.meta['threads']} threads: {m.full_name}")
    if m.notes: print('notes:', m.notes)
    ref = against_references(m, quick=a.mode == 'quick')
    ref['verdict'] = ['OK' if r >= 0.9 else 'BELOW TARGET' for r in ref.ratio]
    pd.set_option('display.width', 200)
    print('\ntarget: ratio >= 0.90\n' + ref.to_string(index=False, float_format=lambda v: f'{v:.4g}'))
    print('\nspread of hwnb\'s repeats (min / median / max):\n' + m.summary()[['ceiling', 'best', 'min', 'median', 'max', 'note']].to_string(index=False))


if __name__ == '__main__':
    main()
