"Issue 14: bench's vocabulary is `repeat` and `threads` (old spellings warn, one release), and one function draws the measured roofline."
import inspect, warnings
import pytest
from hwnb import bench as B, llm_calibrate as C


def test_plan_repeat_and_old_spelling():
    p = B.Plan(budget_s=1.0, repeat=2, min_sample_s=0.001, gemm_sizes=(256,))
    import dataclasses
    assert p.repeat == 2 and 'repeat' in {f.name for f in dataclasses.fields(p)}
    with pytest.warns(DeprecationWarning, match="'repeats' is deprecated, use 'repeat'"):
        q = B.Plan(budget_s=1.0, repeats=2, min_sample_s=0.001, gemm_sizes=(256,))
    assert q == p
    with pytest.warns(DeprecationWarning, match='Plan.repeat'):
        assert q.repeats == 2
    assert all(pl.repeat >= 2 for pl in B.PLANS.values())


def test_sample_repeat():
    assert len(B.sample(lambda: None, repeat=4, min_sample_s=0.0)) == 4
    with pytest.warns(DeprecationWarning, match="'repeats' is deprecated"):
        assert len(B.sample(lambda: None, repeats=3, min_sample_s=0.0)) == 3
    with pytest.raises(TypeError, match='unexpected keyword'):
        B.sample(lambda: None, n=3)


@pytest.mark.parametrize('fn', [B.stream_triad_c, B.gemm_reference, C.time_steps, C.measure_steps, C.evaluate])
def test_threads_and_repeat_are_the_names(fn):
    ps = inspect.signature(fn).parameters
    assert 'threads' in ps and 'n_threads' not in ps and 'reps' not in ps


def test_old_names_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning) as rec:
        r = B.gemm_reference(n_threads=1, sizes=(32,), reps=1, bf16=False)
    assert {str(w.message) for w in rec} >= {"gemm_reference(): 'n_threads' is deprecated, use 'threads'", "gemm_reference(): 'reps' is deprecated, use 'repeat'"}
    assert set(r) == {'torch.mm fp32', 'numpy fp32'} and all(v > 0 for v in r.values())
    from hwnb import models
    net = models.build(models.tiny_mistral()).eval()
    with pytest.warns(DeprecationWarning, match="time_steps\\(\\): 'n_threads' is deprecated"):
        df = C.time_steps(net, batch=1, prompt_len=8, warmup=0, repeat=1, n_threads=1)
    assert df.attrs['threads'] == 1


def test_one_measured_roofline_function():
    import hwnb.cli, hwnb.report
    src = inspect.getsource(hwnb.cli) + inspect.getsource(hwnb.report)
    assert src.count('roofline_chart(m') == 2 and "levels='all'" not in src    # both use bench.roofline_chart, neither builds its own
    from hwnb.hardware import get
    m = B.Measured(**{f: getattr(get('epyc-9654'), f) for f in get('epyc-9654').__dataclass_fields__}) 
    m = B.replace(m, name='this-machine', datasheet='epyc-9654')
    spec = str(B.roofline_chart(m).to_dict())
    assert 'this-machine' in spec and 'epyc-9654' in spec      # the measured roofs beside the datasheet chip's
    assert 'epyc-9654' not in str(B.roofline_chart(B.replace(m, datasheet=None)).to_dict())


def test_replace_with_the_old_name():
    with pytest.warns(DeprecationWarning):
        assert B.replace(B.PLANS['quick'], repeats=2).repeat == 2
