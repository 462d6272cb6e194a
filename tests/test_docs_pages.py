"The built docs read as docs: no stderr noise, no local paths, no words about how the project is built, no visible checks in tutorials; the index lists every module's API; the build executes what nbdev-test would and fails like it."
import contextlib, html, io, os, re
from pathlib import Path
import pytest
from conftest import ROOT, built_docs

NOISE = {'torchao .so load failure': r'Failed to load \S*\.so|Could not load this library',
         'USDT line': r'\bUSDT\b', 'IPKernelApp line': r'IPKernelApp',
         'glog-style log line': r'\b[WIEF]\d{4} \d\d:\d\d:\d\d\.\d{3,}',
         "another package's logging": r'^(?:WARNING|INFO|DEBUG):(?!hwnb)[\w.]+:',
         'progress bar': r'\d+%\|[^|]*\|', 'traceback': r'Traceback \(most recent call last\)'}
ABS_PATH = r'(?<![\w.~:/$-])(?:/(?:work|tmp|home|root|usr|opt|var|mnt|srv|private|Users)/[^\s"\'<>)]*|[A-Za-z]:\\Users\\\S*)'
BUILD_WORDS = r"\b(?:issues?|sessions?|helpers?|the lead|brief|the (?:issue'?s )?target|coming next|TODO|FIXME)\b"
CHECKS = r'\b(?:test_(?:eq|ne|close|fail|warns|is|stdout|eq_type|shuffled|sig)\b|from fastcore\.test import|assert )'


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "CI's full build (HWNB_DOCS_DIR); otherwise a few pages built here."
    return built_docs(tmp_path_factory, only=['index', '00_core', '01_roofline_in_ten_minutes'])


def visible_text(page: Path) -> str:
    "What a reader sees: the page without scripts, styles and tags, entities decoded."
    t = page.read_text()
    t = re.sub(r'<(script|style)\b.*?</\1>', ' ', t, flags=re.S)
    return html.unescape(re.sub(r'<[^>]+>', ' ', t))


def prose(page: Path) -> str:
    "The markdown cells' text, without code spans and code blocks (API names such as `ray_session` are not prose)."
    t = page.read_text()
    cells = re.findall(r'<div[^>]*class="[^"]*jp-MarkdownCell[^"]*"[^>]*>(.*?)(?=<div[^>]*class="[^"]*jp-Cell\b|</main>)', t, flags=re.S)
    t = ' '.join(cells)
    t = re.sub(r'<(code|pre|details|script|style)\b.*?</\1>', ' ', t, flags=re.S)
    return html.unescape(re.sub(r'<[^>]+>', ' ', t))


def rendered_text(page: Path) -> str:
    "The text and stream outputs of the executed cells (where stderr lands), not the code that produced them."
    t = page.read_text()
    return html.unescape(re.sub(r'<[^>]+>', '', '\n'.join(re.findall(r'class="jp-RenderedText[^"]*"[^>]*>\s*<pre>(.*?)</pre>', t, flags=re.S))))


def pages(d): return sorted(d.rglob('*.html'))


def _scan(site, pattern_of, flags=0):
    bad = []
    for p in pages(site):
        for what, pat in pattern_of(p).items():
            text = {'build word': prose, 'absolute path': visible_text}.get(what, rendered_text)(p)
            for m in re.finditer(pat, text, flags):
                bad.append(f"{p.relative_to(site)}: {what}: {m.group(0)[:120]!r}")
    return bad


def test_no_stderr_noise(site):
    bad = _scan(site, lambda p: NOISE, re.M)
    assert not bad, '\n'.join(bad[:40])


def test_no_absolute_paths(site):
    bad = _scan(site, lambda p: {'absolute path': ABS_PATH})
    assert not bad, '\n'.join(bad[:40])


def test_no_build_words_in_prose(site):
    bad = _scan(site, lambda p: {'build word': BUILD_WORDS}, re.I)
    assert not bad, '\n'.join(bad[:40])


def test_no_visible_checks_in_tutorials(site):
    tut = [p for p in pages(site) if p.parent.name == 'tutorials']
    assert tut, 'no tutorial pages were built'
    bad = [f"{p.relative_to(site)}: {m.group(0)!r}" for p in tut for m in re.finditer(CHECKS, visible_text(p))]
    assert not bad, '\n'.join(bad[:40])


def test_scanners_catch_what_they_look_for(tmp_path):
    "The patterns above find each defect in a page that has it (so the scans can fail)."
    page = tmp_path/'tutorials'/'x.html'; page.parent.mkdir()
    page.write_text('<main><div class="jp-Cell jp-MarkdownCell"><p>the issue\'s target, as the helper said</p></div>'
                    '<div class="jp-Cell jp-CodeCell"><pre>test_eq(x, 1)</pre><div class="jp-RenderedText jp-OutputArea-output" '
                    'data-mime-type="application/vnd.jupyter.stderr"><pre>/work/wt/hwnb/bench.py:541: UserWarning\n'
                    'Failed to load /x/_C.so\nW1203 16:00:47.752000 7463 torch/x.py:1] hi\ndocs:  40%|####  | 2/5</pre></div></div></main>')
    assert len(_scan(tmp_path, lambda p: NOISE, re.M)) >= 3
    assert _scan(tmp_path, lambda p: {'absolute path': ABS_PATH})
    assert len(_scan(tmp_path, lambda p: {'build word': BUILD_WORDS}, re.I)) == 2     # "the target", "helper"
    assert re.search(CHECKS, visible_text(page))


def test_index_lists_every_module_api(site):
    "Every public module's `__all__` names appear in the index's API list, and every module listed exists (issue 14)."
    lib = ROOT/'hwnb'
    text = visible_text(site/'index.html')
    listed = set(re.findall(r'\bhwnb\.(\w+)\s*:', text))
    modules = {p.stem for p in lib.glob('*.py') if not p.stem.startswith('_') and _all_names(p)}
    assert listed == modules, f'missing from the index: {sorted(modules - listed)}; listed but no module: {sorted(listed - modules)}'
    for m in sorted(modules):
        line = re.search(rf'hwnb\.{m}\s*:([^\n]*)', text).group(1)
        shown = set(re.findall(r'[A-Za-z_]\w*', line))
        missing = set(_all_names(lib/f'{m}.py')) - shown
        assert not missing, f'hwnb.{m}: {sorted(missing)} not in the index'
    assert 'coming next' not in text.lower()


def test_index_notebook_is_current():
    import nbformat
    nb = nbformat.read(ROOT/'nbs'/'index.ipynb', as_version=4)
    src = '\n'.join(c.source for c in nb.cells)
    assert 'coming next' not in src.lower()
    assert 'api_index(' in src, 'the index builds its page and API list from the notebooks and __all__'


def test_tutorial1_fp8_ridge_claim():
    "Tutorial 1 quotes the H100's bf16 and fp8 ridges; they are what roofline.ridge computes."
    from hwnb import roofline
    import nbformat
    text = '\n'.join(c.source for c in nbformat.read(ROOT/'nbs'/'tutorials'/'01_roofline_in_ten_minutes.ipynb', as_version=4).cells)
    assert 'The ridge is the same' not in text
    for dt in ('bf16', 'fp8'):
        assert f"{roofline.ridge('h100-sxm', dt):.1f} FLOP/B" in text


def test_tutorial4_names_no_cpu_it_does_not_run_on():
    import nbformat
    nb = nbformat.read(ROOT/'nbs'/'tutorials'/'04_quantize_with_a_gate.ipynb', as_version=4)
    prose = '\n'.join(c.source for c in nb.cells if c.cell_type == 'markdown')
    assert not re.search(r'2-core Xeon|Xeon with AMX|When this page was written', prose)


def _all_names(py: Path) -> list:
    "The module file's top-level `__all__`, read here independently of hwnb.docs."
    import ast
    for n in ast.parse(py.read_text()).body:
        if isinstance(n, ast.Assign) and any(getattr(t, 'id', None) == '__all__' for t in n.targets): return list(ast.literal_eval(n.value))
    return []


def _nb(path, *cells, front=None):
    import nbformat
    cs = ([nbformat.v4.new_raw_cell(f'---\n{front}\n---')] if front else []) + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nbformat.v4.new_notebook(cells=cs), path)
    return path


def test_skipped_cells_follow_nbdev_test(tmp_path):
    "The cells the docs build leaves unrun are exactly those nbdev-test leaves out: `eval: false`, skip_exec, tst_flags unless forced."
    import nbformat
    from nbdev.test import nb_test_cells
    from hwnb.docs import skipped_cells
    p = _nb(tmp_path/'a.ipynb', 'x = 1', '#| eval: false\nraise SystemExit', '#| slow\ny = 2')
    ids = [c.id for c in nbformat.read(p, as_version=4).cells]
    assert skipped_cells(p) == {ids[1]}                       # no tst_flags outside a project: slow is an unknown flag, so it runs
    q = _nb(tmp_path/'b.ipynb', 'x = 1', front='skip_exec: true')
    assert skipped_cells(q) == {c.id for c in nbformat.read(q, as_version=4).cells if c.cell_type == 'code'}
    nbp = ROOT/'nbs'/'05d_llm_calibrate.ipynb'
    cells = nbformat.read(nbp, as_version=4).cells
    for flags, force in ((None, []), ('slow', ['slow'])):
        run = {c.id for c in nb_test_cells(nbp, ['slow'], force)}
        assert skipped_cells(nbp, flags) == {c.id for c in cells if c.cell_type == 'code'} - run
    assert skipped_cells(nbp) and not skipped_cells(nbp, 'slow')


def test_failing_notebook_fails_the_build_with_its_cell(tmp_path):
    from hwnb.docs import main
    src = tmp_path/'nbs'; src.mkdir()
    _nb(src/'01_bad.ipynb', '1 + 1', "raise ValueError('the bad cell')", "print('never')")
    _nb(src/'02_good.ipynb', '#| eval: false\nraise SystemExit', '2 + 2')
    err = io.StringIO()
    with contextlib.redirect_stderr(err): rc = main(['--nbs', str(src), '-o', str(tmp_path/'site')])
    assert rc == 1
    e = err.getvalue()
    assert '01_bad.ipynb' in e and 'ValueError: the bad cell' in e and "raise ValueError('the bad cell')" in e
    assert '02_good' not in e
    assert (tmp_path/'site'/'02_good.html').exists() and not (tmp_path/'site'/'01_bad.html').exists()
