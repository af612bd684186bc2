"""Vectorised MinHash signatures, LSH banding and exact-Jaccard confirmation.

**Shingles.** A text's words are its runs of non-whitespace (feed ``text_norm``: lowercased, single
spaces); only the first ``ClusterConfig.max_prompt_words`` words count. Its shingles are the word n-grams
(n = ``shingle_words``) joined by one space, as UTF-8 bytes; a text of 1..n-1 words has one shingle made of
all its words; an empty text has none.

**Signatures, bit-identical to datasketch.** A shingle is hashed to 32 bits by :func:`shingle_hash32`
(the low 32 bits of :func:`~extractscan.cluster.normalize.stable_hash64`, our polynomial + fmix64 hash).
The signature is then exactly datasketch 2.0's ``MinHash(num_perm, seed, scheme="affine32",
hashfunc=shingle_hash32)`` after ``update_batch(shingles)``: the 32-bit MurmurHash3 finaliser pre-mixes each
hash, permutation k maps it to ``a_k * h + b_k mod 2**32`` (``a_k`` odd, drawn from
``np.random.RandomState(seed)`` as datasketch does) and the signature keeps the minimum per permutation.
``test_minhash.py`` checks bit-equality with datasketch on devset-like text. ``"affine32"`` is datasketch
2.0's default scheme; sketches of its ``"legacy"`` scheme (datasketch < 2.0) are different numbers.

Why not datasketch's default SHA-1 hash: hashing each shingle in Python (``hashlib``) is the cost of
MinHash. Here the bytes of a whole batch are hashed with numpy: word hashes from the Arrow buffer, shingle
hashes composed from word hashes (a polynomial hash composes: ``poly(u + " " + v) = poly(u) * P**(len(v)+1)
+ 33 * P**len(v) + poly(v)``), permutations applied as a ``(num_perm, shingles)`` uint32 matrix reduced
along the shingle axis per document. An empty text has the all-``0xFFFFFFFF`` signature (datasketch's
empty MinHash) and never matches anything: it is excluded from banding.

**LSH.** ``(bands, rows)`` come from the threshold by datasketch's own optimisation (equal weights of false
positives and negatives), see :func:`lsh_params`. Each band of ``rows`` signature values is hashed to a
u64 key (:func:`band_keys`). Documents sharing a key (in the same band, and in the same group when
``group_ids`` is given) are candidates; exact Jaccard on the shingle sets confirms a candidate pair when it
is >= threshold (a pair whose signatures agree on all num_perm values is confirmed without it: below the
threshold t that happens with probability < t**num_perm); connected components of the confirmed pairs are
the clusters, labelled by their smallest member index. Candidate and confirmed counts are reported.

**No all-pairs blowup.** A bucket of m documents proposes m - 1 pairs, not m(m-1)/2: each member is linked to
the bucket's first member (star). Members of one bucket agree on ``rows`` MinHash values, which for a pair
of Jaccard s happens with probability s**rows, so bucket members are, with high probability, similar to each
other and to the first member: the star connects them. A member that fails against the first member (a
chance collision with an unrelated first member) is tried once more against its predecessor in the bucket,
and it also appears in ``bands - 1`` other buckets, each with its own first member; clustering is by
connected components, so one confirmed edge per member suffices. 10,000 identical texts make 9,999
candidate pairs. The datasketch ``MinHashLSH`` cross-check in the tests verifies that every pair it returns
above the threshold ends up in one cluster.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from extractscan.cluster.normalize import distinct_index, fmix64, poly_powers, segment_poly, stable_hash64, utf8_buffers
from extractscan.config import ClusterConfig

SCHEME = "affine32"  # datasketch 2.0 permutation scheme reproduced here
EMPTY_VALUE = np.uint32(0xFFFFFFFF)  # every value of an empty signature (datasketch's initial hash value)
_U32 = np.uint32
_U64 = np.uint64
_SPACE_TERM = _U64(ord(" ") + 1)
_BLOCK_SHINGLES = 1 << 13  # shingles per permutation block (cache-sized; measured fastest at 4k-16k)
_PAIR_BLOCK_ROWS = 4_000_000  # probes of the intersection test per block of pairs (bounds its hash set)
_TEXT_BLOCK_BYTES = 1 << 21  # bytes of text shingled at a time (temporaries of tens of MB, reused)


# ----------------------------------------------------------------------------------------------------------
# Hashing and permutations (datasketch affine32)


def shingle_hash32(shingle: bytes) -> int:
    """The 32-bit shingle hash: low 32 bits of ``stable_hash64``; datasketch's ``hashfunc`` in the tests."""
    return stable_hash64(shingle) & 0xFFFFFFFF


@functools.lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` uint32 arrays of datasketch's affine32 permutations for ``(num_perm, seed)``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser on a uint32 array (datasketch's affine pre-mix)."""
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


# ----------------------------------------------------------------------------------------------------------
# Reference (plain Python + datasketch): used by the tests and for spot checks, never on the scan path


def shingles(text: str | None, shingle_words: int = 3, max_words: int = 400) -> list[bytes]:
    """Reference shingling of one text (see the module docstring)."""
    words = (text or "").split()[:max_words]
    if not words:
        return []
    n = shingle_words
    if len(words) < n:
        return [" ".join(words).encode("utf-8")]
    return [" ".join(words[i : i + n]).encode("utf-8") for i in range(len(words) - n + 1)]


def datasketch_signature(shingle_list: Iterable[bytes], cfg: ClusterConfig) -> np.ndarray:
    """The signature datasketch computes for these shingles (``hashfunc=shingle_hash32``, affine32)."""
    from datasketch import MinHash

    m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, scheme=SCHEME, hashfunc=shingle_hash32)
    m.update_batch(list(shingle_list))
    return np.asarray(m.hashvalues, dtype=np.uint32)


def exact_jaccard(a: Iterable[object], b: Iterable[object]) -> float:
    """Jaccard similarity of two collections taken as sets; 0.0 when both are empty."""
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0


# ----------------------------------------------------------------------------------------------------------
# Vectorised signatures


@dataclass(frozen=True)
class ShingleSets:
    """64-bit shingle hashes of each document in CSR form: document i owns
    ``hashes[offsets[i]:offsets[i+1]]`` (in text order, duplicates kept; set semantics when compared)."""

    offsets: np.ndarray  # int64, n + 1
    hashes: np.ndarray  # uint64

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, idx: np.ndarray) -> ShingleSets:
        idx = np.asarray(idx, dtype=np.int64)
        lens = self.sizes()[idx]
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        return ShingleSets(offsets, self.hashes[_ranges(self.offsets[:-1][idx], lens)])


@dataclass(frozen=True)
class MinHashBatch:
    """Signatures of a batch of texts (``(n, num_perm)`` uint32) and, optionally, their shingle sets."""

    signatures: np.ndarray
    shingles: ShingleSets | None = None

    def __len__(self) -> int:
        return int(self.signatures.shape[0])

    @property
    def empty(self) -> np.ndarray:
        """Documents without any shingle (their signature is all ``EMPTY_VALUE``)."""
        if self.shingles is not None:
            return self.shingles.sizes() == 0
        return np.all(self.signatures == EMPTY_VALUE, axis=1)

    def take(self, idx: np.ndarray) -> MinHashBatch:
        idx = np.asarray(idx, dtype=np.int64)
        return MinHashBatch(self.signatures[idx], None if self.shingles is None else self.shingles.take(idx))


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each (s, l), vectorised."""
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    csum = np.cumsum(lens)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - (csum - lens), lens)
    return np.arange(total, dtype=np.int64) + shift


def _prepare(texts: pl.Series, max_words: int) -> pl.Series:
    """Whitespace runs to one space, ends stripped, cut to the first ``max_words`` words (polars).

    Only the rows that need it are rewritten (``text_norm`` needs no whitespace fix, and few texts are
    longer than ``max_words``), as a batch, then scattered back.
    """
    s = texts.cast(pl.String).fill_null("").alias("t")
    df = pl.DataFrame({"t": s}).with_row_index("i")
    messy = df.filter(pl.col("t").str.contains(r"[^\S ]|  |^ | $"))
    if messy.height:
        fixed = messy.select(pl.col("t").str.replace_all(r"\s+", " ").str.strip_chars(" ")).to_series()
        s = s.scatter(messy["i"], fixed)
        df = df.with_columns(s)
    long = df.filter(pl.col("t").str.count_matches(" ", literal=True) >= max_words)
    if long.height:
        cut = long.select(pl.col("t").str.split(" ").list.head(max_words).list.join(" ")).to_series()
        s = s.scatter(long["i"], cut)
    return s


def shingle_hashes(texts: pl.Series, shingle_words: int, max_words: int) -> ShingleSets:
    """Vectorised shingling: the 64-bit shingle hashes of every text, in CSR form.

    Each 64-bit hash is ``stable_hash64`` of the shingle's bytes (its low 32 bits are ``shingle_hash32``).
    Texts are shingled in blocks of about ``_TEXT_BLOCK_BYTES`` (each text on its own, so the blocks do
    not change the result): the byte- and word-sized temporaries of a whole 240k-prompt partition were
    fresh pages each time (the kernel's page faults cost as much as the arithmetic).
    """
    n_docs = len(texts)
    if n_docs > 1:
        cum = np.cumsum(texts.cast(pl.String).fill_null("").str.len_bytes().to_numpy().astype(np.int64))
        cuts = np.searchsorted(cum, np.arange(_TEXT_BLOCK_BYTES, int(cum[-1]), _TEXT_BLOCK_BYTES), side="right")
        bounds = np.unique(np.concatenate([[0], cuts, [n_docs]]))
        if bounds.size > 2:
            offsets = [np.zeros(1, dtype=np.int64)]
            hashes = []
            base = 0
            for a, b in itertools.pairwise(bounds):
                part = _shingle_block(texts.slice(int(a), int(b - a)), shingle_words, max_words)
                offsets.append(part.offsets[1:] + base)
                hashes.append(part.hashes)
                base += int(part.hashes.size)
            return ShingleSets(np.concatenate(offsets), np.concatenate(hashes))
    return _shingle_block(texts, shingle_words, max_words)


def _shingle_block(texts: pl.Series, shingle_words: int, max_words: int) -> ShingleSets:
    """:func:`shingle_hashes` of one block of texts."""
    n_docs = len(texts)
    n = max(int(shingle_words), 1)
    prepared = _prepare(texts, max(int(max_words), 1))
    data, offsets = utf8_buffers(prepared)
    nonempty = np.diff(offsets) > 0
    lo, hi = int(offsets[0]), int(offsets[-1])
    # Texts are single-space separated with no leading / trailing space: a word starts at a non-space byte
    # that follows a space or starts a text, and ends before a space or at a text end.
    is_word = data[lo:hi] != ord(" ")
    start_mask = is_word.copy()
    start_mask[1:] &= ~is_word[:-1]
    start_mask[offsets[:-1][nonempty] - lo] = True
    end_mask = is_word.copy()
    end_mask[:-1] &= ~is_word[1:]
    end_mask[offsets[1:][nonempty] - lo - 1] = True
    word_starts = np.flatnonzero(start_mask) + lo
    word_ends = np.flatnonzero(end_mask) + lo + 1
    word_hash = segment_poly(data, word_starts, word_ends)
    word_len = word_ends - word_starts
    # words per document: word starts before each document's end
    n_words = np.diff(np.searchsorted(word_starts, offsets, side="left"))
    first_word = np.zeros(n_docs, dtype=np.int64)
    np.cumsum(n_words[:-1], out=first_word[1:])
    n_sh = np.where(n_words >= n, n_words - n + 1, (n_words > 0).astype(np.int64))
    sh_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(n_sh, out=sh_offsets[1:])
    j = _ranges(first_word, n_sh)  # global index of each shingle's first word
    acc = word_hash[j]
    if n > 1 and word_hash.size:
        # poly(u + " " + w) = poly(u) * P**(len(w)+1) + 33 * P**len(w) + poly(w): per-word factors once
        pw = poly_powers(int(word_len.max()) + 2)
        mul = pw[word_len + 1]
        add = _SPACE_TERM * pw[word_len] + word_hash
        last = word_hash.size - 1
        for t in range(1, n):
            nxt = np.minimum(j + t, last)
            acc *= mul[nxt]
            acc += add[nxt]
        # texts of 1..n-1 words: one shingle of all their words (the loop above ran past their end)
        short = np.flatnonzero((n_words > 0) & (n_words < n))
        if short.size:
            fw, m = first_word[short], n_words[short]
            s_acc = word_hash[fw]
            for t in range(1, n):
                live = t < m
                nxt = np.minimum(fw + t, last)
                s_acc = np.where(live, s_acc * mul[nxt] + add[nxt], s_acc)
            acc[sh_offsets[short]] = s_acc
    return ShingleSets(sh_offsets, fmix64(acc))


def signatures_from_hashes(hashes32: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures ``(n, num_perm)`` uint32 from 32-bit shingle hashes in CSR form.

    Permutations are applied to blocks of whole documents as a ``(num_perm, shingles)`` matrix (about
    8k shingles: 4 MiB at 128 permutations, computed in place in one reused buffer) and reduced along the
    shingle axis per document with ``np.minimum.reduceat``.
    """
    n_docs = offsets.size - 1
    sigs = np.full((n_docs, num_perm), EMPTY_VALUE, dtype=np.uint32)
    a, b = permutations(num_perm, seed)
    a_col, b_col = a[:, None], b[:, None]
    docs = np.flatnonzero(np.diff(offsets) > 0)
    if docs.size == 0:
        return sigs
    x_all = fmix32(hashes32)
    # blocks of whole documents with about _BLOCK_SHINGLES shingles each (a huge document is its own block)
    cum = offsets[docs + 1]
    cuts = np.searchsorted(cum, np.arange(_BLOCK_SHINGLES, int(cum[-1]), _BLOCK_SHINGLES), side="left")
    bounds = np.unique(np.concatenate([[0], cuts + 1, [docs.size]]))
    bounds = bounds[bounds <= docs.size]
    buf = np.empty((num_perm, 2 * _BLOCK_SHINGLES), dtype=np.uint32)
    for d0, d1 in itertools.pairwise(bounds):
        blk = docs[d0:d1]
        s0, s1 = int(offsets[blk[0]]), int(offsets[blk[-1] + 1])
        if s1 - s0 > buf.shape[1]:
            buf = np.empty((num_perm, s1 - s0), dtype=np.uint32)
        phv = buf[:, : s1 - s0]
        np.multiply(a_col, x_all[None, s0:s1], out=phv)  # wraps mod 2**32
        phv += b_col
        sigs[blk] = np.minimum.reduceat(phv, offsets[blk] - s0, axis=1).T
    return sigs


def minhash_signatures(
    texts: pl.Series | Sequence[str | None], cfg: ClusterConfig, *, keep_shingles: bool = True
) -> MinHashBatch:
    """Signatures of a batch of texts; equal to :func:`datasketch_signature` of :func:`shingles`."""
    series = texts if isinstance(texts, pl.Series) else pl.Series("t", list(texts), dtype=pl.String)
    sets = shingle_hashes(series, cfg.shingle_words, cfg.max_prompt_words)
    h32 = (sets.hashes & _U64(0xFFFFFFFF)).astype(np.uint32)
    sigs = signatures_from_hashes(h32, sets.offsets, cfg.num_perm, cfg.seed)
    return MinHashBatch(sigs, sets if keep_shingles else None)


# ----------------------------------------------------------------------------------------------------------
# LSH


@functools.lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` minimising the equally weighted false positive + false negative probability mass
    (datasketch ``MinHashLSH``'s optimisation, which this calls)."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    from datasketch.lsh import _optimal_param

    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """u64 key of each band of each signature: ``(n, bands)``; band i covers values ``i*rows .. (i+1)*rows``
    (datasketch's hash ranges). Equal bands give equal keys; different bands collide with probability
    ~2**-64 (and a collision only proposes a candidate that exact Jaccard then rejects)."""
    n, p = signatures.shape
    if bands * rows > p:
        raise ValueError(f"bands * rows = {bands * rows} exceeds num_perm {p}")
    s = signatures[:, : bands * rows].astype(np.uint64).reshape(n, bands, rows)
    h = np.zeros((n, bands), dtype=np.uint64)
    mult = _U64(0x9E3779B97F4A7C15)
    for k in range(rows):
        h = h * mult + s[:, :, k] + _U64(1)
    return fmix64(h)


@dataclass(frozen=True)
class ClusterResult:
    """Cluster labels (smallest member index; a document alone is its own label) and LSH counts."""

    labels: np.ndarray  # int64, (n,)
    candidates: int  # distinct candidate pairs proposed by LSH (star and fallback rounds)
    confirmed: int  # candidate pairs confirmed (Jaccard >= threshold)
    bands: int
    rows: int
    method: str  # "jaccard" (exact on shingle sets) or "signature" (agreement of signature values)

    @property
    def n_clusters(self) -> int:
        return int(np.unique(self.labels).size)


def _doc_key(doc: np.ndarray, h: np.ndarray) -> np.ndarray:
    """One u64 per (document, shingle hash): the membership key of the intersection test."""
    return fmix64(h ^ fmix64(doc.astype(np.uint64) * _U64(0x9FB21C651E98DF25) + _U64(1)))


def pair_jaccard(sets: ShingleSets, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Exact Jaccard of the shingle sets of document pairs ``(i[k], j[k])`` (float64); 0.0 where both sets
    are empty.

    Vectorised, in blocks of pairs of about ``_PAIR_BLOCK_ROWS`` probes: per block, the distinct (document,
    shingle) keys of the block's documents are put in a hash set (polars) and each pair probes the larger
    set with the smaller set's shingles. Pairs are ordered by their first document so that a star's pairs
    share a block and its hub's shingles are hashed once. Each block's set holds only its own documents:
    one set over every document of a large partition (tens of millions of keys), probed block by block,
    was rebuilt for every block and stopped fitting in cache (LSH ran 30x slower at 1M requests than at
    100k). (Keys are 64-bit hashes of (document, shingle): a false hit needs a 2**-64 collision.)
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    out = np.zeros(i.size, dtype=np.float64)
    if i.size == 0:
        return out
    order = np.lexsort((j, i))
    sizes = sets.sizes()
    cum = np.cumsum(np.minimum(sizes[i[order]], sizes[j[order]]) + 1)
    cuts = np.searchsorted(cum, np.arange(_PAIR_BLOCK_ROWS, int(cum[-1]) + 1, _PAIR_BLOCK_ROWS))
    bounds = np.unique(np.concatenate([[0], cuts + 1, [i.size]]))
    bounds = bounds[bounds <= i.size]
    for p0, p1 in itertools.pairwise(bounds):
        idx = order[p0:p1]
        out[idx] = _pair_jaccard_block(sets, i[idx], j[idx])
    return out


def _document_sets(pos: np.ndarray, h: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct shingles of each document: ``(position, hash)`` of the rows ``(pos, h)`` (grouped by
    position 0..m-1) with duplicates within a document removed, grouped by position.

    One sort of ``(position, hash prefix)`` keys (position in the high bits): equal hashes of a document
    become adjacent and the first of each run is kept. Two different hashes of one document with the same
    prefix (2**-40 per pair at most) would make a run that is not one hash; that is detected and the block
    falls back to a hash set of the full ``(document, hash)`` pairs, so the sets are always exact."""
    bits = max(1, (m - 1).bit_length())
    comp = (pos.astype(np.uint64) << _U64(64 - bits)) | (h >> _U64(bits))
    # polars' single-threaded sort: several times faster than numpy's on this, and threads buy nothing here
    srt = pl.DataFrame({"c": comp, "h": h}).sort("c", multithreaded=False)
    c = srt["c"].to_numpy()
    hs = srt["h"].to_numpy()
    same = c[1:] == c[:-1]
    if (same & (hs[1:] != hs[:-1])).any():
        key = pl.Series(_doc_key(pos, h))
        first = key.is_first_distinct().to_numpy()  # input is grouped by document: stays grouped
        return pos[first], h[first]
    keep = np.ones(c.size, dtype=bool)
    keep[1:] = ~same
    return (c[keep] >> _U64(64 - bits)).astype(np.int64), hs[keep]


def _pair_jaccard_block(sets: ShingleSets, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """:func:`pair_jaccard` of one block of pairs (one hash set, one probe pass)."""
    out = np.zeros(i.size, dtype=np.float64)
    involved = np.unique(np.concatenate([i, j]))
    m = involved.size
    sizes = sets.sizes()[involved]
    rows = _ranges(sets.offsets[:-1][involved], sizes)
    pos_of_doc = np.repeat(np.arange(m, dtype=np.int64), sizes)
    upos, uh = _document_sets(pos_of_doc, sets.hashes[rows], m)
    card = np.bincount(upos, minlength=m).astype(np.int64)
    uoff = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(card, out=uoff[1:])
    ii = np.searchsorted(involved, i)
    jj = np.searchsorted(involved, j)
    swap = card[ii] > card[jj]
    small = np.where(swap, jj, ii)
    large = np.where(swap, ii, jj)
    lens = card[small]
    probe_rows = _ranges(uoff[small], lens)
    # membership of (document, shingle) as one u64: the shingle hash xor a mix of the document's position
    # (a false hit needs a 2**-64 coincidence, as with any 64-bit key)
    mix = fmix64(np.arange(1, m + 1, dtype=np.uint64) * _U64(0x9FB21C651E98DF25))
    members = pl.Series(uh ^ mix[upos])
    probe = uh[probe_rows] ^ np.repeat(mix[large], lens)
    hit = pl.Series(probe).is_in(members.implode()).to_numpy()
    pair_of = np.repeat(np.arange(i.size, dtype=np.int64), lens)
    inter = np.bincount(pair_of[hit], minlength=i.size)
    union = (card[ii] + card[jj] - inter).astype(np.float64)
    np.divide(inter.astype(np.float64), union, out=out, where=union > 0)
    return out


def _signature_agreement(sigs: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    out = np.zeros(i.size, dtype=np.float64)
    for k0 in range(0, i.size, 65536):
        sl = slice(k0, k0 + 65536)
        out[sl] = (sigs[i[sl]] == sigs[j[sl]]).mean(axis=1)
    return out


def _bucket_members(
    sigs: np.ndarray, valid: np.ndarray, groups: np.ndarray | None, bands: int, rows: int, text_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every (document, band) of a bucket with >= 2 members, except the bucket's first (smallest)
    member: ``(first member, predecessor in the bucket, document)``, buckets in document index order.
    Document d's signature is ``sigs[text_of[d]]``; band keys are computed once per signature."""
    docs = np.flatnonzero(valid)
    empty = np.zeros(0, dtype=np.int64)
    if docs.size < 2:
        return empty, empty, empty
    texts, text_pos = np.unique(text_of[docs], return_inverse=True)
    keys = band_keys(sigs[texts], bands, rows)[text_pos]
    salt = fmix64(np.arange(1, bands + 1, dtype=np.uint64) * _U64(0xD6E8FEB86659FD93))
    keys = keys ^ salt[None, :]
    if groups is not None:
        g = fmix64(groups[docs].astype(np.uint64) + _U64(0x632BE59BD9B4E019))
        keys = fmix64(keys ^ g[:, None])
    flat = keys.ravel()
    doc_flat = np.repeat(docs, bands)
    # A stable sort: flat is document-major, so buckets list documents in index order. (polars' single-
    # threaded stable sort is faster than numpy's here.)
    srt = pl.DataFrame({"k": flat, "d": doc_flat}).sort("k", maintain_order=True, multithreaded=False)
    sk = srt["k"].to_numpy()
    sd = srt["d"].to_numpy()
    new_run = np.ones(sk.size, dtype=bool)
    new_run[1:] = sk[1:] != sk[:-1]
    run_starts = np.flatnonzero(new_run)
    run_min = np.minimum.reduceat(sd, run_starts)
    first = run_min[np.cumsum(new_run) - 1]
    prev = np.empty_like(sd)
    prev[1:] = sd[:-1]
    prev[new_run] = first[new_run]  # a run's first position has no predecessor: use the minimum (skipped)
    member = np.flatnonzero(sd != first)
    return first[member], prev[member], sd[member]


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique`` of an int64 array (sorted distinct values), by polars' single-threaded sort."""
    if x.size == 0:
        return x
    srt = pl.Series(x).sort(multithreaded=False).to_numpy()
    keep = np.ones(srt.size, dtype=bool)
    keep[1:] = srt[1:] != srt[:-1]
    return srt[keep]


def _unique_pairs(i: np.ndarray, j: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    key = _sorted_unique(i.astype(np.int64) * n + j.astype(np.int64))
    return key // n, key % n


def _isin(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.isin`` for int64 arrays (a polars hash set instead of numpy's sort)."""
    return pl.Series(x).is_in(pl.Series(values).implode()).to_numpy()


def near_duplicate_clusters(
    sigs: MinHashBatch | np.ndarray,
    group_ids: np.ndarray | None = None,
    threshold: float = 0.7,
    *,
    params: tuple[int, int] | None = None,
    doc_text: np.ndarray | None = None,
) -> ClusterResult:
    """Near-duplicate clusters of a batch: LSH candidates, confirmation, connected components.

    ``sigs``: a :class:`MinHashBatch` (confirmation by exact Jaccard on its shingle sets when it kept them)
    or a bare signature matrix (confirmation by the share of equal signature values, the unbiased MinHash
    estimate of Jaccard). ``group_ids``: integer group of each document; pairs are only proposed within a
    group (per-account clustering of many accounts in one pass). ``None`` clusters across everything.
    ``params``: ``(bands, rows)`` instead of :func:`lsh_params` of the threshold. ``doc_text``: the
    documents are ``doc_text[d]``-th texts of ``sigs`` (documents with equal texts share one signature and
    shingle set: they are hashed, banded and compared once); by default document d is ``sigs[d]``.

    Pairs are proposed per document exactly as without ``doc_text``, so labels and counts do not depend on
    it; a pair of equal texts is confirmed without a test (its signatures agree everywhere), and each
    distinct pair of texts is tested once.
    """
    batch = sigs if isinstance(sigs, MinHashBatch) else MinHashBatch(np.asarray(sigs, dtype=np.uint32))
    sig = batch.signatures
    n_text, num_perm = sig.shape
    text_of = np.arange(n_text, dtype=np.int64) if doc_text is None else np.asarray(doc_text, dtype=np.int64)
    n = int(text_of.size)
    bands, rows = params if params is not None else lsh_params(float(threshold), int(num_perm))
    groups = None if group_ids is None else np.asarray(group_ids)
    if groups is not None and groups.shape != (n,):
        raise ValueError("group_ids must have one entry per signature")
    if groups is not None and groups.dtype.kind not in "iub":
        groups = np.unique(groups, return_inverse=True)[1]
    method = "jaccard" if batch.shingles is not None else "signature"

    def confirm_texts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if method == "signature":
            return _signature_agreement(sig, a, b) >= threshold - 1e-12
        assert batch.shingles is not None
        # Identical signatures are confirmed without the exact test: for Jaccard J all num_perm values agree
        # with probability J**num_perm, so a pair below the threshold passes with probability
        # < threshold**num_perm (1e-20 at 0.7 and 128). Exact duplicates, the bulk of big clusters, are free.
        ok = _signature_agreement(sig, a, b) == 1.0
        rest = np.flatnonzero(~ok)
        if rest.size:
            ok[rest] = pair_jaccard(batch.shingles, a[rest], b[rest]) >= threshold - 1e-12
        return ok

    def confirm(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        ti, tj = text_of[i], text_of[j]
        ok = ti == tj  # one text: equal signatures, confirmed by either method
        rest = np.flatnonzero(~ok)
        if rest.size:
            # each distinct pair of texts once (both measures are symmetric)
            key = np.minimum(ti[rest], tj[rest]) * n_text + np.maximum(ti[rest], tj[rest])
            uniq, back = np.unique(key, return_inverse=True)
            ok[rest] = confirm_texts(uniq // n_text, uniq % n_text)[back]
        return ok

    first, prev, doc = _bucket_members(sig, ~batch.empty[text_of], groups, bands, rows, text_of)
    if groups is not None:  # guard against (astronomically rare) key collisions across groups
        same = groups[first] == groups[doc]
        first, prev, doc = first[same], prev[same], doc[same]
    # round 1: star -- every bucket member against the bucket's first member
    si, sj = _unique_pairs(first, doc, n)
    ok = confirm(si, sj)
    edges_i, edges_j = [si[ok]], [sj[ok]]
    candidates, confirmed = int(si.size), int(ok.sum())
    # round 2: members whose star pair failed, against their predecessor in the bucket
    if (~ok).any():
        failed_key = si[~ok] * n + sj[~ok]
        retry = _isin(first * n + doc, failed_key) & (prev != first)
        pa, pb = prev[retry], doc[retry]
        ri, rj = _unique_pairs(np.minimum(pa, pb), np.maximum(pa, pb), n)
        fresh = ~_isin(ri * n + rj, si * n + sj)
        ri, rj = ri[fresh], rj[fresh]
        ok2 = confirm(ri, rj)
        edges_i.append(ri[ok2])
        edges_j.append(rj[ok2])
        candidates += int(ri.size)
        confirmed += int(ok2.sum())
    ei = np.concatenate(edges_i)
    ej = np.concatenate(edges_j)
    return ClusterResult(
        labels=components_min_label(n, ei, ej),
        candidates=candidates,
        confirmed=confirmed,
        bands=bands,
        rows=rows,
        method=method,
    )


def components_min_label(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``n`` nodes with edges (i, j), each labelled by its smallest
    node index (deterministic, independent of edge order)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if i.size == 0:
        return np.arange(n, dtype=np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n, n)).tocsr()
    _, comp = connected_components(graph, directed=False)
    # np.unique's return_index is the first (smallest) node of each component
    _, first_idx, inverse = np.unique(comp, return_index=True, return_inverse=True)
    return first_idx[inverse].astype(np.int64)


# ----------------------------------------------------------------------------------------------------------
# Per-entity and cross-entity clusters of a scan frame


@dataclass(frozen=True)
class ClusterStats:
    rows: int
    entities: int
    empty_texts: int
    bands: int
    rows_per_band: int
    entity_candidates: int  # LSH candidate pairs within entities
    entity_confirmed: int
    entity_clusters: int  # distinct (entity, cluster) ids, singletons included
    representatives: int  # one per (entity, cluster): the input of the cross-entity pass
    cross_candidates: int
    cross_confirmed: int
    global_clusters: int
    seconds_signatures: float
    seconds_clustering: float

    @property
    def candidates(self) -> int:
        return self.entity_candidates + self.cross_candidates

    @property
    def confirmed(self) -> int:
        return self.entity_confirmed + self.cross_confirmed


def cluster_texts(df: pl.DataFrame, cfg: ClusterConfig) -> tuple[pl.DataFrame, ClusterStats]:
    """Near-duplicate clusters of ``df[row_id, entity_id, text_norm]`` (``row_id`` an integer column).

    Returns ``[row_id, cluster_id, global_cluster_id]`` (Int64) and stats. ``cluster_id`` is the smallest
    ``row_id`` of the row's near-duplicate cluster within its entity (so ids are unique across entities
    too); ``global_cluster_id`` is the smallest ``row_id`` of the cross-entity cluster, computed on one
    representative per (entity, cluster) when ``cfg.cross_account`` (else equal to ``cluster_id``).
    Results do not depend on the input row order.
    """
    if not df.schema["row_id"].is_integer():
        raise TypeError("cluster_texts needs an integer row_id column")
    frame = df.select("row_id", "entity_id", "text_norm").sort("row_id")
    n = frame.height
    row_ids = frame["row_id"].cast(pl.Int64).to_numpy()
    groups = frame.select(pl.col("entity_id").cast(pl.String).fill_null("").rank("dense")).to_series()
    group_ids = groups.to_numpy().astype(np.int64)

    t0 = time.perf_counter()
    # One signature per distinct text (a partition of templated traffic repeats many prompts).
    texts, text_of = distinct_index(frame["text_norm"])
    batch = minhash_signatures(texts, cfg)
    t1 = time.perf_counter()
    local = near_duplicate_clusters(batch, group_ids, cfg.threshold, doc_text=text_of)
    reps = np.flatnonzero(local.labels == np.arange(n))
    if cfg.cross_account and reps.size:
        cross = near_duplicate_clusters(batch, None, cfg.threshold, doc_text=text_of[reps])
        rep_global = reps[cross.labels]  # smallest representative (= smallest row) of the global cluster
        global_of_rep = np.empty(n, dtype=np.int64)
        global_of_rep[reps] = rep_global
        global_idx = global_of_rep[local.labels]
        cross_cand, cross_conf = cross.candidates, cross.confirmed
    else:
        global_idx = local.labels
        cross_cand = cross_conf = 0
    t2 = time.perf_counter()

    out = pl.DataFrame(
        {
            "row_id": frame["row_id"],
            "cluster_id": row_ids[local.labels] if n else np.zeros(0, np.int64),
            "global_cluster_id": row_ids[global_idx] if n else np.zeros(0, np.int64),
        },
        schema={"row_id": frame.schema["row_id"], "cluster_id": pl.Int64, "global_cluster_id": pl.Int64},
    )
    stats = ClusterStats(
        rows=n,
        entities=int(np.unique(group_ids).size),
        empty_texts=int(batch.empty[text_of].sum()),
        bands=local.bands,
        rows_per_band=local.rows,
        entity_candidates=local.candidates,
        entity_confirmed=local.confirmed,
        entity_clusters=int(reps.size),
        representatives=int(reps.size),
        cross_candidates=cross_cand,
        cross_confirmed=cross_conf,
        global_clusters=int(np.unique(global_idx).size),
        seconds_signatures=t1 - t0,
        seconds_clustering=t2 - t1,
    )
    return out, stats
