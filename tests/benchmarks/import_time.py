"""How long `from hwnb import roofline` takes in a fresh interpreter, against references measured in the same run.

Target (DESIGN.md): at most 0.5 s, so that a notebook that only plans starts fast. This is a benchmark, not a test:
it prints medians and ratios; machines here are noisy.
    python benchmarks/import_time.py [--runs 15]
"""
import argparse, statistics, subprocess, sys, time

CASES = {
    'python -c pass (reference)': 'pass',
    'import numpy (reference)': 'import numpy',
    'import pandas (reference)': 'import pandas',
    'from hwnb import roofline': 'from hwnb import roofline',
    'roofline + first ridge (loads the catalog)': "from hwnb import roofline; roofline.ridge('h100-sxm')",
}


def wall(code):
    t = time.perf_counter()
    subprocess.run([sys.executable, '-c', code], check=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', type=int, default=15)
    a = ap.parse_args()
    res = {}
    for _ in range(a.runs):                      # interleaved, so drift hits every case alike
        for name, code in CASES.items():
            res.setdefault(name, []).append(wall(code))
    base = statistics.median(res['python -c pass (reference)'])
    print(f"{'case':<45} {'median s':>9} {'minus bare python s':>20} {'x numpy import':>15}")
    numpy_cost = statistics.median(res['import numpy (reference)']) - base
    for name, ts in res.items():
        m = statistics.median(ts)
        print(f"{name:<45} {m:9.3f} {m - base:20.3f} {(m - base) / numpy_cost:15.2f}")
    cost = statistics.median(res['from hwnb import roofline']) - base
    print(f"\nfrom hwnb import roofline costs {cost:.3f} s over a bare interpreter (target <= 0.5 s): "
          f"{'OK' if cost <= 0.5 else 'OVER TARGET'}")


if __name__ == '__main__':
    main()
