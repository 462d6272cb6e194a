"""Reading 100 real Hugging Face configs and analysing each (issue 16): at most 1 s in all.

Each round writes nothing: it reads 100 `config.json` files from a temporary folder (the first 100 of
../shared/hf_configs/configs.json, written there once before timing), builds each `ModelConfig`, and analyses it:
params_total, params_active, the per-layer KV layout and the cache held at 32k tokens, the recurrent state, and
`hwnb.llm.analyze` (one decode step on an H100, batch 1) where the model has the Llama-family kernel's shape today.
This is a benchmark, not a test: it prints the median and the best of `--repeats` rounds and never asserts a time.
    python tests/benchmarks/config_read.py [--repeats 5]
"""
import argparse, json, os, statistics, tempfile, time
from pathlib import Path
from hwnb.llm_config import from_hf_config, params_total, params_active, kv_layout, cached_kv_elements, state_bytes

TARGET_S = 1.0      # the target for 100 configs, read and analysed
N_CONFIGS = 100
CONTEXT = 32_768    # tokens at which the cache is sized


def analyse(path, with_llm):
    m = from_hf_config(path)
    out = (params_total(m), params_active(m), kv_layout(m), sum(cached_kv_elements(m, min(CONTEXT, m.max_positions))), state_bytes(m))
    if with_llm:                                                         # every architecture: the op table follows the layers
        from hwnb.llm import analyze
        analyze(m, 'h100-sxm', prompt_len=min(1024, m.max_positions // 2), gen_len=16)
    return out


def cold():
    "Forget the per-config caches (layer specs, cache layouts), so that every round reads and analyses as a first time does."
    from hwnb import llm_arch, llm_ops
    for mod in (llm_arch, llm_ops):
        for f in vars(mod).values():
            if callable(getattr(f, 'cache_clear', None)) and getattr(f, '__module__', '') == mod.__name__: f.cache_clear()


def one_round(paths, with_llm):
    cold()
    t = time.perf_counter()
    for p in paths: analyse(p, with_llm)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--repeats', type=int, default=5); ap.add_argument('--no-llm', action='store_true')
    a = ap.parse_args()
    shared = Path(os.environ.get('HWNB_SHARED_DIR', Path(__file__).resolve().parents[2].parent / 'shared'))
    entries = json.loads((shared / 'hf_configs' / 'configs.json').read_text())[:N_CONFIGS]
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, e in enumerate(entries):
            p = Path(d) / f'{i:03d}' / 'config.json'; p.parent.mkdir()
            p.write_text(json.dumps({**e['config'], 'model_type': e['model_type']})); paths.append(p)
        one_round(paths, not a.no_llm)                                       # warm-up: imports, bundled data
        ts = [one_round(paths, not a.no_llm) for _ in range(a.repeats)]
    med = statistics.median(ts)
    print(f"{len(paths)} configs read and analysed: median {med:.3f} s, best {min(ts):.3f} s over {a.repeats} rounds "
          f"(target {TARGET_S:.1f} s: {'met' if med <= TARGET_S else 'NOT met'}); per config {med / len(paths) * 1e3:.2f} ms")


if __name__ == '__main__':
    main()
