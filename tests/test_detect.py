"Machine detection from fixture copies of /proc and sysfs: an x86 AVX-512 server, an x86 AVX2 desktop and an Arm server."
from pathlib import Path
import pytest
from hwnb.detect import detect, parse_cpuinfo, read_caches, match_catalog, Cache
from hwnb import local

FIX = Path(__file__).parent/'fixtures'/'machines'


def test_epyc_genoa_avx512_server():
    m = detect(FIX/'epyc-9654-genoa')
    assert m.cpu_model == 'AMD EPYC 9654 96-Core Processor' and m.arch == 'x86_64'
    assert (m.logical_cpus, m.physical_cores, m.sockets) == (192, 96, 1)
    assert {'avx2', 'avx512', 'avx512_bf16', 'fma'} <= set(m.features) and 'amx_bf16' not in m.features
    l1, l2, l3 = m.caches
    assert (l1.name, l1.size_bytes, l1.shared_by, l1.instances) == ('l1d', 32 * 2**10, 2, 96)
    assert (l2.name, l2.size_bytes, l2.total_bytes) == ('l2', 2**20, 96 * 2**20)
    assert (l3.size_bytes, l3.instances, l3.total_bytes) == (32 * 2**20, 12, 384 * 2**20)     # 12 CCDs
    assert m.mem_bytes == 792_000_000 * 1024
    assert m.cpu_catalog == 'epyc-9654' and m.catalog.name == 'epyc-9654'
    assert m.gpus == () and any('CPU only' in n for n in m.notes)


def test_skylake_avx2_desktop():
    m = detect(FIX/'i7-6700-skylake')
    assert (m.logical_cpus, m.physical_cores) == (8, 4)
    assert 'avx2' in m.features and 'fma' in m.features
    assert not any(f.startswith(('avx512', 'amx')) for f in m.features)
    assert [c.name for c in m.caches] == ['l1d', 'l2', 'l3']
    assert m.cache(3).total_bytes == 8 * 2**20 and m.cache(2).instances == 4
    assert m.cpu_catalog is None and m.catalog is None          # no catalog entry: say so, don't guess


def test_graviton4_arm_server():
    m = detect(FIX/'graviton4-neoverse-v2')
    assert m.arch == 'aarch64'
    assert m.cpu_model == 'AWS Graviton4 (Neoverse-V2)'         # from CPU part 0xd4f and the DMI vendor
    assert (m.logical_cpus, m.physical_cores) == (96, 96)       # no SMT
    assert {'neon', 'sve', 'sve2', 'bf16', 'i8mm'} <= set(m.features)
    assert m.cache(2).size_bytes == 2 * 2**20 and m.cache(3).instances == 1
    assert m.cpu_catalog == 'graviton4'


def test_fingerprints_differ_and_are_stable():
    fps = {n.name: detect(n).fingerprint for n in FIX.iterdir()}
    assert len(set(fps.values())) == 3
    assert detect(FIX/'i7-6700-skylake').fingerprint == fps['i7-6700-skylake']


def test_missing_files_degrade_gracefully(tmp_path):
    m = detect(tmp_path)                       # no /proc, no /sys: falls back to platform, says what it lacks
    assert m.physical_cores >= 1 and m.caches == () and m.mem_bytes is None
    assert any('cache levels unknown' in n for n in m.notes)


def test_bad_cpuinfo():
    with pytest.raises(ValueError, match="no 'processor'"):
        parse_cpuinfo('garbage\n')


@pytest.mark.parametrize('name,hw', [('NVIDIA H100 80GB HBM3', 'h100-sxm'), ('NVIDIA H100 PCIe', 'h100-pcie'),
                                     ('NVIDIA GH200 480GB', 'gh200'), ('NVIDIA H200', 'h200'), ('NVIDIA A100-SXM4-80GB', 'a100-sxm-80gb'),
                                     ('NVIDIA A100-SXM4-40GB', 'a100-sxm-40gb'), ('NVIDIA L4', 'l4'), ('NVIDIA L40S', 'l40s'),
                                     ('AMD Instinct MI300X', 'mi300x'), ('NVIDIA A100 80GB PCIe', None), ('Tesla T4', None)])
def test_match_catalog(name, hw):
    assert match_catalog(name) == hw


def test_local_this_machine():
    m = local()
    assert m.physical_cores >= 1 and len(m.fingerprint) == 16


@pytest.mark.parametrize('meminfo', [b'MemFree: 1 kB\n', b'\xff\xfe garbage \x00\n'])
def test_unreadable_meminfo_is_unknown_with_a_note(tmp_path, meminfo):
    "A meminfo without MemTotal (or not text) gives no memory size, and a note says so; never an invented one."
    (tmp_path/'proc').mkdir()
    (tmp_path/'proc/meminfo').write_bytes(meminfo)
    m = detect(tmp_path)
    assert m.mem_bytes is None and any('memory size unknown' in n for n in m.notes)


from hypothesis import given, settings, strategies as st


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60) | st.sampled_from([b'MemTotal: 16384 kB\n', b'MemTotal:\n', b'MemTotal: -5 kB\n', b'MemTotal: 1e9 kB\n',
                                                  b'MemTotal: 99999999999999999999999 kB\n', b'MemTotal: 0 kB\n']), st.booleans())
def test_detect_any_meminfo(tmp_path_factory, meminfo, present):
    "Whatever /proc/meminfo holds: a memory size > 0, or None with a note; never an exception."
    d = tmp_path_factory.mktemp('root')
    if present:
        (d/'proc').mkdir()
        (d/'proc/meminfo').write_bytes(meminfo)
    m = detect(d)
    assert (m.mem_bytes is None and any('memory size unknown' in n for n in m.notes)) or m.mem_bytes > 0
    assert len(m.fingerprint) == 16
