"""Vectorised MinHash: bit-equality with datasketch, LSH parameters, clustering, no all-pairs blowup."""

from __future__ import annotations

import random
import time

import numpy as np
import polars as pl
import pytest
from datasketch import MinHash, MinHashLSH

from extractscan.cluster.minhash import (
    EMPTY_VALUE,
    SCHEME,
    band_keys,
    cluster_texts,
    datasketch_signature,
    exact_jaccard,
    lsh_params,
    minhash_signatures,
    near_duplicate_clusters,
    pair_jaccard,
    permutations,
    shingle_hash32,
    shingles,
)
from extractscan.cluster.normalize import normalize_expr, stable_hash64
from extractscan.config import ClusterConfig

VOCAB = str.split(
    "the a of to and in is it you that he was for on are with as his they be at one have this from or had by "
    "hot word but what some we can out other were all there when up use your how said an each she which do "
    "their time if will way about many then them write would like so these her long make thing see him two "
    "has look more day could go come did number sound no most people my over know water than call first who "
    "café naïve über 日本 résumé ✓ 42 3.14 x=1; f(x) {json} <tag> — … привет мир"
)


def random_text(rng: random.Random, max_words: int = 140) -> str:
    n = rng.choice([0, 1, 2, 3, rng.randint(4, max_words)])
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def normalised(texts: list[str | None]) -> pl.Series:
    return pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(normalize_expr("t")).to_series()


@pytest.mark.parametrize(
    "cfg",
    [
        ClusterConfig(),
        ClusterConfig(shingle_words=1, num_perm=64, seed=7, max_prompt_words=30),
        ClusterConfig(shingle_words=5, num_perm=96, seed=123, max_prompt_words=60),
    ],
    ids=["default", "unigram-64", "5gram-96"],
)
def test_signatures_bit_identical_to_datasketch(cfg: ClusterConfig) -> None:
    rng = random.Random(cfg.seed)
    raw: list[str | None] = [random_text(rng) for _ in range(300)]
    raw += ["", None, "   ", "one", "two words", "exactly three words", "  messy \t whitespace\n here  "]
    texts = normalised(raw)
    batch = minhash_signatures(texts, cfg)
    assert batch.signatures.dtype == np.uint32 and batch.signatures.shape == (len(raw), cfg.num_perm)
    assert batch.shingles is not None
    for i, text in enumerate(texts.to_list()):
        sh = shingles(text, cfg.shingle_words, cfg.max_prompt_words)
        np.testing.assert_array_equal(batch.signatures[i], datasketch_signature(sh, cfg), err_msg=repr(text))
        # the kept 64-bit shingle hashes are the reference hashes of the reference shingles, in order
        got = batch.shingles.hashes[batch.shingles.offsets[i] : batch.shingles.offsets[i + 1]]
        assert got.tolist() == [stable_hash64(s) for s in sh]


def test_reference_shingling_rules() -> None:
    assert shingles("a b c d", 3, 400) == [b"a b c", b"b c d"]
    assert shingles("a b", 3, 400) == [b"a b"]  # shorter than n: one shingle of all words
    assert shingles("", 3, 400) == [] and shingles(None, 3, 400) == []
    assert shingles("a b c d e", 2, 3) == [b"a b", b"b c"]  # truncated to the first 3 words


def test_permutations_and_hashfunc_match_datasketch() -> None:
    for num_perm, seed in [(128, 1), (64, 42)]:
        m = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME)
        a, b = permutations(num_perm, seed)
        np.testing.assert_array_equal(m.permutations[0], a)
        np.testing.assert_array_equal(m.permutations[1], b)
    assert shingle_hash32(b"hello") == stable_hash64(b"hello") & 0xFFFFFFFF


def test_empty_signature_never_matches() -> None:
    cfg = ClusterConfig()
    batch = minhash_signatures(pl.Series(["", None, "", "same words here", "same words here"]), cfg)
    assert (batch.signatures[:3] == EMPTY_VALUE).all()
    assert batch.empty.tolist() == [True, True, True, False, False]
    res = near_duplicate_clusters(batch, None, cfg.threshold)
    assert res.labels.tolist() == [0, 1, 2, 3, 3]
    # also without shingle sets (signature-agreement confirmation)
    bare = near_duplicate_clusters(batch.signatures, None, cfg.threshold)
    assert bare.labels.tolist() == [0, 1, 2, 3, 3] and bare.method == "signature"


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_lsh_params_follow_datasketch(threshold: float) -> None:
    b, r = lsh_params(threshold, 128)
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    assert (b, r) == (lsh.b, lsh.r)
    assert b * r <= 128
    # a higher threshold means longer bands
    assert lsh_params(0.9, 128)[1] >= lsh_params(0.5, 128)[1]


def test_band_keys() -> None:
    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 2**32, size=(4, 12), dtype=np.uint32)
    sigs[1] = sigs[0]
    sigs[2] = sigs[0]
    sigs[2, 5] ^= 1  # changes band 1 (values 4..7) only
    keys = band_keys(sigs, 3, 4)
    assert keys.shape == (4, 3) and keys.dtype == np.uint64
    assert (keys[0] == keys[1]).all()
    assert keys[2, 0] == keys[0, 0] and keys[2, 1] != keys[0, 1] and keys[2, 2] == keys[0, 2]
    assert not (keys[3] == keys[0]).any()
    with pytest.raises(ValueError):
        band_keys(sigs, 4, 4)


def _families(rng: random.Random, n_families: int, per_family: int, words: int = 60, edits: int = 1) -> list[str]:
    """Families of near-duplicates: variants of a base text with up to ``edits`` words replaced (with 3-word
    shingles, two 60-word variants with one edit each have Jaccard >= 0.8)."""
    out = []
    for _ in range(n_families):
        base = [rng.choice(VOCAB) + str(rng.randint(0, 999)) for _ in range(words)]
        for _ in range(per_family):
            v = list(base)
            for _ in range(rng.randint(0, edits)):
                v[rng.randrange(words)] = "changed" + str(rng.randint(0, 99))
            out.append(" ".join(v))
    return out


def test_near_duplicates_clustered_unrelated_not() -> None:
    rng = random.Random(3)
    texts = _families(rng, 20, 6)
    unrelated = [" ".join(rng.choice(VOCAB) + str(rng.randint(0, 99)) for _ in range(60)) for _ in range(60)]
    cfg = ClusterConfig()
    batch = minhash_signatures(pl.Series(texts + unrelated), cfg)
    res = near_duplicate_clusters(batch, None, cfg.threshold)
    labels = res.labels
    fam = labels[: len(texts)].reshape(20, 6)
    assert (fam == fam[:, :1]).all(), "every family is one cluster"
    assert len(set(fam[:, 0].tolist())) == 20, "families stay apart"
    assert (fam[:, 0] == np.arange(20) * 6).all(), "label = smallest member index"
    assert (labels[len(texts) :] == np.arange(len(texts), len(texts) + 60)).all(), "unrelated are alone"
    assert res.confirmed <= res.candidates and res.confirmed >= 20 * 5
    assert res.method == "jaccard"


def test_group_ids_restrict_clusters() -> None:
    text = "please summarise the following article about the history of the roman empire in detail"
    batch = minhash_signatures(pl.Series([text] * 6), ClusterConfig())
    res = near_duplicate_clusters(batch, np.array([0, 1, 0, 1, 2, 0]), 0.7)
    assert res.labels.tolist() == [0, 1, 0, 1, 4, 0]
    res = near_duplicate_clusters(batch, np.array(["x", "y", "x", "y", "z", "x"]), 0.7)
    assert res.labels.tolist() == [0, 1, 0, 1, 4, 0]


def test_cluster_texts_per_entity_and_cross_entity() -> None:
    rng = random.Random(11)
    fam = _families(rng, 2, 4)  # two templates, 4 variants each
    lonely = "a completely different request about gardening tomatoes in a cold climate with little sun"
    rows = [
        # entity A and B share template 0; A also sends template 1; C sends an unrelated prompt
        *[(10 + i, "A", fam[i]) for i in range(4)],
        *[(20 + i, "B", fam[i]) for i in range(4)],
        *[(30 + i, "A", fam[4 + i]) for i in range(4)],
        (40, "C", lonely),
        (41, "C", ""),
        (42, "B", ""),
    ]
    schema = {"row_id": pl.UInt32, "entity_id": pl.String, "text": pl.String}
    df = pl.DataFrame(rows, schema=schema, orient="row")
    df = df.with_columns(normalize_expr("text").alias("text_norm"))
    out, stats = cluster_texts(df.sample(fraction=1.0, shuffle=True, seed=1), ClusterConfig())
    assert out.schema == {"row_id": pl.UInt32, "cluster_id": pl.Int64, "global_cluster_id": pl.Int64}
    got = {r[0]: (r[1], r[2]) for r in out.iter_rows()}
    for i in range(4):
        assert got[10 + i] == (10, 10)  # A's template-0 cluster
        assert got[20 + i] == (20, 10)  # B's own cluster, same global cluster as A's
        assert got[30 + i] == (30, 30)  # A's template-1 cluster, not shared
    assert got[40] == (40, 40)
    assert got[41] == (41, 41) and got[42] == (42, 42)  # empty texts never cluster
    assert stats.rows == 15 and stats.entities == 3 and stats.empty_texts == 2
    assert stats.entity_clusters == 6 and stats.global_clusters == 5
    assert stats.cross_confirmed >= 1 and stats.candidates >= stats.confirmed
    # input order does not matter
    out2, _ = cluster_texts(df, ClusterConfig())
    assert out2.sort("row_id").equals(out.sort("row_id"))
    # no cross-entity pass
    out3, stats3 = cluster_texts(df, ClusterConfig(cross_account=False))
    assert (out3["cluster_id"] == out3["global_cluster_id"]).all() and stats3.cross_candidates == 0


def test_no_all_pairs_blowup_on_identical_texts() -> None:
    n = 10_000
    text = "Write a detailed step by step explanation of how photosynthesis works in plants for students"
    df = pl.DataFrame(
        {
            "row_id": pl.Series(range(n), dtype=pl.UInt32),
            "entity_id": ["acct"] * (n // 2) + ["other"] * (n // 2),
            "text_norm": normalised([text] * n),
        }
    )
    t0 = time.perf_counter()
    out, stats = cluster_texts(df, ClusterConfig())
    elapsed = time.perf_counter() - t0
    assert out["cluster_id"].n_unique() == 2 and out["global_cluster_id"].n_unique() == 1
    # a bucket of m documents proposes m - 1 pairs (star), not m(m-1)/2
    assert stats.entity_candidates == n - 2 and stats.entity_confirmed == n - 2
    assert stats.cross_candidates == 1 and stats.representatives == 2
    assert elapsed < 20, elapsed


def test_minhashlsh_pairs_above_threshold_share_a_cluster() -> None:
    rng = random.Random(5)
    texts = _families(rng, 25, 8, words=30, edits=2)
    # borderline variants: more words replaced, so some pairs sit near the threshold
    for t in texts[::8]:
        w = t.split()
        for k in range(6):
            v = list(w)
            for _ in range(k):
                v[rng.randrange(len(v))] = "edit" + str(rng.randint(0, 9))
            texts.append(" ".join(v))
    texts += [" ".join(rng.choice(VOCAB) for _ in range(30)) for _ in range(100)]
    cfg = ClusterConfig()
    series = normalised(texts)
    batch = minhash_signatures(series, cfg)
    labels = near_duplicate_clusters(batch, None, cfg.threshold).labels
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    minhashes = []
    for i, sig in enumerate(batch.signatures):
        if batch.empty[i]:
            minhashes.append(None)
            continue
        m = MinHash(seed=cfg.seed, hashvalues=sig, scheme=SCHEME)
        lsh.insert(i, m)
        minhashes.append(m)
    sets = [set(shingles(t, cfg.shingle_words, cfg.max_prompt_words)) for t in series.to_list()]
    checked = 0
    for i, m in enumerate(minhashes):
        if m is None:
            continue
        for j in lsh.query(m):
            if j != i and exact_jaccard(sets[i], sets[j]) >= cfg.threshold:
                checked += 1
                assert labels[i] == labels[j], (i, j)
    assert checked > 300


def test_pair_jaccard_matches_sets() -> None:
    rng = random.Random(9)
    texts = [*_families(rng, 5, 4, words=12), "", "x", "x y z x y z"]
    batch = minhash_signatures(pl.Series(texts), ClusterConfig())
    assert batch.shingles is not None
    n = len(texts)
    i, j = np.triu_indices(n, 1)
    got = pair_jaccard(batch.shingles, i, j)
    sets = [set(shingles(t)) for t in texts]
    want = [exact_jaccard(sets[a], sets[b]) for a, b in zip(i, j, strict=True)]
    np.testing.assert_allclose(got, want)
    assert exact_jaccard([], []) == 0.0 and exact_jaccard("ab", "bc") == pytest.approx(1 / 3)


@pytest.mark.parametrize("with_shingles", [True, False], ids=["jaccard", "signature"])
def test_doc_text_clusters_like_one_signature_per_document(with_shingles: bool) -> None:
    # cluster_texts hashes each distinct text once and passes doc_text; the labels and counts must be those
    # of one signature per document (repeats of a text in and across groups, borderline variants, empties)
    rng = random.Random(9)
    distinct = _families(rng, 12, 8, words=20, edits=6) + [random_text(rng, 40) for _ in range(40)] + ["", "x"]
    doc_text = np.array([rng.randrange(len(distinct)) for _ in range(900)], dtype=np.int64)
    groups = np.array([rng.randrange(6) for _ in range(doc_text.size)])
    cfg = ClusterConfig()
    per_text = minhash_signatures(normalised(distinct), cfg, keep_shingles=with_shingles)
    per_doc = minhash_signatures(normalised([distinct[t] for t in doc_text]), cfg, keep_shingles=with_shingles)
    for g in (groups, None):
        want = near_duplicate_clusters(per_doc, g, cfg.threshold)
        got = near_duplicate_clusters(per_text, g, cfg.threshold, doc_text=doc_text)
        assert got.labels.tolist() == want.labels.tolist()
        assert (got.candidates, got.confirmed, got.method) == (want.candidates, want.confirmed, want.method)
        assert want.confirmed > 0 and want.candidates > want.confirmed  # repeats and rejected pairs both occur


@pytest.mark.parametrize("prefix_twins", [False, True], ids=["sorted-sets", "fallback"])
def test_pair_jaccard_on_raw_hash_sets(prefix_twins: bool) -> None:
    # pair_jaccard dedupes each document's shingles by sorting (position, hash prefix) keys; two different
    # hashes of one document with the same prefix must not be merged (they send the block to the exact
    # hash-set path). Sets with repeats, shared and disjoint hashes, both paths, against Python sets.
    from extractscan.cluster.minhash import ShingleSets

    rng = np.random.default_rng(3)
    pool = rng.integers(0, 2**63, 60, dtype=np.uint64) * np.uint64(2)
    docs = [list(rng.choice(pool, size=rng.integers(0, 25))) for _ in range(40)]
    if prefix_twins:
        docs[7] = [np.uint64(0xABCDEF0123456780), np.uint64(0xABCDEF0123456781), np.uint64(5)]  # low bits differ
        docs[8] = [np.uint64(0xABCDEF0123456781), np.uint64(5), np.uint64(5)]
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in docs], out=offsets[1:])
    hashes = np.array([h for d in docs for h in d], dtype=np.uint64)
    sets = ShingleSets(offsets, hashes)
    i, j = np.triu_indices(len(docs), 1)
    got = pair_jaccard(sets, i, j)
    want = [exact_jaccard(docs[a], docs[b]) for a, b in zip(i, j, strict=True)]
    np.testing.assert_allclose(got, want)
    if prefix_twins:
        assert got[(i == 7) & (j == 8)][0] == pytest.approx(2 / 3)


def test_shingling_in_blocks_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # shingle_hashes works through blocks of about _TEXT_BLOCK_BYTES of text; tiny blocks (a block per
    # text or two) must give the same CSR sets and signatures as one pass
    import extractscan.cluster.minhash as mh

    rng = random.Random(4)
    texts: list[str | None] = [random_text(rng) for _ in range(300)] + ["", None, "x"]
    series = normalised(texts)
    cfg = ClusterConfig()
    whole = minhash_signatures(series, cfg)
    monkeypatch.setattr(mh, "_TEXT_BLOCK_BYTES", 64)
    blocks = minhash_signatures(series, cfg)
    assert whole.shingles is not None and blocks.shingles is not None
    np.testing.assert_array_equal(blocks.shingles.offsets, whole.shingles.offsets)
    np.testing.assert_array_equal(blocks.shingles.hashes, whole.shingles.hashes)
    np.testing.assert_array_equal(blocks.signatures, whole.signatures)
