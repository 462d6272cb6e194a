"The offline docs: every page renders, executed, and opens in headless Chromium with its charts drawn and no network request."
import os, re
from pathlib import Path
import pytest
from conftest import ROOT, built_docs

pytestmark = pytest.mark.browser


@pytest.fixture(scope='session')
def docs(tmp_path_factory):
    "Build the whole site once (or use HWNB_DOCS_DIR if CI built it already)."
    return built_docs(tmp_path_factory)


def pages(d):
    return sorted(d.rglob('*.html'))


def test_every_notebook_has_a_page(docs):
    from hwnb.docs import notebooks
    want = {nb.stem for nb in notebooks(ROOT/'nbs')}
    assert {p.stem for p in pages(docs)} == want


def test_pages_open_offline_with_charts(docs, chromium, artifacts):
    for page in pages(docs):
        ctx = chromium.new_context()
        pg = ctx.new_page()
        remote, errors = [], []
        def route(r):
            if r.request.url.startswith(('file:', 'data:', 'blob:', 'about:')): r.continue_()
            else: remote.append(r.request.url); r.abort()
        pg.route('**/*', route)
        pg.on('pageerror', lambda e: errors.append(str(e)))
        pg.goto(page.as_uri())
        n_charts = pg.eval_on_selector_all('.hwnb-chart', 'els => els.length')
        if n_charts:
            pg.wait_for_function(f"document.querySelectorAll('.hwnb-chart svg, .hwnb-chart canvas').length >= {n_charts}", timeout=30_000)
            drawn = pg.eval_on_selector_all('.hwnb-chart', "els => els.map(e => e.querySelectorAll('svg path, svg text, canvas').length)")
            assert all(x > 0 for x in drawn), f'{page.name}: an empty chart {drawn}'
            assert 'chart failed' not in pg.inner_text('body')
        assert pg.query_selector('nav.hwnb-nav a.current'), f'{page.name}: no navigation'
        pg.screenshot(path=str(artifacts/f'docs-{page.stem}.png'), full_page=False)
        assert not remote, f'{page.name} made network requests: {remote}'
        assert not errors, f'{page.name}: JavaScript errors {errors}'
        ctx.close()


def test_roofline_page_has_charts_and_api_reference(docs):
    html = (docs/'02_roofline.html').read_text()
    assert len(re.findall(r'<div class="hwnb-chart" id=', html)) >= 3
    for fn in ['attainable', 'ridge', 'chart', 'bound', 'save']:
        assert re.search(rf'<h3[^>]*>{fn}', html), f'no API reference for {fn}'


def test_report_opens_offline_with_charts(chromium, tmp_path, artifacts):
    "hwnb report's HTML opens in Chromium with its three charts drawn and no network request."
    from hwnb.report import build
    out = build(tmp_path/'report.html', progress=False)
    pg = chromium.new_page()
    remote = []
    pg.route('**/*', lambda r: r.continue_() if r.request.url.startswith(('file:', 'data:', 'blob:', 'about:')) else (remote.append(r.request.url), r.abort()))
    pg.goto(out.as_uri())
    pg.wait_for_function("document.querySelectorAll('.hwnb-chart svg, .hwnb-chart canvas').length >= 3", timeout=60_000)
    assert 'chart failed' not in pg.inner_text('body')
    pg.screenshot(path=str(artifacts/'report.png'), full_page=True)
    assert not remote, remote
    pg.close()
