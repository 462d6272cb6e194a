"""`hwnb.traces.load` against a plain `json.load` of the same file, on the largest shared Kineto trace, interleaved.

Target (issue 17): loading costs at most 3x a plain `json.load` (both read the gzip). This is a benchmark, not a test: it prints
medians, the ratio and each one's peak memory (a fresh interpreter each, `ru_maxrss`); machines here are noisy. Pricing the ops
(`t.ops`, which imports torch) is timed apart: it is not part of loading.
    python tests/benchmarks/trace_load.py [--runs 5] [--path FILE]
"""
import argparse, gzip, json, os, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get('HWNB_SHARED_DIR', ROOT.parent/'shared'))/'traces'

def largest() -> Path:
    return max(SHARED.rglob('*.json.gz'), key=lambda p: p.stat().st_size)

def peak_mb(code: str, path: Path) -> float:
    "Peak resident memory (MB) of a fresh interpreter that runs `code` on `path`, minus one that only imports what it needs."
    run = lambda c: float(subprocess.run([sys.executable, '-c', c + "; import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)", str(path)],
                                         capture_output=True, text=True, check=True, env={**os.environ, 'PYTHONPATH': str(ROOT)}).stdout.split()[-1]) / 1e3
    return run(code) - run('import sys, gzip, json, hwnb.traces')

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', type=int, default=5); ap.add_argument('--path', type=Path)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from hwnb import traces
    path = a.path or largest()
    # first, while this process is small: a child's ru_maxrss starts from its parent's at the fork
    pj = peak_mb("import sys, gzip, json; json.load(gzip.open(sys.argv[1]))", path)
    pt = peak_mb("import sys, hwnb.traces; hwnb.traces.load(sys.argv[1])", path)
    raw = len(gzip.open(path).read())
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB gzip, {raw / 1e6:.1f} MB of JSON)")
    cases = {'json.load(gzip.open(f)) (reference)': lambda: json.load(gzip.open(path)), 'hwnb.traces.load(f)': lambda: traces.load(path)}
    res = {k: [] for k in cases}
    for _ in range(a.runs):                          # interleaved, so drift hits both alike
        for k, f in cases.items():
            t0 = time.perf_counter(); f(); res[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in res.items()}
    for k, v in res.items(): print(f"  {k:<40} median {med[k]:.3f} s   min {min(v):.3f}   max {max(v):.3f}")
    ratio = med['hwnb.traces.load(f)'] / med['json.load(gzip.open(f)) (reference)']
    print(f"load / json.load = {ratio:.2f} (target <= 3): {'OK' if ratio <= 3 else 'OVER TARGET'}")
    t = traces.load(path)
    t0 = time.perf_counter(); n = len(t.ops); dt = time.perf_counter() - t0
    print(f"pricing {n} ops from their shapes (t.ops, first use, imports torch): {dt:.2f} s")
    print(f"peak memory above the imports: json.load {pj:.0f} MB, traces.load {pt:.0f} MB ({pt / max(pj, 1e-9):.2f}x); JSON is {raw / 1e6:.0f} MB")

if __name__ == '__main__': main()
