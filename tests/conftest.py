import os, shutil
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
ARTIFACTS = ROOT/'test-artifacts'


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
