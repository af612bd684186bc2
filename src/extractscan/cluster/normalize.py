"""Text normalisation, template skeletons, stable text hashes and slot-sweep measurements.

All of it is polars expressions or numpy over whole columns; nothing loops in Python per request.

**Normalisation** (:func:`normalize_expr`): Unicode NFKC (full-width letters, ligatures, no-break spaces
fold to their plain forms), lowercase, removal of format characters (zero-width space / joiners, BOM, bidi
marks, soft hyphen: Unicode category Cf) and of non-whitespace control characters (a zero-width character
inside a word must not split the word), then every run of Unicode whitespace becomes one space and the ends
are stripped. The result has words separated by single spaces, which the MinHash shingler relies on.

**Skeletons** (:func:`skeleton_expr`): slot-like spans are replaced by typed placeholders, in this order
(earlier masks protect their content from later ones): fenced code blocks (also an unclosed fence to the end)
and inline code -> ``<code>``; URLs -> ``<url>``; e-mail addresses -> ``<email>``; quoted spans ("...",
'...' when the quote is not an apostrophe, “...”, ‘...’, «...», „...“, 「...」) -> ``<q>``; dates and times
(ISO, d/m/y, month names, 10:30 pm) -> ``<date>``; UUIDs and 0x-hex -> ``<id>``; numbers (decimals,
thousands separators, exponents, percent, ordinals, short unit suffixes such as 5kg) -> ``<num>``; then the
remaining hex runs of 8+ characters and tokens of 10+ characters mixing letters and digits (keys, order ids)
-> ``<id>``. Runs of one placeholder separated only by commas, semicolons or spaces collapse to one, so a
list of 3 or 7 numbers has the same skeleton. Two requests from one template that differ only in masked
values have the same skeleton.

**Stable hashes** (:func:`stable_hash_expr`, :func:`skeleton_id_expr`): our own 64-bit hash of the UTF-8
bytes, identical across runs, processes, machines *and* polars versions (polars' own ``hash`` is only
stable within one polars version, so it is not used for ids that reach reports or the store)::

    poly64(b)        = sum_i (b[i] + 1) * P ** (len(b) - 1 - i)   mod 2**64,  P = 0x9E3779B97F4A7C15
    stable_hash64(b) = fmix64(poly64(b))                            (MurmurHash3's 64-bit finaliser)

It is computed with numpy over the Arrow buffers of a whole column (about 100 MB/s on one core). A
polynomial hash composes: the MinHash shingler derives the hash of ``"w1 w2 w3"`` from the word hashes
without re-reading bytes (see :mod:`.minhash`). :func:`stable_hash64` is the plain-Python reference.
Collisions only ever merge (never split) groups, so an adversary gains nothing from crafting them.

**Slot sweeps** (:func:`slot_sweeps`). An extraction campaign re-sends one template with a slot it sweeps
("Explain {X} step by step" over hundreds of topics X). Masked slots (numbers, quotes, code ...) already
give one skeleton for the whole sweep, so per (entity, skeleton) the *fill diversity* is simply distinct
texts / requests. Free-word slots are not masked, so every X gives another skeleton; for those the
requests are grouped by their *template frame*: the longest prefix and suffix of the skeleton's words
(each at most ``ClusterConfig.frame_words`` words) that are shared by at least ``frame_support`` requests
of the same entity (``max(frame_min_support, frame_min_share * requests of the entity)``), keeping at
least one word in between. What lies between is the *fill*. The prefix length of a request is the number
of k in 1..K whose k-word prefix is that frequent (prefix groups nest, so this is the longest frequent
prefix); the suffix likewise, given the prefix. A request with no frequent prefix or suffix gets the empty
frame ``{}`` (unframed). Per (entity, frame) we expose:

* ``n_requests``, ``frame_share`` (of the entity's requests), ``frame_words`` (fixed words in the frame),
  ``n_skeletons``;
* ``n_distinct_texts`` and ``fill_distinct_ratio`` (distinct texts / requests: the fill is everything that
  differs inside the frame, masked values included), ``n_distinct_middles`` / ``middle_distinct_ratio``
  (the same over the skeleton's unmasked middle words only);
* ``fill_words_mean`` / ``fill_words_median`` (words of the text outside the frame) and
  ``fill_word_diversity`` (distinct middle words / middle words, over the first 32 words of each fill).

A sweep and a support app both show one dominant frame with distinct fills. They differ in the fill: a sweep
fills in a short phrase drawn from a broad list (few words, high word diversity); a support app fills in a
long customer text (many words, function words repeating, lower word diversity). The detector scores these
measurements; this module only measures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

# ----------------------------------------------------------------------------------------------------------
# Normalisation

# Format characters (Cf: zero-width space/joiners, BOM, bidi marks, soft hyphen) and C0/C1 control characters
# that are not whitespace (\t\n\v\f\r and U+0085 are whitespace and become spaces below).
_INVISIBLE = r"[\p{Cf}\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]"


def _expr(col: str | pl.Expr) -> pl.Expr:
    return pl.col(col) if isinstance(col, str) else col


# A whitespace run other than a single space (a run holding a non-space whitespace character, or two or
# more spaces), matched whole from its first character: replacing these by one space is ``\s+`` -> " "
# without rewriting the single space between every two words (the 1M scan's texts hold ~50M of them, and
# each is a replacement for ``\s+``: 4x slower).
_WS_RUN = r" ?[^\S ]\s*| {2,}\s*"
_NON_ASCII = r"[^\x00-\x7f]"


def _nfkc_batch(s: pl.Series) -> pl.Series:
    # NFKC maps every ASCII character to itself, so only rows with a non-ASCII character are normalised
    # (a seventh of synth prompts; NFKC of every row was a third of normalize_expr's time).
    idx = s.str.contains(_NON_ASCII).arg_true()
    if idx.len() == 0:
        return s
    return s.scatter(idx, s.gather(idx).str.normalize("NFKC"))


def per_distinct_batch(fn: Callable[[pl.Expr], pl.Expr], dtype: pl.DataType) -> Callable[[pl.Series], pl.Series]:
    """A batch function computing the elementwise ``fn`` once per distinct value of the batch and gathering
    the results back (:func:`distinct_index`): a partition of templated traffic holds each prompt 1.6 times
    on average, and the regexes below are the cost of the frame's text columns."""

    def batch(s: pl.Series) -> pl.Series:
        uniq, index = distinct_index(s.cast(pl.String))
        out = uniq.alias("v").to_frame().select(fn(pl.col("v")).cast(dtype)).to_series()
        return out.gather(index).alias(s.name)

    return batch


def _normalize_plain(e: pl.Expr) -> pl.Expr:
    return (
        e.map_batches(_nfkc_batch, return_dtype=pl.String, is_elementwise=True)
        .str.to_lowercase()
        .str.replace_all(_INVISIBLE, "")
        .str.replace_all(_WS_RUN, " ")
        .str.strip_chars(" ")
    )


def normalize_expr(col: str | pl.Expr) -> pl.Expr:
    """NFKC, lowercase, invisible characters removed, whitespace runs collapsed to one space, stripped.

    Nulls stay null. The output's words are separated by single spaces. Computed once per distinct text.
    """
    return (
        _expr(col)
        .cast(pl.String)
        .map_batches(per_distinct_batch(_normalize_plain, pl.String()), return_dtype=pl.String, is_elementwise=True)
    )


# ----------------------------------------------------------------------------------------------------------
# Skeletons

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORD = r"(?:st|nd|rd|th)"
_AMPM = r"(?:\s?(?:[ap]m\b|[ap]\.m\.))"


def _long_mixed_id(min_len: int) -> str:
    # A token of >= min_len characters from [a-z0-9_-] containing a digit. Rust's regex has no lookahead, so
    # the length is enforced by alternation over the position p of the first digit: p letters, the digit,
    # then at least min_len - 1 - p more characters.
    alts = [rf"[a-z_-]{{{p}}}\d[a-z0-9_-]{{{min_len - 1 - p},}}" for p in range(min_len - 1)]
    alts.append(rf"[a-z_-]{{{min_len - 1},}}\d[a-z0-9_-]*")
    return r"(?i)\b(?:" + "|".join(alts) + r")\b"


def _ascii_bounds(pattern: str) -> str:
    # Unicode word boundaries keep Rust's regex off its fast DFA engines (3-6x slower on real prompts);
    # ASCII ones are fast and, for masking digits and ids, if anything better ("2024г" -> "<num>г").
    return pattern.replace(r"\b", r"(?-u:\b)").replace(r"\B", r"(?-u:\B)")


# (pattern, placeholder), applied in order. Patterns are case-insensitive so that the skeleton of raw text
# works too, though the scan frame builds skeletons from normalised text. Word boundaries are ASCII.
_RULES: tuple[tuple[str, str], ...] = (
    # code: closed fences, an unclosed fence to the end, inline code
    (r"```[\s\S]*?```|~~~[\s\S]*?~~~", "<code>"),
    (r"```[\s\S]*$", "<code>"),
    (r"`[^`]{1,300}`", "<code>"),
    # URLs (not ending in sentence punctuation) and e-mail addresses
    (r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]", "<url>"),
    (r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", "<email>"),
    # quoted spans; a single quote opens only after a non-word character and closes only before one, so
    # apostrophes (don't, the boys' toys) are not quotes
    (r"\"[^\"]{0,500}\"", "<q>"),
    (r"\B'.{1,300}?'\B", "<q>"),
    (r"“[^”]{0,500}”|‘.{1,300}?’\B|«[^»]{0,500}»|„[^“”]{0,500}[“”]|‹[^›]{0,300}›|「[^」]{0,300}」", "<q>"),
    # dates and times
    (
        r"(?i)\b\d{4}-\d{1,2}-\d{1,2}(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?\b"
        r"|\b\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})\b|\b\d{1,2}[.-]\d{1,2}[.-]\d{4}\b",
        "<date>",
    ),
    (
        rf"(?i)\b{_MONTH}\.?\s+\d{{1,2}}{_ORD}?(?:,?\s+\d{{4}})?\b"
        rf"|\b\d{{1,2}}{_ORD}?\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+\d{{4}}\b)?"
        rf"|\b{_MONTH}\.?\s+\d{{4}}\b",
        "<date>",
    ),
    (rf"(?i)\b\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?{_AMPM}?|\b\d{{1,2}}{_AMPM}", "<date>"),
    # UUIDs and 0x-hex before numbers (a UUID segment like 550e8400 reads as a number otherwise)
    (r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b0x[0-9a-f]+\b", "<id>"),
    # numbers: 12, 12.5, 1,000,000, .5, 1e-9, 50%, 1st, 5kg
    (rf"(?i)(?:\b\d+(?:[.,]\d+)*|\B\.\d+)(?:e[+-]?\d+)?(?:%|{_ORD}\b|[a-z]{{1,3}}\b|\b)", "<num>"),
    # what is left of ids: hex runs (pure digit runs are <num> by now) and long mixed tokens
    (r"(?i)\b[0-9a-f]{8,}\b", "<id>"),
    (_long_mixed_id(10), "<id>"),
    # lists of one placeholder collapse
    *((rf"{tag}(?:[\s,;]*{tag})+", tag) for tag in ("<num>", "<q>", "<id>", "<date>", "<url>", "<email>")),
)
SKELETON_RULES: tuple[tuple[str, str], ...] = tuple((_ascii_bounds(p), ph) for p, ph in _RULES)


def _skeleton_plain(e: pl.Expr) -> pl.Expr:
    for pattern, placeholder in SKELETON_RULES:
        e = e.str.replace_all(pattern, placeholder)
    return e.str.replace_all(_WS_RUN, " ").str.strip_chars(" ")


def skeleton_expr(col: str | pl.Expr) -> pl.Expr:
    """The template skeleton: slot-like spans masked to typed placeholders (see the module docstring).

    Meant for ``text_norm``; nulls stay null. Computed once per distinct text.
    """
    return (
        _expr(col)
        .cast(pl.String)
        .map_batches(per_distinct_batch(_skeleton_plain, pl.String()), return_dtype=pl.String, is_elementwise=True)
    )


# ----------------------------------------------------------------------------------------------------------
# Stable hashing (numpy over Arrow buffers)

_U64 = np.uint64
POLY_BASE = _U64(0x9E3779B97F4A7C15)  # odd, so multiplication by it is a bijection mod 2**64
_MASK64 = (1 << 64) - 1
_CHUNK_BYTES = 1 << 20  # bytes per numpy pass: keeps temporaries in cache-friendly, reusable blocks


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection) on a uint64 array; wraps mod 2**64."""
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> _U64(33))


def fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    return h ^ (h >> 33)


def poly64(data: bytes) -> int:
    """Reference (plain Python) polynomial hash of bytes: sum (b_i + 1) * P^(n-1-i) mod 2**64."""
    h = 0
    p = int(POLY_BASE)
    for b in data:
        h = (h * p + b + 1) & _MASK64
    return h


def stable_hash64(data: bytes) -> int:
    """Reference (plain Python) stable hash of bytes; :func:`stable_hash_expr` computes it per column."""
    return fmix64_int(poly64(data))


_INV_BASE = pow(int(POLY_BASE), -1, 1 << 64)  # P is odd, hence invertible mod 2**64
_POW_CACHE: dict[int, np.ndarray] = {}


def _power_table(base: int, n: int) -> np.ndarray:
    """``base**k mod 2**64`` for k = 0..n-1 at least, uint64; cached and grown by doubling."""
    t = _POW_CACHE.get(base)
    if t is None or t.size < n:
        size = max(n, 2 * (0 if t is None else t.size), 1 << 16)
        t = np.full(size, _U64(base), dtype=np.uint64)
        t[0] = 1
        t = np.cumprod(t, dtype=np.uint64)  # integer overflow wraps, which is the modulo
        t.setflags(write=False)
        _POW_CACHE[base] = t
    return t


def poly_powers(n: int) -> np.ndarray:
    """``P**k mod 2**64`` for k = 0..n (at least), as uint64."""
    return _power_table(int(POLY_BASE), n + 1)


def utf8_buffers(series: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes and int64 offsets (length n + 1) of a string column, without copying the text.

    Nulls read as empty strings.
    """
    s = series.cast(pl.String).fill_null("")
    arr = s.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + n + 1] if n else np.zeros(1, dtype=np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, dtype=np.uint8)
    return data, offsets


def segment_poly(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``poly64`` of the byte segments ``data[starts[i]:ends[i]]`` (uint64, one per segment).

    Segments must be sorted and non-overlapping (gaps between them are allowed). With Q = P**-1 mod 2**64
    and the prefix sums ``H[i] = sum_{k<i} (b_k + 1) * Q**k`` of a block of bytes,
    ``poly64(b[s:e]) = P**(e-1) * (H[e] - H[s])``: four numpy passes over the bytes, then one gather per
    segment. Blocks of about 1 MiB keep the power tables and temporaries small.
    """
    m = starts.size
    out = np.zeros(m, dtype=np.uint64)
    if m == 0:
        return out
    starts = starts.astype(np.int64, copy=False)
    ends = ends.astype(np.int64, copy=False)
    cuts = np.searchsorted(starts, np.arange(starts[0], ends[-1], _CHUNK_BYTES), side="left")
    bounds = np.unique(np.concatenate([[0], cuts, [m]]))
    block_span = ends[bounds[1:] - 1] - starts[bounds[:-1]]
    max_span = int(block_span.max()) + 1
    pw = _power_table(int(POLY_BASE), max_span)
    qw = _power_table(_INV_BASE, max_span)
    one = _U64(1)
    for s0, s1 in itertools.pairwise(bounds):
        st = starts[s0:s1]
        en = ends[s0:s1]
        b0, b1 = int(st[0]), int(en[-1])
        span = b1 - b0
        if span <= 0:
            continue
        prefix = np.empty(span + 1, dtype=np.uint64)
        prefix[0] = 0
        terms = data[b0:b1].astype(np.uint64)
        terms += one
        terms *= qw[:span]
        np.cumsum(terms, out=prefix[1:])
        sr = st - b0
        er = en - b0
        vals = pw[np.maximum(er - 1, 0)] * (prefix[er] - prefix[sr])
        out[s0:s1] = np.where(er > sr, vals, _U64(0))
    return out


def hash_strings(series: pl.Series) -> np.ndarray:
    """:func:`stable_hash64` of every string of a column (uint64 numpy array; nulls hash like "")."""
    data, offsets = utf8_buffers(series)
    return fmix64(segment_poly(data, offsets[:-1], offsets[1:]))


def stable_hash_expr(col: str | pl.Expr) -> pl.Expr:
    """UInt64 :func:`stable_hash64` of a string column's UTF-8 bytes, stable across polars versions.

    Nulls stay null.
    """

    def _batch(s: pl.Series) -> pl.Series:
        out = pl.Series(s.name, hash_strings(s), dtype=pl.UInt64)
        if s.null_count():
            out = pl.select(pl.when(s.is_null()).then(None).otherwise(out)).to_series().alias(s.name)
        return out

    return _expr(col).map_batches(_batch, return_dtype=pl.UInt64, is_elementwise=True)


def skeleton_id_expr(col: str | pl.Expr) -> pl.Expr:
    """u64 id of a skeleton: :func:`stable_hash_expr` (our polynomial + fmix64 hash, not polars' hash)."""
    return stable_hash_expr(col)


def distinct_index(values: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """The distinct values of a column (first appearance first; null is one value) and, per row, the
    position of its value among them (int64). Per-text work (regexes, word lists, MinHash) then runs once
    per distinct text and is gathered back with the index: templated traffic repeats its prompts,
    skeletons and system prompts (a 1M-request partition holds 150k distinct prompts in 240k rows and 18
    system prompts). Exact: values are grouped by equality, not by a hash."""
    g = values.alias("v").to_frame().with_row_index("_i").group_by("v", maintain_order=True).agg(pl.col("_i"))
    pos = g.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_u"), "_i").explode("_i")
    index = np.empty(values.len(), dtype=np.int64)
    index[pos["_i"].to_numpy()] = pos["_u"].to_numpy()
    return g["v"].alias(values.name), index


# ----------------------------------------------------------------------------------------------------------
# Slot sweeps


_DIVERSITY_WORDS = 32  # fill_word_diversity reads the first 32 words of each fill (bounded cost)


@dataclass(frozen=True)
class SlotSweeps:
    """Slot-sweep measurements. ``by_skeleton``: one row per (entity_id, skeleton_id); ``by_frame``: one row
    per (entity_id, frame_id). ``frame_id`` joins the two. See the module docstring for every column."""

    by_skeleton: pl.DataFrame
    by_frame: pl.DataFrame


def _words(col: str) -> pl.Expr:
    return pl.when(pl.col(col) == "").then(pl.lit([], dtype=pl.List(pl.String))).otherwise(pl.col(col).str.split(" "))


def frame_columns(
    df: pl.DataFrame,
    *,
    frame_words: int = 6,
    min_support: int = 3,
    min_share: float = 0.01,
    min_continuation: float = 0.5,
) -> pl.DataFrame:
    """Per request: ``frame_prefix``, ``frame_suffix``, ``frame`` ("prefix {} suffix"), ``frame_id``,
    ``frame_words``, ``middle`` / ``middle_words`` (the skeleton's words between prefix and suffix, as text
    and as a list) and ``fill_words`` (words of ``text_norm`` outside the frame). Needs ``entity_id``,
    ``skeleton`` and ``text_norm``."""
    k_max = max(int(frame_words), 0)
    n_ent = pl.len().over("entity_id")
    support = pl.max_horizontal(pl.lit(int(min_support)), (n_ent * float(min_share)).ceil().cast(pl.Int64))
    f = (
        df.with_columns(pl.col("skeleton").fill_null(""), pl.col("text_norm").fill_null(""))
        .with_columns(_words("skeleton").alias("_w"))
        .with_columns(pl.col("_w").list.len().cast(pl.Int64).alias("_nw"), support.alias("_support"))
    )
    if k_max:
        ks = range(1, k_max + 1)
        # Keys of the k-word prefixes / suffixes (only where a word is left over): the first / last K words
        # hashed, then chained. Polars' hash is fine here: the keys group requests inside this call only
        # and are never stored (so its version-specific values do not matter).
        f = f.with_columns(
            *(pl.col("_w").list.get(k - 1, null_on_oob=True).hash(11).alias(f"_hp{k}") for k in ks),
            *(pl.col("_w").list.get(-k, null_on_oob=True).hash(11).alias(f"_hs{k}") for k in ks),
        )
        keys = []
        for side in "ps":
            acc: pl.Expr | None = None
            for k in ks:
                word = pl.col(f"_h{side}{k}")
                acc = word if acc is None else (acc ^ word).hash(k)
                keys.append(pl.when(pl.col("_nw") > k).then(acc).alias(f"_{side}{k}"))
        f = f.with_columns(keys)
        f = f.with_columns(
            *(
                pl.when(pl.col(f"_{side}{k}").is_not_null())
                .then(pl.len().over("entity_id", f"_{side}{k}").cast(pl.Int64))
                .otherwise(0)
                .alias(f"_c{side}{k}")
                for side in "ps"
                for k in ks
            )
        )

        # A frame word is one that (almost) every request of the shorter frame continues with: the k-word
        # prefix must be frequent (>= support) and keep >= min_continuation of the (k-1)-word prefix's
        # requests. Where the continuation fans out, the slot begins. The frame length is the number of
        # leading k that pass. Same for suffixes, given the prefix (a word of fill must remain).
        def leading(side: str, extra: pl.Expr | None) -> pl.Expr:
            conds = []
            for k in ks:
                cnt = pl.col(f"_c{side}{k}")
                cond = cnt >= pl.col("_support")
                if k > 1:
                    cond = cond & (cnt >= pl.col(f"_c{side}{k - 1}") * float(min_continuation))
                if extra is not None:
                    cond = cond & (extra + k < pl.col("_nw"))
                conds.append(cond)
            total = pl.lit(0, dtype=pl.Int64)
            ok = pl.lit(True)
            for cond in conds:
                ok = ok & cond
                total = total + ok.cast(pl.Int64)
            return total

        f = f.with_columns(leading("p", None).alias("_np"))
        f = f.with_columns(leading("s", pl.col("_np")).alias("_ns"))
    else:
        f = f.with_columns(pl.lit(0, dtype=pl.Int64).alias("_np"), pl.lit(0, dtype=pl.Int64).alias("_ns"))
    prefix = pl.col("_w").list.head(pl.col("_np")).list.join(" ")
    suffix = pl.col("_w").list.tail(pl.col("_ns")).list.join(" ")
    text_words = pl.when(pl.col("text_norm") == "").then(0).otherwise(pl.col("text_norm").str.count_matches(" ") + 1)
    f = f.with_columns(
        prefix.alias("frame_prefix"),
        suffix.alias("frame_suffix"),
        (pl.col("_np") + pl.col("_ns")).alias("frame_words"),
        pl.col("_w")
        .list.slice(pl.col("_np"), pl.max_horizontal(pl.col("_nw") - pl.col("_np") - pl.col("_ns"), 0))
        .alias("middle_words"),
        pl.max_horizontal(text_words.cast(pl.Int64) - pl.col("_np") - pl.col("_ns"), pl.lit(0)).alias("fill_words"),
    ).with_columns(
        pl.concat_str([pl.col("frame_prefix"), pl.lit(" {} "), pl.col("frame_suffix")], separator="")
        .str.strip_chars(" ")
        .alias("frame"),
        pl.col("middle_words").list.join(" ").alias("middle"),
    )
    f = f.with_columns(stable_hash_expr("frame").alias("frame_id"))
    return f.drop([c for c in f.columns if c.startswith("_")])


def slot_sweeps(
    df: pl.DataFrame,
    *,
    frame_words: int = 6,
    min_support: int = 3,
    min_share: float = 0.01,
    min_continuation: float = 0.5,
) -> SlotSweeps:
    """Slot-sweep measurements from per-request ``entity_id, skeleton_id, text_norm, skeleton``.

    The defaults equal ``ClusterConfig.frame_words / frame_min_support / frame_min_share /
    frame_min_continuation``; callers pass the configured values.
    """
    f = frame_columns(
        df.select("entity_id", "skeleton_id", "text_norm", "skeleton"),
        frame_words=frame_words,
        min_support=min_support,
        min_share=min_share,
        min_continuation=min_continuation,
    ).with_columns(pl.len().over("entity_id").alias("_n_entity"))
    by_frame = (
        f.group_by("entity_id", "frame_id")
        .agg(
            pl.col("frame").first(),
            pl.col("frame_prefix").first(),
            pl.col("frame_suffix").first(),
            pl.col("frame_words").first(),
            pl.len().alias("n_requests"),
            pl.col("_n_entity").first(),
            pl.col("skeleton_id").n_unique().alias("n_skeletons"),
            pl.col("text_norm").n_unique().alias("n_distinct_texts"),
            pl.col("middle").n_unique().alias("n_distinct_middles"),
            pl.col("fill_words").mean().alias("fill_words_mean"),
            pl.col("fill_words").median().alias("fill_words_median"),
            pl.col("middle_words")
            .list.head(_DIVERSITY_WORDS)
            .list.explode(keep_nulls=False, empty_as_null=False)
            .n_unique()
            .alias("_vocab"),
            pl.col("middle_words").list.head(_DIVERSITY_WORDS).list.len().sum().alias("_tokens"),
        )
        .with_columns(
            (pl.col("n_requests") / pl.col("_n_entity")).alias("frame_share"),
            (pl.col("n_distinct_texts") / pl.col("n_requests")).alias("fill_distinct_ratio"),
            (pl.col("n_distinct_middles") / pl.col("n_requests")).alias("middle_distinct_ratio"),
            pl.when(pl.col("_tokens") > 0).then(pl.col("_vocab") / pl.col("_tokens")).otherwise(0.0).alias("fill_word_diversity"),
        )
        .drop("_n_entity", "_vocab", "_tokens")
        .sort(["entity_id", "n_requests", "frame_id"], descending=[False, True, False])
    )
    by_skeleton = (
        f.group_by("entity_id", "skeleton_id")
        .agg(
            pl.col("skeleton").first(),
            pl.len().alias("n_requests"),
            pl.col("_n_entity").first(),
            pl.col("text_norm").n_unique().alias("n_distinct_texts"),
            pl.col("skeleton").first().str.count_matches(r"<(?:num|q|id|date|url|email|code)>").alias("n_slots"),
            pl.col("frame_id").first(),
        )
        .with_columns(
            (pl.col("n_requests") / pl.col("_n_entity")).alias("skeleton_share"),
            (pl.col("n_distinct_texts") / pl.col("n_requests")).alias("fill_diversity"),
        )
        .drop("_n_entity")
        .join(
            by_frame.select(
                "entity_id",
                "frame_id",
                pl.col("frame"),
                pl.col("n_requests").alias("frame_n_requests"),
                "frame_share",
                pl.col("fill_distinct_ratio").alias("frame_fill_distinct_ratio"),
                pl.col("fill_words_median").alias("frame_fill_words_median"),
            ),
            on=["entity_id", "frame_id"],
            how="left",
        )
        .sort(["entity_id", "n_requests", "skeleton_id"], descending=[False, True, False])
    )
    return SlotSweeps(by_skeleton=by_skeleton, by_frame=by_frame)
