"The shipped hardware catalog: required entries, complete and sourced figures, plausible ridges, dense peaks."
import math
import pytest
from hwnb import hardware as H
from hwnb.core import DTYPES

REQUIRED = ['h100-sxm', 'h100-pcie', 'h200', 'gh200', 'b200', 'a100-sxm-40gb', 'a100-sxm-80gb', 'l40s', 'l4', 'a10g',
            'rtx-4090', 'mi300x', 'mi325x', 'mi355x', 'gaudi3', 'tpu-v5e', 'tpu-v5p', 'tpu-v6e', 'trainium2',
            'inferentia2', 'epyc-9654', 'graviton4', 'grace']
ACCELERATOR_KINDS = {'gpu', 'tpu', 'npu', 'edge'}
ALL = H.names()


def test_required_entries_present():
    missing = [n for n in REQUIRED if n not in ALL]
    assert not missing, f'catalog lacks {missing}'
    kinds = {H.get(n).kind for n in ALL}
    assert {'soc', 'edge', 'cpu'} <= kinds, 'need an Apple M-series (soc), an edge accelerator and CPUs'
    assert any(n.startswith('apple-m') for n in ALL)
    assert any(n.startswith('mi4') for n in ALL), 'MI400-series entry expected (figures are published)'


@pytest.mark.parametrize('name', ALL)
def test_every_figure_sourced(name):
    hw = H.get(name)
    assert hw.full_name and hw.vendor and hw.kind in H.KINDS
    for what, unit, f in H._figure_rows(hw):
        if f.value is None:
            assert f.reason, f'{name} {what}: a missing figure needs a reason'
        else:
            assert f.source or f.formula, f'{name} {what}: unsourced'
        if f.source:
            src = hw.sources.get(f.source)
            assert src, f'{name} {what}: source id {f.source!r} not in the file\'s [sources]'
            assert src.get('url', '').startswith('https://'), f'{name}: source {f.source} has no https URL'
    assert hw.memory.capacity.value and hw.memory.bw.value


@pytest.mark.parametrize('name', ALL)
def test_units_and_ridge(name):
    hw = H.get(name)
    assert set(hw.peaks) <= set(DTYPES)
    for d in hw.dtypes:
        assert 1e9 <= hw.peak_flops(d) <= 1e17
    assert 1e9 <= hw.mem_bw <= 1e14 and 1e8 <= hw.mem_capacity <= 1e13
    if hw.kind in ACCELERATOR_KINDS and 'bf16' in hw.dtypes:
        r = hw.peak_flops('bf16') / hw.mem_bw
        assert 10 <= r <= 2000, f'{name}: bf16 ridge {r:.1f} FLOP/B is implausible'


@pytest.mark.parametrize('name,dtype,dense', [
    ('h100-sxm', 'bf16', 989.4e12), ('h100-sxm', 'fp8', 1978.9e12), ('a100-sxm-80gb', 'bf16', 312e12),
    ('mi300x', 'bf16', 1307.4e12), ('mi300x', 'fp8', 2614.9e12), ('tpu-v5e', 'bf16', 197e12), ('l4', 'fp8', 242.5e12),
])
def test_dense_not_sparse(name, dtype, dense):
    "Spot checks against datasheet dense figures: a sparse figure (2x) would fail."
    assert math.isclose(H.get(name).peak_flops(dtype), dense, rel_tol=0.01)


def test_no_units_dtypes_absent():
    assert 'fp8' not in H.get('a100-sxm-80gb').dtypes
    assert 'int4' not in H.get('h100-sxm').dtypes


def test_catalog_table():
    df = H.catalog()
    assert set(df.name) == set(ALL)
    assert (df.mem_bw > 0).all()
