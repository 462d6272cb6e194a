"User hardware: from_dict, register, load_file, override; and every error path of the hardware API."
import pytest
from hwnb import hardware as H


def test_get_unknown_names_closest():
    with pytest.raises(ValueError, match=r"unknown hardware 'h100'.*closest matches: .*h100-sxm"):
        H.get('h100')
    with pytest.raises(ValueError, match='mi300x'):
        H.get('mi-300x')
    with pytest.raises(TypeError):
        H.get(42)


def test_dtype_without_units_lists_the_ones_it_has():
    with pytest.raises(ValueError, match=r"a100-sxm-80gb has no fp8 units; it has: fp64, fp32, tf32, bf16"):
        H.get('a100-sxm-80gb').peak_flops('fp8')


def test_unknown_dtype():
    with pytest.raises(ValueError, match=r"unknown dtype 'bfloat16'; closest matches: bf16"):
        H.get('h100-sxm').peak_flops('bfloat16')


def test_from_dict_minimal_and_register():
    d = dict(name='test-chip', peak_flops={'bf16': 100e12, 'fp8': 200e12}, mem_bw=1e12, mem_capacity=16e9)
    hw = H.from_dict(d)
    assert hw.peak_flops('fp8') == 200e12 and hw.mem_bw == 1e12 and hw.mem_capacity == 16e9
    assert hw.tdp_w is None and hw.tdp.reason
    assert 'test-chip' not in H.names()
    H.from_dict(d, register=True)
    try:
        assert H.get('test-chip') == hw
        from hwnb import roofline
        assert roofline.ridge('test-chip') == 100.0
    finally:
        H._user.pop('test-chip')


@pytest.mark.parametrize('bad,msg', [
    (dict(peak_flops={'bf16': 1e14}, mem_bw=1e12, mem_capacity=1e10), "missing \\['name'\\]"),
    (dict(name='x', peak_flops={}, mem_bw=1e12, mem_capacity=1e10), 'non-empty dict'),
    (dict(name='x', peak_flops={'bf16': 1e14}, mem_bw=1e12, mem_capacity=1e10, colour='red'), "unknown keys \\['colour'\\]"),
    (dict(name='X Chip', peak_flops={'bf16': 1e14}, mem_bw=1e12, mem_capacity=1e10), 'lowercase with hyphens'),
    (dict(name='x', peak_flops={'bf16': 1e14}, mem_bw=3.35, mem_capacity=1e10), 'check its unit'),
    (dict(name='x', peak_flops={'bf16': -1.0}, mem_bw=1e12, mem_capacity=1e10), '>= 0'),
    (dict(name='x', peak_flops={'fp9': 1e14}, mem_bw=1e12, mem_capacity=1e10), "unknown dtype"),
])
def test_from_dict_errors(bad, msg):
    with pytest.raises(ValueError, match=msg):
        H.from_dict(bad)


def test_override_power_capped():
    capped = H.override('h100-pcie', tdp_w=300, mem_bw=1.8e12, name='h100-pcie-capped')
    assert capped.tdp_w == 300 and capped.mem_bw == 1.8e12 and capped.name == 'h100-pcie-capped'
    assert capped.tdp.source == 'user override'
    assert H.get('h100-pcie').tdp_w == 350          # the catalog is untouched
    assert H.get('h100-sxm', mem_bw=3e12).mem_bw == 3e12
    with pytest.raises(ValueError, match='cannot override'):
        H.override('h100-sxm', sm_count=1)


def test_load_file_json(tmp_path):
    import json
    p = tmp_path/'mine.json'
    p.write_text(json.dumps({'sources': {'s': {'title': 'my sheet'}}, 'chips': {'json-chip': {
        'kind': 'npu', 'peak_flops': {'int8': {'value': 50e12, 'source': 's'}},
        'memory': {'level': 'lpddr5', 'capacity_bytes': {'value': 8e9, 'source': 's'}, 'bw': {'value': 100e9, 'source': 's'}}}}}))
    hws = H.load_file(p, register=False)
    assert hws[0].peak_flops('int8') == 50e12 and 'json-chip' not in H.names()


def test_load_file_errors(tmp_path):
    with pytest.raises(ValueError, match='no hardware file'):
        H.load_file(tmp_path/'nope.toml')
    bad = tmp_path/'bad.toml'
    bad.write_text('[chips.x]\nkind = "gpu"\n[chips.x.peak_flops]\nbf16 = { value = 1e14, source = "nowhere" }\n'
                   '[chips.x.memory]\nlevel = "hbm"\ncapacity_bytes = { value = 1e10, source = "nowhere" }\nbw = { value = 1e12, source = "nowhere" }\n')
    with pytest.raises(ValueError, match=r"cites sources missing from \[sources\]: \['nowhere'\]"):
        H.load_file(bad)
    bad.write_text('not toml [')
    with pytest.raises(ValueError, match='cannot parse'):
        H.load_file(bad)
