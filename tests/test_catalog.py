"The shipped hardware catalog: required entries, complete and sourced figures, plausible ridges, dense peaks."
import math
import pytest
from hwnb import hardware as H
from hwnb.core import DTYPES

REQUIRED = ['h100-sxm', 'h100-pcie', 'h200', 'gh200', 'b200', 'a100-sxm-40gb', 'a100-sxm-80gb', 'l40s', 'l4', 'a10g',
            'rtx-4090', 'mi300x', 'mi325x', 'mi355x', 'gaudi3', 'tpu-v5e', 'tpu-v5p', 'tpu-v6e', 'trainium2',
            'inferentia2', 'epyc-9654', 'graviton4', 'grace',
            # issue 16: the chips users actually have
            'rtx-3090', 'rtx-3090-ti', 'rtx-4080', 'rtx-5090', 'rtx-a6000', 'rtx-6000-ada', 'a40', 'l40', 'a10', 't4',
            'v100-sxm-32gb', 'h20', 'gb200', 'mi250x', 'gaudi2', 'xeon-w9-3495x',
            'apple-m1-max', 'apple-m1-ultra', 'apple-m2-max', 'apple-m2-ultra', 'apple-m3-max', 'apple-m3-ultra']
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
    ('a40', 'bf16', 149.7e12), ('l40', 'fp16', 181.05e12), ('rtx-3090-ti', 'fp16_acc16', 159.99e12), ('t4', 'int8', 130.25e12),
    ('rtx-a6000', 'int8', 309.7e12), ('gb200', 'fp8', 5e15), ('h20', 'fp16', 148e12), ('mi250x', 'bf16', 383e12),
    ('rtx-5090', 'fp4', 1676e12),
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


GEFORCE = ['rtx-3090', 'rtx-3090-ti', 'rtx-4080', 'rtx-4090', 'rtx-5090', 'a10g']
FULL_RATE = ['a40', 'rtx-a6000', 't4', 'l40s']


@pytest.mark.parametrize('name', GEFORCE)
def test_geforce_fp32_accumulate_is_half(name):
    "fp16 is the fp32-accumulate peak; GeForce cards run it at half the fp16-accumulate peak."
    hw = H.get(name)
    assert math.isclose(hw.peak_flops('fp16_acc16') / hw.peak_flops('fp16'), 2, rel_tol=0.01)
    assert hw.peak_flops('bf16') == hw.peak_flops('fp16')


@pytest.mark.parametrize('name', FULL_RATE)
def test_professional_cards_full_rate(name):
    hw = H.get(name)
    assert math.isclose(hw.peak_flops('fp16_acc16'), hw.peak_flops('fp16'), rel_tol=0.015)


def test_fp16_acc16_in_roofline():
    from hwnb import roofline
    assert math.isclose(roofline.ridge('rtx-4090', 'fp16_acc16'), 2 * roofline.ridge('rtx-4090', 'fp16'), rel_tol=0.01)


GiB = 2**30
# figures read in published logs (torch "total capacity", nvidia-smi, ROCm): see each entry's source
REPORTED_GIB = {'h100-sxm': 79.11, 'a100-sxm-40gb': 39.50, 'rtx-4090': 23.64, 'rtx-3090': 23.70, 't4': 14.75,
                'v100-sxm-32gb': 31.74, 'l40': 44.40, 'rtx-6000-ada': 44.43, 'l4': 23034 / 1024, 'mi355x': 287.98,
                'a10g': 22.20, 'a100-sxm-80gb': 79.14, 'rtx-5090': 31.36, 'l40s': 44.42}


@pytest.mark.parametrize('name,gib', sorted(REPORTED_GIB.items()))
def test_reported_memory(name, gib):
    hw = H.get(name)
    assert abs(hw.mem_reported.value / GiB - gib) < 0.006, hw.mem_reported
    assert hw.mem_capacity_reported == hw.mem_reported.value
    assert hw.mem_reported.source in hw.sources


@pytest.mark.parametrize('name', [n for n in ALL if H.get(n).kind in ACCELERATOR_KINDS | {'soc'}])
def test_reported_memory_or_reason(name):
    "Every accelerator states its device-reported memory, or why it is missing (never the silent default)."
    f = H.get(name).mem_reported
    assert f.value is not None or (f.reason and f.reason != 'not in the catalog entry'), f'{name}: give reported_bytes or its reason'


APPLE_LIMIT_GIB = {'apple-m1-max': 48, 'apple-m1-ultra': 96, 'apple-m2-max': 72, 'apple-m2-ultra': 144, 'apple-m3-max': 96, 'apple-m3-ultra': 239}


@pytest.mark.parametrize('name,gib', sorted(APPLE_LIMIT_GIB.items()))
def test_apple_working_set_limit(name, gib):
    hw = H.get(name)
    assert hw.mem_reported.value is None and hw.mem_limit.value == gib * GiB
    assert hw.mem_capacity_reported == gib * GiB < hw.mem_capacity / 1e9 * GiB   # Apple's '256GB' is 256 GiB in hardware
    assert 'working-set' in hw.mem_limit.note or 'working set' in hw.mem_limit.formula


def test_usable_fallbacks():
    cpu, gpu = H.get('epyc-9654'), H.get('h20')
    assert cpu.mem_capacity_reported == cpu.mem_capacity and 'installed' in cpu.mem_usable.note
    assert gpu.mem_capacity_reported == gpu.mem_capacity and 'datasheet' in gpu.mem_usable.note
