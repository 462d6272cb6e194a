"""Each default optimization variant (hwnb.optimize.default_variants) against the fp32 baseline measured in the same run, on
a tiny MLP (batch 64, 512 -> 1024 -> 1024 -> 10) and on hwnb's tiny Mistral-style transformer (0.5 M parameters, batch 4 x 128
tokens): median latency, speed-up, stored size ratio, peak memory, task metric (agreement of the top-1 prediction with the fp32
model's) and the gate's verdict. For the transformer, the speed-up hwnb.llm predicts for the same forward pass (a prefill of
4 x 128 tokens) on this machine's measured ceilings (hwnb.bench.measure('quick'), cached) is printed beside the measured one,
for the variants that map to an LLM weight/activation format. Nothing here asserts a time; these machines are noisy.

Run: python tests/benchmarks/optimize_variants.py [--threads 1] [--repeat 20] [--no-compile] [--no-memory] [--models mlp,transformer]
"""
import argparse, tempfile, time, warnings
import torch
import torch.nn as nn
from hwnb.models import build, example_input, tiny_mistral
from hwnb.optimize import default_variants, sweep

COLS = ['variant', 'status', 'latency_s', 'speedup', 'size_ratio', 'peak_mem_bytes', 'compile_time_s', 'metric', 'passed']


def mlp_case():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)).eval()
    xs = torch.randn(2048, 512, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(): labels = m(xs).argmax(-1)
    def agreement(mm):
        with torch.no_grad(): return float((mm(xs).argmax(-1) == labels).float().mean())
    return 'tiny MLP (1.6 M params), batch 64', m, torch.randn(64, 512), agreement


def transformer_case():
    cfg = tiny_mistral()
    m = build(cfg).eval()
    toks = example_input(cfg, batch=4, seed=3)
    held = example_input(cfg, batch=8, seed=4)
    with torch.no_grad(): labels = m(held).argmax(-1)
    def agreement(mm):
        with torch.no_grad(): return float((mm(held).argmax(-1) == labels).float().mean())
    return 'tiny Mistral (hwnb.models.tiny_mistral), 4 x 128 tokens', m, toks, agreement


PREDICTABLE = {'bf16': ('bf16', 'bf16'), 'fp16': ('fp16', 'fp16'), 'int8-weight-only': ('int8', 'fp32'),
               'fp8-weight-only': ('fp8', 'fp32')}   # variant -> (weight format, activation dtype) in hwnb.llm's terms


def predicted_speedups(model) -> dict:
    "{variant: predicted prefill speed-up over fp32} from hwnb.llm.analyze on this machine's measured ceilings."
    from hwnb.bench import measure
    from hwnb.llm import analyze
    from hwnb.llm_calibrate import from_torch_config
    hw = measure('quick', progress=False)
    cfg = from_torch_config(model.config)
    t = lambda w, a: analyze(cfg, hw, batch=4, prompt_len=128, gen_len=1, weight_format=w, kv_dtype=a, act_dtype=a,
                             block_size=None).ops.query("phase == 'prefill'").time_s.sum()
    base = t('fp32', 'fp32')
    out = {}
    for v, (w, a) in PREDICTABLE.items():
        try: out[v] = base / t(w, a)
        except ValueError as e: print(f"  no prediction for {v}: {e}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--repeat', type=int, default=20)
    ap.add_argument('--no-compile', action='store_true', help='leave out torch.compile (inductor compiles C++ for about a minute here)')
    ap.add_argument('--no-memory', action='store_true', help='skip the forked peak-memory runs')
    ap.add_argument('--models', default='mlp,transformer')
    a = ap.parse_args()
    import pandas as pd
    pd.set_option('display.width', 200); pd.set_option('display.max_columns', 20)
    vs = [v for v in default_variants() if not (a.no_compile and v.kind == 'compile')]
    cases = {'mlp': mlp_case, 'transformer': transformer_case}
    print(f"torch {torch.__version__}, {a.threads} intra-op thread(s), {a.repeat} timed runs per variant, a fresh cache (nothing reused)")
    for key in a.models.split(','):
        title, model, inputs, ev = cases[key]()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            res = sweep(model, inputs, ev, vs, cache=tempfile.mkdtemp(), memory=not a.no_memory, repeat=a.repeat, threads=a.threads,
                        progress=False)
        df = res.df[COLS].copy()
        if key == 'transformer':
            pred = predicted_speedups(model)
            df.insert(df.columns.get_loc('speedup') + 1, 'predicted_speedup', df['variant'].map(pred))
        df['peak_mem_MB'] = df.pop('peak_mem_bytes') / 1e6
        print(f"\n== {title}: fp32 baseline {res.df.latency_s[0] * 1e3:.3f} ms, {res.df.size_bytes[0] / 1e6:.2f} MB "
              f"(sweep {time.perf_counter() - t0:.0f} s)")
        print(df.to_string(index=False, float_format=lambda x: f'{x:.4g}'))
        for r in res.df[res.df.status != 'ok'].itertuples(): print(f"  {r.variant} failed: {r.error}")
        for r in res.df[res.df.note.fillna('') != ''].itertuples(): print(f"  {r.variant}: {r.note}")


if __name__ == '__main__':
    main()
