"Issue 19 item 21: where `import hwnb` is the real package, and the one place a clone named hwnb shadows it (documented in README)."
import os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = "import hwnb; print(getattr(hwnb, '__file__', None), getattr(hwnb, '__version__', None))"


def _probe(cwd, pythonpath=None):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    if pythonpath: env['PYTHONPATH'] = pythonpath
    r = subprocess.run([sys.executable, '-c', PROBE], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_inside_the_clone_import_is_the_package():
    f, v = _probe(ROOT)                   # '' (the clone root) comes first on sys.path: its hwnb/ is a regular package
    assert f == str(ROOT/'hwnb'/'__init__.py') and v != 'None'


def test_parent_of_a_clone_named_hwnb_shadows_it_and_readme_says_so(tmp_path):
    (tmp_path/'hwnb'/'hwnb').mkdir(parents=True)          # a clone named hwnb: no __init__.py at its top
    # With an editable install (setuptools' meta-path finder runs after the path finder), ./hwnb wins there as an empty
    # namespace package (__file__ and __version__ None): what README warns of. A regular package on sys.path wins over it:
    f2, v2 = _probe(tmp_path, pythonpath=str(ROOT))
    assert f2 == str(ROOT/'hwnb'/'__init__.py') and v2 != 'None'
    readme = (ROOT/'README.md').read_text()
    assert 'do not start Python in the folder that *holds* a clone named `hwnb`' in readme
