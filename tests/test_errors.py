"Every bad input of the roofline API raises a ValueError that says what is wrong."
import numpy as np
import pandas as pd
import pytest
from hwnb import roofline as R


@pytest.mark.parametrize('i', [-1.0, -1e-9, [1.0, -2.0], np.array([0.0, -1.0])])
def test_negative_intensity(i):
    with pytest.raises(ValueError, match='must be >= 0'):
        R.attainable('h100-sxm', i)
    with pytest.raises(ValueError, match='must be >= 0'):
        R.bound('h100-sxm', i)


@pytest.mark.parametrize('i', [float('nan'), [1.0, float('nan')]])
def test_nan_intensity(i):
    with pytest.raises(ValueError, match='NaN'):
        R.attainable('h100-sxm', i)


def test_zero_and_inf_intensity_are_valid():
    assert R.attainable('h100-sxm', 0) == 0.0
    assert R.attainable('h100-sxm', float('inf')) == 989.4e12


def test_non_numeric_intensity():
    with pytest.raises(ValueError, match='must be a number'):
        R.attainable('h100-sxm', 'ten')


def test_unknown_dtype():
    with pytest.raises(ValueError, match=r"unknown dtype 'fp12'"):
        R.attainable('h100-sxm', 1.0, dtype='fp12')
    with pytest.raises(ValueError, match=r"closest matches: bf16"):
        R.ridge('h100-sxm', 'bf61')


def test_unknown_hardware_closest():
    with pytest.raises(ValueError, match=r"unknown hardware 'mi300'; closest matches: mi300x"):
        R.ridge('mi300')
    with pytest.raises(ValueError, match=r"closest matches: .*tpu-v5e"):
        R.chart(['tpu-v5'])


def test_dtype_without_units():
    with pytest.raises(ValueError, match=r"a100-sxm-80gb has no fp8 units; it has: .*bf16"):
        R.ridge('a100-sxm-80gb', 'fp8')
    with pytest.raises(ValueError, match=r"has no fp8 units"):
        R.chart('a100-sxm-80gb', dtypes=['fp8'])


def test_unknown_or_unpublished_level():
    with pytest.raises(ValueError, match=r"unknown memory level of h100-sxm 'l3'"):
        R.ridge('h100-sxm', level='l3')
    with pytest.raises(ValueError, match='bandwidth is unknown'):
        R.ridge('h100-sxm', level='l2')


def test_place_errors():
    with pytest.raises(ValueError, match=r"missing columns \['bytes'\]"):
        R.place(pd.DataFrame({'op': ['mm'], 'flops': [1.0]}), 'h100-sxm')
    with pytest.raises(TypeError):
        R.place([1, 2], 'h100-sxm')


def test_efficiency_and_time_errors():
    with pytest.raises(ValueError, match='time_s must be > 0'):
        R.efficiency('h100-sxm', 1e9, 1e6, 0.0)
    with pytest.raises(ValueError, match='>= 0'):
        R.time_bound('h100-sxm', -1.0, 1.0)
