"settings.ini precedence: argument > HWNB_* env > nearest settings.ini with [hwnb] > defaults."
import os
import pytest
from hwnb.config import settings, setting, find_settings, DEFAULTS


def write(p, text):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_defaults_without_file(tmp_path):
    s = settings(tmp_path, env={})
    assert (s.hardware, s.accuracy_tolerance, s.max_chart_points) == ('h100-sxm', 0.02, 5000)
    assert set(s.origin.values()) == {'default'}


def test_precedence(tmp_path):
    write(tmp_path/'settings.ini', '[hwnb]\nhardware = mi300x\ntime_budget_s = 5\naccuracy_tolerance = 0.01\n')
    sub = tmp_path/'a'/'b'; sub.mkdir(parents=True)
    s = settings(sub, env={'HWNB_TIME_BUDGET_S': '7'}, accuracy_tolerance=0.03)
    assert s.hardware == 'mi300x' and s.origin['hardware'] == str(tmp_path/'settings.ini')
    assert s.time_budget_s == 7 and s.origin['time_budget_s'] == 'env HWNB_TIME_BUDGET_S'
    assert s.accuracy_tolerance == 0.03 and s.origin['accuracy_tolerance'] == 'argument'


def test_foreign_settings_ini_passed_over(tmp_path):
    write(tmp_path/'settings.ini', '[hwnb]\nhardware = tpu-v5e\n')
    write(tmp_path/'proj'/'settings.ini', '[DEFAULT]\nlib_name = something\n')   # an old nbdev settings.ini
    assert find_settings(tmp_path/'proj') == tmp_path/'settings.ini'
    assert settings(tmp_path/'proj', env={}).hardware == 'tpu-v5e'


def test_relative_cache_dir(tmp_path):
    write(tmp_path/'settings.ini', '[hwnb]\ncache_dir = cache\n')
    assert settings(tmp_path, env={}).cache_dir == tmp_path.resolve()/'cache'


@pytest.mark.parametrize('text,msg', [
    ('[hwnb]\naccuracy_tolerance = 1.5\n', 'out of range'),
    ('[hwnb]\nmax_chart_points = lots\n', 'not a valid int'),
    ('[hwnb]\ntolerance = 0.1\n', "unknown setting 'tolerance'"),
])
def test_bad_file_values(tmp_path, text, msg):
    write(tmp_path/'settings.ini', text)
    with pytest.raises(ValueError, match=msg):
        settings(tmp_path, env={})


def test_bad_env_and_args(tmp_path):
    with pytest.raises(ValueError, match='env HWNB_TIME_BUDGET_S'):
        settings(tmp_path, env={'HWNB_TIME_BUDGET_S': '-3'})
    with pytest.raises(ValueError, match="unknown setting 'hw'"):
        settings(tmp_path, env={}, hw='x')


def test_repo_settings_ini_is_hwnbs_only():
    "The shipped settings.ini has only hwnb's keys and matches the built-in defaults."
    from pathlib import Path
    import configparser
    root = Path(__file__).resolve().parent.parent
    cp = configparser.ConfigParser(); cp.read(root/'settings.ini')
    assert cp.sections() == ['hwnb']
    s = settings(root, env={})
    assert (s.hardware, s.time_budget_s, s.accuracy_tolerance, s.max_chart_points) == \
           (DEFAULTS.hardware, DEFAULTS.time_budget_s, DEFAULTS.accuracy_tolerance, DEFAULTS.max_chart_points)


def test_setting_explicit_wins():
    assert setting('max_chart_points', 7) == 7
    with pytest.raises(ValueError, match='closest matches: hardware'):
        setting('hardwar')


# --- issue 19 item 10: %, non-UTF-8, duplicate keys, a BOM ---
from pathlib import Path
from hypothesis import given, settings as hsettings, strategies as st
from hwnb.config import read_ini, SETTING_KEYS


def test_percent_is_plain_text(tmp_path):
    "A '%' used to raise configparser.InterpolationSyntaxError."
    write(tmp_path/'settings.ini', '[hwnb]\ncache_dir = /tmp/100%-hwnb\n')
    assert settings(tmp_path, env={}).cache_dir == Path('/tmp/100%-hwnb')


def test_bom_is_read(tmp_path):
    "A BOM used to hide the [hwnb] section, so the file was silently ignored."
    (tmp_path/'settings.ini').write_bytes(b'\xef\xbb\xbf[hwnb]\nhardware = mi300x\n')
    assert settings(tmp_path, env={}).hardware == 'mi300x'


@pytest.mark.parametrize('raw,msg', [
    (b'[hwnb]\nhardware = caf\xe9\n', r'settings.ini, line 2: not UTF-8'),
    (b'[hwnb]\nhardware = mi300x\nhardware = l4\n', r"line 3: duplicate key 'hardware' in \[hwnb\]"),
    (b'[hwnb]\nhardware = mi300x\n[hwnb]\nhardware = l4\n', r'line 3: duplicate section \[hwnb\]'),
    (b'[hwnb]\nhardware mi300x\n', r"line 2: cannot parse 'hardware mi300x'"),
    (b'[hwnb]\naccuracy_tolerance = 0.5\nmax_chart_points = 2.5\n', r'line 3'),
    (b'[hwnb]\n\nhardwre = mi300x\n', r"line 3: unknown setting 'hardwre'"),
    (b'[hwnb]\ntime_budget_s = nan\n', r'line 2.*out of range'),
])
def test_unreadable_files_name_file_and_line(tmp_path, raw, msg):
    (tmp_path/'settings.ini').write_bytes(raw)
    with pytest.raises(ValueError, match=msg) as e:
        settings(tmp_path, env={})
    assert str(tmp_path/'settings.ini') in str(e.value)


def test_default_section_is_not_inherited(tmp_path):
    write(tmp_path/'settings.ini', '[DEFAULT]\nlib_name = other\n[hwnb]\nhardware = l4\n')
    assert settings(tmp_path, env={}).hardware == 'l4'


def test_broken_foreign_file_is_passed_over(tmp_path):
    write(tmp_path/'settings.ini', '[hwnb]\nhardware = tpu-v5e\n')
    (tmp_path/'proj').mkdir()
    (tmp_path/'proj'/'settings.ini').write_bytes(b'[tool]\nx = 1\nx = 2\n\xff')
    assert settings(tmp_path/'proj', env={}).hardware == 'tpu-v5e'


lines = st.one_of(st.sampled_from([f'{k} = {v}' for k in SETTING_KEYS for v in ('1', '0.5', 'mi300x', '%', '%(x)s', '', 'nan', '-1', '1e400')]),
                  st.sampled_from(['[hwnb]', '[DEFAULT]', '[other]', '; c', '# c', '  indented = 1', '=', ':x', '[', 'k']),
                  st.text(max_size=20))


@hsettings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=8), st.booleans(), st.binary(max_size=3))
def test_any_settings_ini_is_read_or_named(tmp_path_factory, body, bom, junk):
    d = tmp_path_factory.mktemp('ini')
    raw = (b'\xef\xbb\xbf' if bom else b'') + ('[hwnb]\n' + '\n'.join(body)).encode('utf-8', 'surrogatepass') + junk
    (d/'settings.ini').write_bytes(raw)
    try: s = settings(d, env={})
    except ValueError as e:
        assert str(d/'settings.ini') in str(e) and ('line' in str(e) or 'cannot read' in str(e)), str(e)
        return
    assert 0 <= s.accuracy_tolerance < 1 and s.time_budget_s > 0 and s.max_chart_points >= 1 and s.hardware
    import math
    assert math.isfinite(s.time_budget_s)


@hsettings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([f'HWNB_{k.upper()}' for k in SETTING_KEYS] + ['HWNB_OTHER']),
                       st.text(max_size=8) | st.sampled_from(['nan', 'inf', '-1', '0', '1e309', '0.5', '5000', '2.5', 'mi300x']), max_size=3))
def test_any_environment_is_read_or_named(tmp_path_factory, env):
    try: s = settings(tmp_path_factory.getbasetemp(), env=env)
    except ValueError as e:
        assert 'from env HWNB_' in str(e), str(e); return
    import math
    assert 0 <= s.accuracy_tolerance < 1 and math.isfinite(s.time_budget_s) and s.time_budget_s > 0 and s.max_chart_points >= 1
