import os, shutil
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
ARTIFACTS = ROOT/'test-artifacts'


def built_docs(tmp_path_factory, only=None) -> Path:
    "The docs site CI built (HWNB_DOCS_DIR), else one built here (`only` those notebooks, or all of them)."
    pre = os.environ.get('HWNB_DOCS_DIR')
    if pre and (Path(pre)/'index.html').exists(): return Path(pre).resolve()
    from hwnb.docs import build
    out = tmp_path_factory.mktemp('docs')
    build(ROOT/'nbs', out, only=only, progress=False)
    return out


def browser_or_skip():
    "Launch Debian's Chromium through Playwright; skip if unavailable, unless HWNB_REQUIRE_BROWSER=1 (CI) makes it a failure."
    required = os.environ.get('HWNB_REQUIRE_BROWSER') == '1'
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required: raise
        pytest.skip('playwright is not installed (pip install -e ".[browser]")')
    if not Path(CHROMIUM).exists():
        if required: pytest.fail(f'{CHROMIUM} is missing; install it with apt-get install chromium')
        pytest.skip(f'{CHROMIUM} is missing (apt-get install chromium)')
    return sync_playwright


@pytest.fixture(scope='session')
def chromium():
    sync_playwright = browser_or_skip()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope='session')
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


SHARED = Path(os.environ.get('HWNB_SHARED_DIR', ROOT.parent/'shared'))


def shared_or_skip(*parts) -> Path:
    "The path `../shared/<parts>` (the project's shared real data); skip if it is absent, unless HWNB_REQUIRE_SHARED=1 (CI) makes that a failure."
    p = SHARED.joinpath(*parts)
    if p.exists(): return p
    msg = f'{p} is missing: these tests read the real published data in ../shared (set HWNB_SHARED_DIR to its location)'
    if os.environ.get('HWNB_REQUIRE_SHARED') == '1': pytest.fail(msg)
    pytest.skip(msg)
