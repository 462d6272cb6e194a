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
