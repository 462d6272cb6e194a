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


# --- property tests: from_dict on generated input (issue 19 item 12) ---------------------------------------------
import math
import numpy as np
from hypothesis import given, settings, HealthCheck, strategies as st

_NUMS = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**20, 10**20))
_SCALAR = st.one_of(_NUMS, st.builds(np.float64, _NUMS.map(float)), st.builds(np.float32, st.floats(width=32, allow_nan=False, allow_infinity=False)),
                    st.builds(np.int64, st.integers(-2**62, 2**62)))
_GARBAGE = st.recursive(st.one_of(st.none(), st.booleans(), st.text(max_size=5), _SCALAR, st.just(float('nan')),
                                  st.just(float('inf')), st.builds(np.bool_, st.booleans())),
                        lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), c, max_size=3)),
                        max_leaves=6)
_KEYS = sorted(H._DICT_KEYS) + ['memory', 'colour']


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_KEYS), _GARBAGE, max_size=8))
def test_from_dict_garbage_only_value_or_type_error(d):
    "Arbitrary dicts: either a valid Hardware, or a ValueError/TypeError; never KeyError, AttributeError, IndexError..."
    try:
        hw = H.from_dict(d)
    except (ValueError, TypeError) as e:
        assert str(e), 'an error needs a message'
    else:
        assert isinstance(hw, H.Hardware) and H.validate(hw) is hw


_VALID = dict(name='gen-chip', peak_flops={'bf16': 2e14, 'int8': 4e14}, mem_bw=1e12, mem_capacity=24e9)
# per field, values that are certainly wrong, and the text the error must contain
_BAD = {
    'name': [(7, 'hardware name'), (None, 'hardware name'), ('Gen Chip', 'lowercase'), (['x'], 'hardware name')],
    'peak_flops': [({}, 'peak_flops'), ([2e14], 'peak_flops'), ({'bf16': 'fast'}, 'bf16'), ({'bf17': 1e14}, 'bf17'),
                   ({5: 1e14}, 'peak_flops key'), ({'bf16': -1.0}, 'peak_flops bf16'), ({'bf16': float('nan')}, 'peak_flops bf16'),
                   ({'bf16': True}, 'peak_flops bf16'), ({'bf16': 1.0}, 'peak bf16')],
    'mem_bw': [('1 TB/s', 'bw'), (3.35, 'bandwidth'), (None, 'bandwidth'), ([1e12], 'bw'), (np.bool_(True), 'bw')],
    'mem_capacity': [('24GB', 'capacity'), (-1, 'capacity'), (24, 'capacity'), ({'value': 24e9, 'colour': 1}, 'capacity')],
    'mem_reported': [(23.6, 'reported'), ('23.6 GiB', 'reported'), (1e15, 'reported')],
    'tdp_w': [('350W', 'tdp'), (1e9, 'tdp'), (-5, 'tdp')],
    'kind': [('gpu-ish', 'kind'), (3, 'kind')],
    'year': [('2024', 'year'), (2024.5, 'year'), (True, 'year')],
    'cache': [('l2', 'cache'), ([{'level': 'l2'}], 'cache'), ([{'level': 'l2', 'capacity_bytes': 'big', 'bw': 1e12}], 'cache capacity_bytes')],
    'interconnect': [('nvlink', 'interconnect'), ([{'bw': 1e11}], 'interconnect'), ([{'name': 3, 'bw': 1e11}], 'interconnect name')],
    'full_name': [(42, 'full_name')],
    'source': [(3, 'source')],
    'measured': [('yes', 'measured')],
}
_GOOD = {'mem_reported': st.floats(0.5 * 24e9, 1.05 * 24e9), 'tdp_w': st.floats(10, 1000), 'year': st.integers(1990, 2030),
         'kind': st.sampled_from(H.KINDS), 'full_name': st.text(max_size=10)}


@st.composite
def _case(draw):
    d = dict(_VALID, peak_flops=dict(_VALID['peak_flops']))
    # numbers as numpy scalars or ints sometimes: all are valid
    d['mem_bw'] = draw(st.sampled_from([1e12, np.float64(1e12), np.int64(10**12), 10**12]))
    for k, s in _GOOD.items():
        if draw(st.booleans()): d[k] = draw(s)
    bad = draw(st.lists(st.sampled_from(sorted(_BAD)), max_size=2, unique=True))
    expect = []
    for k in bad:
        v, msg = draw(st.sampled_from(_BAD[k]))
        d[k] = v
        expect.append(msg)
    return d, expect


@settings(max_examples=300, deadline=None)
@given(_case())
def test_from_dict_generated(case):
    "Valid dicts give the Hardware they describe; a corrupted field gives a ValueError/TypeError naming it."
    d, expect = case
    if not expect:
        hw = H.from_dict(d)
        assert hw.mem_bw == 1e12 and type(hw.memory.bw.value) is float
        assert hw.peak_flops('bf16') == 2e14 and hw.mem_capacity == 24e9
        if 'mem_reported' in d:
            assert math.isclose(hw.mem_capacity_reported, float(d['mem_reported']))
        else:
            assert hw.mem_capacity_reported == 24e9
            assert ('installed' if hw.kind == 'cpu' else 'datasheet') in hw.mem_usable.note
        return
    with pytest.raises((ValueError, TypeError)) as e:
        H.from_dict(d)
    assert any(m in str(e.value) for m in expect), f'{e.value!r} names none of {expect}'


def test_mem_reported_from_dict_and_override():
    d = dict(name='rep-chip', peak_flops={'bf16': 1e14}, mem_bw=1e12, mem_capacity=24e9, mem_reported=23.5 * 2**30)
    hw = H.from_dict(d)
    assert hw.mem_capacity_reported == 23.5 * 2**30 and hw.mem_reported.source == 'user-supplied'
    hw2 = H.override('h20', mem_reported=89 * 2**30)
    assert hw2.mem_capacity_reported == 89 * 2**30 and hw2.mem_reported.source == 'user override'
    with pytest.raises(ValueError, match='give it in bytes'):
        H.override('h20', mem_reported=89)              # GiB instead of bytes
    with pytest.raises(TypeError, match='mem_reported'):
        H.override('h20', mem_reported='89 GiB')


def test_load_file_memory_keys(tmp_path):
    p = tmp_path/'rep.toml'
    p.write_text('[sources]\ns = { title = "sheet" }\n[chips.rep-x]\nkind = "gpu"\n[chips.rep-x.peak_flops]\nbf16 = { value = 1e14, source = "s" }\n'
                 '[chips.rep-x.memory]\nlevel = "hbm"\ncapacity_bytes = { value = 1e10, source = "s" }\nbw = { value = 1e12, source = "s" }\n'
                 'reported_bytes = { value = 9.5e9, source = "s" }\n')
    hw = H.load_file(p, register=False)[0]
    assert hw.mem_capacity_reported == 9.5e9
    p.write_text(p.read_text().replace('reported_bytes', 'reported_gib'))
    with pytest.raises(ValueError, match=r"memory has unknown keys \['reported_gib'\]"):
        H.load_file(p, register=False)


def test_override_capacity_drops_reported():
    "A smaller memory variant must not keep the catalog's reported figure of the bigger one."
    hw = H.get('a100-sxm-80gb', mem_capacity=40e9)
    assert hw.mem_reported.value is None and hw.mem_capacity_reported == 40e9
    hw = H.get('a100-sxm-80gb', mem_capacity=40e9, mem_reported=39.5 * 2**30)
    assert hw.mem_capacity_reported == 39.5 * 2**30
    assert H.get('apple-m2-max', mem_capacity=64e9).mem_capacity_reported == 64e9
