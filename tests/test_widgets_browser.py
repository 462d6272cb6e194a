"The explorers live in JupyterLab: a real server on 127.0.0.1 with a token, driven by Playwright in Debian's Chromium."
import os, secrets, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import nbformat
import pytest

pytestmark = pytest.mark.browser


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    pytest.importorskip('jupyterlab')
    root = tmp_path_factory.mktemp('lab')
    nb = nbformat.v4.new_notebook()
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3 (ipykernel)', 'language': 'python'}
    nb.cells = [nbformat.v4.new_code_cell("from hwnb.widgets import RooflineExplorer\nex = RooflineExplorer(['h100-sxm', 'mi300x'])\nex"),
                nbformat.v4.new_code_cell("from hwnb.widgets import DeploymentPlanner\ndp = DeploymentPlanner('mistral-7b', 'h100-sxm')\ndp"),
                nbformat.v4.new_code_cell("from hwnb.widgets import ProfileExplorer\nfrom hwnb import llm\n"
                                          "pe = ProfileExplorer(llm.analyze('mistral-7b', 'h100-sxm', batch=8).ops, 'h100-sxm', k=8)\npe"),
                nbformat.v4.new_code_cell("import tempfile, torch\nfrom torch import nn\nfrom hwnb.optimize import sweep\n"
                                          "from hwnb.widgets import OptimizationBoard\ntorch.manual_seed(0)\n"
                                          "clf = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).eval()\nxs = torch.randn(256, 64)\n"
                                          "ref = clf(xs).argmax(-1)\nacc = lambda m: float((m(xs).argmax(-1) == ref).float().mean())\n"
                                          "res = sweep(clf, torch.randn(8, 64), acc, ['bf16', 'prune-l1-50'], cache=tempfile.mkdtemp(), memory=False, "
                                          "repeat=3, threads=1, progress=False)\nob = OptimizationBoard(res)\nob")]
    nbformat.write(nb, root/'explorer.ipynb')
    port, token = free_port(), secrets.token_hex(16)
    log = open(root/'lab.log', 'w')
    env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(root/'.jupyter'), 'JUPYTER_RUNTIME_DIR': str(root/'.runtime')}
    proc = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
                             f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}',
                             '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
                             '--ServerApp.open_browser=False', '--allow-root', '--LabApp.extension_manager=readonly'], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2); break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError('JupyterLab did not start:\n' + (root/'lab.log').read_text()[-3000:])
                time.sleep(0.5)
        yield url, token, root
    finally:
        proc.terminate()
        try: proc.wait(15)
        except subprocess.TimeoutExpired: proc.kill()
        log.close()


def test_explorers_in_jupyterlab(lab, chromium, artifacts):
    url, token, root = lab
    ctx = chromium.new_context(viewport={'width': 1400, 'height': 1100})
    page = ctx.new_page()
    try:
        page.goto(f'{url}/lab/tree/explorer.ipynb?token={token}', timeout=90_000)
        page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=90_000)
        page.wait_for_selector('.jp-Notebook-ExecutionIndicator, .jp-KernelStatus', timeout=90_000)
        select = page.locator('.jp-Dialog button', has_text='Select')     # JupyterLab may ask which kernel to start
        try: select.first.click(timeout=20_000)
        except Exception: pass
        page.wait_for_function("document.body.innerText.includes('| Idle')", timeout=90_000)   # the kernel is up
        page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
        page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()
        page.wait_for_selector('.widget-select-multiple select', timeout=120_000)
        page.wait_for_selector('.hwnb-ridges table', timeout=60_000)
        page.wait_for_selector('.vega-embed svg, .vega-embed canvas', timeout=60_000)
        before = page.inner_text('.hwnb-ridges')
        assert 'mi300x' in before and 'tpu-v5e' not in before
        page.locator('.widget-select-multiple select').first.select_option(['h100-sxm', 'mi300x', 'tpu-v5e'])
        page.wait_for_function("document.querySelector('.hwnb-ridges').innerText.includes('tpu-v5e')", timeout=60_000)
        after = page.inner_text('.hwnb-ridges')
        assert after != before and 'tpu-v5e' in after
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts/'widgets-roofline-explorer.png'), full_page=True)

        # DeploymentPlanner: a change of weight format changes the memory figure
        page.wait_for_selector('.hwnb-metrics td', timeout=60_000)
        mem = lambda: page.inner_text('.hwnb-metrics td.hwnb-memory')
        before = mem()
        weights = page.locator('.widget-dropdown', has=page.locator('label', has_text='weights')).locator('select')
        weights.select_option('fp8')
        page.wait_for_function(f"document.querySelector('.hwnb-metrics td.hwnb-memory').innerText !== {before!r}", timeout=60_000)
        assert mem() != before
        page.locator('.hwnb-metrics').scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts/'widgets-deployment-planner.png'), full_page=True)

        # ProfileExplorer: clicking a point selects its row in the table
        rows = page.locator('.widget-select', has=page.locator('label', has_text='rows')).locator('select')
        assert rows.evaluate('s => s.selectedIndex') == -1
        point = page.locator('.jp-Cell').nth(2).locator('.vega-embed svg path[aria-roledescription="circle"]').first   # an op, not a ridge marker
        point.scroll_into_view_if_needed()
        point.click(force=True)
        page.wait_for_function("(() => { const s = [...document.querySelectorAll('.widget-select select')].pop(); return s && s.selectedIndex >= 0; })()",
                               timeout=60_000)
        page.screenshot(path=str(artifacts/'widgets-profile-explorer.png'), full_page=True)

        # OptimizationBoard: a new gate tolerance re-judges the variants
        page.wait_for_selector('.hwnb-gate', timeout=120_000)
        gate = lambda: page.inner_text('.hwnb-gate')
        before = gate()
        assert 'tolerance 2.00%' in before
        readout = page.locator('.jp-Cell').nth(3).locator('.widget-readout').first
        readout.scroll_into_view_if_needed()
        readout.click()
        page.keyboard.press('Control+A')
        page.keyboard.type('15')
        page.keyboard.press('Enter')
        page.wait_for_function("document.querySelector('.hwnb-gate').innerText.includes('tolerance 15.00%')", timeout=60_000)
        assert gate() != before
        page.screenshot(path=str(artifacts/'widgets-optimization-board.png'), full_page=True)
    except Exception:
        page.screenshot(path=str(artifacts/'widgets-roofline-explorer-failure.png'), full_page=True)
        raise
    finally:
        ctx.close()
