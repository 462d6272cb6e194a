"The CLI reads well (issue 19, item 17): help on every option, --version, -o folders, one-line errors and --debug."
import argparse, os, subprocess, sys, shutil
from pathlib import Path
import pytest
from hwnb.cli import parser

HWNB = shutil.which('hwnb') or str(Path(sys.executable).parent/'hwnb')


def run(*args, cwd=None, env=None):
    return subprocess.run([HWNB, *args], capture_output=True, text=True, cwd=cwd, timeout=300, env={**os.environ, **(env or {})})


def _actions(p, path='hwnb'):
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items(): yield from _actions(sp, f'{path} {name}')
        elif not isinstance(a, argparse._HelpAction): yield path, a


def test_every_option_has_help():
    missing = [f"{path} {a.option_strings or a.dest}" for path, a in _actions(parser()) if not a.help]
    assert not missing, missing
    assert len(list(_actions(parser()))) > 50


def test_version():
    from hwnb import __version__
    r = run('--version')
    assert r.returncode == 0 and r.stdout.strip() == f'hwnb {__version__}'


def test_output_creates_parent_folders_and_says_so(tmp_path):
    r = run('roofline', '--hw', 'h100-sxm', '-o', 'a/b/r.json', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'a/b/r.json').is_file()
    assert 'created the folder' in r.stderr and 'a' in r.stderr and '(and 1 below it)' in r.stderr
    r = run('roofline', '--hw', 'h100-sxm', '-o', 'a/b/r2.json', cwd=tmp_path)      # folders exist: nothing said
    assert r.returncode == 0 and 'created' not in r.stderr


@pytest.mark.parametrize('target', ['f.txt/r.html', '.'])
def test_unwritable_output_is_one_line(tmp_path, target):
    (tmp_path/'f.txt').write_text('a file, not a folder')
    r = run('roofline', '--hw', 'h100-sxm', '-o', target, cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('hwnb: error: ') and '--debug' in lines[0], r.stderr


def test_docs_without_the_docs_extra_names_it():
    code = "import sys; sys.modules['nbconvert'] = None; from hwnb.cli import main; sys.exit(main(['docs']))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "pip install 'hwnb[docs]'" in r.stderr and 'nbconvert' in r.stderr and 'Traceback' not in r.stderr


def test_unexpected_error_is_one_line_and_debug_shows_traceback(tmp_path):
    (tmp_path/'boomfac.py').write_text("def make():\n    raise RuntimeError('the factory broke')\n")
    env = {'PYTHONPATH': os.pathsep.join([str(tmp_path), os.environ.get('PYTHONPATH', '')])}
    r = run('profile', 'boomfac:make', cwd=tmp_path, env=env)
    assert r.returncode == 1
    assert r.stderr.strip() == 'hwnb: error: RuntimeError: the factory broke (run with --debug for the traceback)'
    r = run('profile', 'boomfac:make', '--debug', cwd=tmp_path, env=env)
    assert r.returncode != 0 and 'Traceback' in r.stderr and 'the factory broke' in r.stderr


def test_missing_optional_dependency_names_the_extra(tmp_path):
    (tmp_path/'nodep.py').write_text("def make():\n    import onnxruntime.nothing_here\n")
    env = {'PYTHONPATH': os.pathsep.join([str(tmp_path), os.environ.get('PYTHONPATH', '')])}
    r = run('profile', 'nodep:make', cwd=tmp_path, env=env)
    assert r.returncode == 1 and "pip install 'hwnb[onnx]'" in r.stderr and 'Traceback' not in r.stderr
