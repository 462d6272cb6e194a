"The light modules never import torch, onnx, pandas or altair at import time (so `from hwnb import roofline` stays fast)."
import subprocess, sys
import pytest

HEAVY = ['torch', 'onnx', 'onnxruntime', 'altair', 'pandas', 'vl_convert']


@pytest.mark.parametrize('mod', ['hwnb.core', 'hwnb.config', 'hwnb.hardware', 'hwnb.roofline'])
def test_light(mod):
    code = f"import sys, {mod}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == '', f'{mod} imported {r.stdout.strip()} at import time'


def test_from_hwnb_import_roofline():
    r = subprocess.run([sys.executable, '-c', "from hwnb import roofline; print(round(roofline.ridge('h100-sxm')))"],
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == '295'
