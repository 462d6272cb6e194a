"""The layer rules of hwnb.core.LAYERS, checked on the source of every module: no module imports a higher layer (not even lazily,
inside a function), and none imports another module's private names."""
import ast, subprocess, sys
from pathlib import Path
import pytest
from hwnb.core import LAYERS, layer

PKG = Path(__file__).resolve().parent.parent / 'hwnb'
MODULES = sorted(p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_'))


def imports(mod:str):
    "(line, hwnb module imported, names imported from it) for every hwnb import in `mod`, top-level or inside functions."
    tree = ast.parse((PKG / f'{mod}.py').read_text(encoding='utf-8'))
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            if n.level == 1 and n.module: yield n.lineno, n.module.split('.')[0], [a.name for a in n.names]
            elif n.level == 1: yield from ((n.lineno, a.name, []) for a in n.names)      # from . import bench
            elif n.module and n.module.split('.')[0] == 'hwnb':
                parts = n.module.split('.')
                if len(parts) > 1: yield n.lineno, parts[1], [a.name for a in n.names]
                else: yield from ((n.lineno, a.name, []) for a in n.names)              # from hwnb import llm
        elif isinstance(n, ast.Import):
            for a in n.names:
                parts = a.name.split('.')
                if parts[0] == 'hwnb' and len(parts) > 1: yield n.lineno, parts[1], []


def test_every_module_has_a_layer():
    assert set(MODULES) <= {m for names in LAYERS for m in names}, set(MODULES) - {m for names in LAYERS for m in names}


@pytest.mark.parametrize('mod', MODULES)
def test_no_upward_import(mod):
    bad = [(line, t) for line, t, _ in imports(mod) if t in MODULES and layer(t) > layer(mod)]
    assert not bad, f"hwnb.{mod} (layer {layer(mod)}) imports higher layers: " + ', '.join(f"{t} (layer {layer(t)}) at line {l}" for l, t in bad)


@pytest.mark.parametrize('mod', MODULES)
def test_no_private_import(mod):
    bad = [(line, t, n) for line, t, names in imports(mod) for n in names if n.startswith('_') and n != '__version__' and t != mod]
    assert not bad, f"hwnb.{mod} imports private names: " + ', '.join(f"{t}.{n} at line {l}" for l, t, n in bad)


def test_the_rules_catch_a_violation(tmp_path):
    "The checks above can fail: a module that lazily imports a higher layer's private name is caught by both."
    src = 'def f():\n    from .widgets import _offline_charts\n'
    tree = ast.parse(src)
    found = [(n.module, [a.name for a in n.names]) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert found == [('widgets', ['_offline_charts'])] and layer('widgets') > layer('core')


@pytest.mark.parametrize('mod', ['hwnb.onnx_graph', 'hwnb.profile_io', 'hwnb.llm', 'hwnb.llm_sweep', 'hwnb.roofline'])
def test_light_modules_do_not_import_torch(mod):
    code = f"import sys, {mod}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == 'False', f"importing {mod} imported torch"
