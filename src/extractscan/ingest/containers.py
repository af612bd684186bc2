"""Input containers: files on disk -> a stream of decoded records.

A *container* is how records are packed in a file, independent of the log format:

* compression, detected by magic bytes (never by extension): none, gzip (``1f 8b``, multi-member) or zstd
  (``28 b5 2f fd``, multi-frame);
* encoding, detected from the first decompressed bytes: Parquet (``PAR1``), a JSON array (``[``), JSON Lines
  (``{`` and the first lines parse on their own), a stream of JSON values (a single pretty-printed object
  such as a CloudWatch envelope, or Firehose-style objects concatenated without separators), CSV (a header
  line of distinct names), else *lines* (every line is tried as JSON; garbage becomes error records).

Decoding never raises on bad content. Every record comes out as a :class:`RawRecord`, in file order, either
with a decoded ``value`` or with an ``error`` reason code (see :data:`RECORD_ERRORS`). A truncated or
corrupt compressed stream yields the records read so far plus one error record. Memory is bounded by
``max_record_bytes`` plus a few read buffers: files are streamed, JSON arrays included.

``RawRecord.digest`` identifies the raw bytes of a record: ``sha256(raw)`` for its first occurrence in the
file and ``sha256(sha256(raw) || "#n")`` for the n-th identical occurrence, so that repeated identical
records keep distinct ids while the same file (or a renamed copy) always gives the same digests.
"""

from __future__ import annotations

import csv
import datetime as _dt
import decimal
import hashlib
import io
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import zstandard

DEFAULT_MAX_RECORD_BYTES = 32 * 1024 * 1024
EXCERPT_BYTES = 200
_CHUNK = 1 << 20  # bytes read from disk / decompressed per call
_HEAD_BYTES = 1 << 20  # bytes looked at to detect the container

# Record-level error reason codes (RawRecord.error).
INVALID_JSON = "invalid_json"
INVALID_UTF8 = "invalid_utf8"
NUL_BYTE = "nul_byte"
RECORD_TOO_LARGE = "record_too_large"
INVALID_CSV = "invalid_csv"
INVALID_PARQUET = "invalid_parquet"
TRUNCATED_JSON = "truncated_json"
TRUNCATED_COMPRESSED_STREAM = "truncated_compressed_stream"
CORRUPT_COMPRESSED_STREAM = "corrupt_compressed_stream"
READ_ERROR = "read_error"

RECORD_ERRORS: dict[str, str] = {
    INVALID_JSON: "the record is not valid JSON",
    INVALID_UTF8: "the record is not valid UTF-8",
    NUL_BYTE: "the raw record contains NUL bytes",
    RECORD_TOO_LARGE: "the raw record is larger than ingest.max_record_bytes",
    INVALID_CSV: "a CSV row that cannot be parsed or has more fields than the header",
    INVALID_PARQUET: "the Parquet file (or one of its row groups) cannot be read",
    TRUNCATED_JSON: "the file ends inside a JSON value or array",
    TRUNCATED_COMPRESSED_STREAM: "the gzip / zstd stream ends early (records up to that point are kept)",
    CORRUPT_COMPRESSED_STREAM: "the gzip / zstd stream is corrupt (records up to that point are kept)",
    READ_ERROR: "an I/O error while reading the file (records up to that point are kept)",
}

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
_BOM = b"\xef\xbb\xbf"
_WS = b" \t\r\n\f\v"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record of an input file, decoded (``value``) or not (``error`` is a reason code).

    ``offset`` is 1-based: the line number (JSONL, lines), the element index (JSON arrays and value
    streams) or the data row number (CSV, Parquet). ``head`` holds the first raw bytes, for excerpts.
    """

    offset: int
    raw_bytes_len: int
    digest: str
    value: Any = None
    error: str | None = None
    message: str | None = None
    head: bytes = b""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def excerpt(self) -> str:
        """The first raw bytes decoded with replacement (for the quarantine)."""
        return self.head[:EXCERPT_BYTES].decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------------
# Digests


class _Occurrences:
    """Occurrence numbers of identical raw records within one file, in bounded memory.

    The first 262,144 distinct records are tracked exactly; beyond that a fixed 8 MiB Bloom filter says
    "never seen" for almost every new record, and exact counts are kept only for the records it flags.
    A false positive gives a record occurrence number 2 instead of 1: still unique, and still a pure
    function of the file content, so ids stay stable across runs and renamed copies.
    """

    EXACT_LIMIT = 1 << 18
    BLOOM_BITS = 1 << 26

    def __init__(self) -> None:
        self._seen: set[bytes] | None = set()
        self._bloom: bytearray | None = None
        self._counts: dict[bytes, int] = {}

    def _bloom_test_and_set(self, key: bytes) -> bool:
        bloom = self._bloom
        assert bloom is not None
        v = int.from_bytes(key[:8], "little")
        i1 = v & (self.BLOOM_BITS - 1)
        i2 = (v >> 32) & (self.BLOOM_BITS - 1)
        m1 = 1 << (i1 & 7)
        m2 = 1 << (i2 & 7)
        hit = bool(bloom[i1 >> 3] & m1) and bool(bloom[i2 >> 3] & m2)
        bloom[i1 >> 3] |= m1
        bloom[i2 >> 3] |= m2
        return hit

    def number(self, key: bytes) -> int:
        seen = self._seen
        if seen is not None:
            if key not in seen:
                seen.add(key)
                if len(seen) > self.EXACT_LIMIT:
                    self._bloom = bytearray(self.BLOOM_BITS // 8)
                    for k in seen:
                        self._bloom_test_and_set(k)
                    self._seen = None
                return 1
        elif not self._bloom_test_and_set(key):
            return 1
        n = self._counts.get(key, 1) + 1
        self._counts[key] = n
        return n

    def digest(self, raw: bytes | bytearray) -> str:
        h = hashlib.sha256(raw).digest()
        n = self.number(h[:16])
        if n == 1:
            return h.hex()
        return hashlib.sha256(h + b"#%d" % n).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 hex of a file's bytes as stored (compressed files are hashed compressed)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# Decompression: a raw stream that ends (never raises) on truncated / corrupt input and says why.


def detect_compression(head: bytes) -> str:
    """``gzip``, ``zstd`` or ``none``, from the first bytes of a file."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def _zstd_complete(f: BinaryIO, size: int) -> bool:
    """True if the file is a sequence of complete zstd (or skippable) frames. Walks block headers only."""
    try:
        f.seek(0)
        pos = 0
        while pos < size:
            hdr = f.read(4)
            if len(hdr) < 4:
                return False
            magic = int.from_bytes(hdr, "little")
            if 0x184D2A50 <= magic <= 0x184D2A5F:  # skippable frame
                n = f.read(4)
                if len(n) < 4:
                    return False
                pos = f.seek(int.from_bytes(n, "little"), 1)
                continue
            if magic != 0xFD2FB528:
                return False
            fhd_b = f.read(1)
            if not fhd_b:
                return False
            fhd = fhd_b[0]
            single = (fhd >> 5) & 1
            skip = (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + ((1 if single else 0), 2, 4, 8)[fhd >> 6]
            f.seek(skip, 1)
            while True:
                bh = f.read(3)
                if len(bh) < 3:
                    return False
                v = int.from_bytes(bh, "little")
                btype = (v >> 1) & 3
                if btype == 3:
                    return False
                f.seek(1 if btype == 1 else v >> 3, 1)
                if v & 1:
                    break
            if (fhd >> 2) & 1:
                f.seek(4, 1)
            pos = f.tell()
        return pos == size
    except OSError:
        return False


class _Source(io.RawIOBase):
    """The decompressed bytes of one file. Truncation, corruption and I/O errors end the stream and are
    recorded in ``problem`` (reason code, message) instead of raising."""

    def __init__(self, f: BinaryIO, compression: str, size: int) -> None:
        self._f = f
        self.compression = compression
        self._size = size
        self.problem: tuple[str, str] | None = None
        self._pending = b""
        self._done = False
        self._in = b""
        self._gz: Any = None
        self._gz_member_open = False
        self._zr: Any = None
        if compression == "zstd":
            self._zr = zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True, closefd=False)

    def readable(self) -> bool:
        return True

    @property
    def compressed_pos(self) -> int:
        try:
            return self._f.tell()
        except (OSError, ValueError):
            return 0

    def unread(self, data: bytes) -> None:
        self._pending = data + self._pending

    def readinto(self, b: Any) -> int:
        data = self._read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def _fail(self, code: str, message: str) -> bytes:
        if self.problem is None:
            self.problem = (code, message)
        self._done = True
        return b""

    def _read(self, n: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        if self._done:
            return b""
        try:
            if self.compression == "gzip":
                return self._read_gzip(n)
            if self.compression == "zstd":
                return self._read_zstd(n)
            data = self._f.read(n)
            if not data:
                self._done = True
            return data
        except OSError as e:
            return self._fail(READ_ERROR, f"I/O error: {e}")

    def _read_zstd(self, n: int) -> bytes:
        try:
            data = self._zr.read(n)
        except zstandard.ZstdError as e:
            return self._fail(CORRUPT_COMPRESSED_STREAM, f"corrupt zstd stream: {e}")
        if data:
            return bytes(data)
        self._done = True
        if not _zstd_complete(self._f, self._size):
            return self._fail(TRUNCATED_COMPRESSED_STREAM, "zstd stream ends inside a frame")
        return b""

    def _read_gzip(self, n: int) -> bytes:
        while True:
            if self._gz is None:  # between members
                while len(self._in) < 2:
                    more = self._f.read(_CHUNK)
                    if not more:
                        break
                    self._in += more
                rest = self._in.lstrip(b"\x00")  # gzip allows trailing zero padding
                if not rest:
                    more = self._f.read(_CHUNK)
                    if not more:
                        self._done = True
                        return b""
                    self._in = more
                    continue
                if not rest.startswith(GZIP_MAGIC):
                    if len(rest) == 1 and rest == GZIP_MAGIC[:1]:
                        return self._fail(TRUNCATED_COMPRESSED_STREAM, "gzip stream ends inside a header")
                    return self._fail(CORRUPT_COMPRESSED_STREAM, "trailing bytes after a gzip member")
                self._in = rest
                self._gz = zlib.decompressobj(wbits=31)
            if not self._in:
                self._in = self._f.read(_CHUNK)
                if not self._in:
                    return self._fail(TRUNCATED_COMPRESSED_STREAM, "gzip stream ends inside a member")
            try:
                out = self._gz.decompress(self._in, n)
            except zlib.error as e:
                return self._fail(CORRUPT_COMPRESSED_STREAM, f"corrupt gzip stream: {e}")
            self._in = self._gz.unconsumed_tail
            if self._gz.eof:
                self._in = self._gz.unused_data
                self._gz = None
            if out:
                return out


# --------------------------------------------------------------------------------------------------
# Record streams


def _classify_bad_json(raw: bytes | bytearray) -> tuple[str, str]:
    try:
        bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        return INVALID_UTF8, f"invalid UTF-8 at byte {e.start}"
    return INVALID_JSON, "not valid JSON"


def _json_loads(raw: bytes | bytearray) -> tuple[Any, str | None, str | None]:
    """(value, None, None) or (None, reason, message)."""
    if b"\x00" in raw:
        return None, NUL_BYTE, "raw NUL byte in record"
    try:
        return orjson.loads(raw), None, None
    except orjson.JSONDecodeError as e:
        reason, msg = _classify_bad_json(raw)
        if reason == INVALID_JSON:
            msg = f"invalid JSON: {e}"
        return None, reason, msg


_STRUCT = re.compile(rb'["\[\]{}]')
_STR_BODY = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
_TOKEN = re.compile(rb'[^\s,\[\]{}:"]*+')
_TO_EOL = re.compile(rb"[^\n]*+")
_SKIP = re.compile(rb"[^ \t\r\n\f\v,]")
_OBJ_END = re.compile(rb"\}(?=[ \t\r\n]*+(?:[,{]|\][ \t\r\n]*+(?:[\[{]|\Z)|\Z))")
_UNPARSED = object()


class _JsonValueScanner:
    """Splits a byte stream into top-level JSON values (and the elements of top-level arrays) without
    decoding it: only strings and brackets are tracked, so memory stays bounded by the largest record."""

    def __init__(self, f: BinaryIO, max_record_bytes: int) -> None:
        self.f = f
        self.max = max_record_bytes
        self.buf = bytearray()
        self.base = 0  # absolute offset of buf[0]
        self.eof = False

    # each item: (raw bytes or None when oversized, total length, head, status)
    # status: "ok", "too_large", "truncated", "garbage"
    def _fill(self, keep_from: int) -> bool:
        drop = keep_from - self.base
        if drop > 0:
            del self.buf[:drop]
            self.base = keep_from
        if self.eof:
            return False
        chunk = self.f.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _peek_non_ws(self, i: int) -> tuple[int, int | None]:
        """Absolute position of the next byte at or after i that is neither whitespace nor a stray comma
        (commas carry no data, so ``[1,,2]`` and ``{..},{..}`` lose nothing), and that byte (None at EOF)."""
        while True:
            m = _SKIP.search(self.buf, i - self.base)
            if m is not None:
                return m.start() + self.base, self.buf[m.start()]
            if not self._fill(len(self.buf) + self.base):
                return len(self.buf) + self.base, None
            i = self.base

    def _item(self, start: int, end: int, oversized: bool, head: bytes, status: str) -> tuple[Any, ...]:
        if oversized:
            return (None, end - start, head, "too_large" if status == "ok" else status, _UNPARSED)
        raw = bytes(self.buf[start - self.base : end - self.base])
        return (raw, end - start, raw[:EXCERPT_BYTES], status, _UNPARSED)

    def _scan_container(self, start: int) -> tuple[Any, ...]:
        depth = 0
        i = start
        in_string = False
        oversized = False
        head = b""
        while True:
            if not oversized and i - start > self.max:
                oversized = True
                head = bytes(self.buf[start - self.base : start - self.base + EXCERPT_BYTES])
            rel = i - self.base
            if in_string:
                m = _STR_BODY.match(self.buf, rel)
                k = m.end() if m else rel
                if k < len(self.buf) and self.buf[k] == 0x22:
                    in_string = False
                    i = k + 1 + self.base
                    continue
                i = k + self.base
            else:
                m = _STRUCT.search(self.buf, rel)
                if m is not None:
                    ch = self.buf[m.start()]
                    i = m.end() + self.base
                    if ch == 0x22:
                        in_string = True
                    elif ch in (0x5B, 0x7B):
                        depth += 1
                    else:
                        depth -= 1
                        if depth <= 0:
                            return self._item(start, i, oversized, head, "ok")
                    continue
                i = len(self.buf) + self.base
            if not self._fill(i if oversized else start):
                return self._item(start, i, oversized, head, "truncated")

    def _scan_token(self, start: int, pattern: re.Pattern[bytes], status: str) -> tuple[Any, ...]:
        i = start
        oversized = False
        head = b""
        while True:
            m = pattern.match(self.buf, i - self.base)
            assert m is not None  # the patterns match the empty string
            i = m.end() + self.base
            if not oversized and i - start > self.max:
                oversized = True
                head = bytes(self.buf[start - self.base : start - self.base + EXCERPT_BYTES])
            if m.end() < len(self.buf) or not self._fill(i if oversized else start):
                return self._item(start, i, oversized, head, status)

    def _scan_string(self, start: int) -> tuple[Any, ...]:
        i = start + 1
        oversized = False
        head = b""
        while True:
            m = _STR_BODY.match(self.buf, i - self.base)
            k = m.end() if m else i - self.base
            if k < len(self.buf) and self.buf[k] == 0x22:
                return self._item(start, k + 1 + self.base, oversized, head, "ok")
            i = k + self.base
            if not oversized and i - start > self.max:
                oversized = True
                head = bytes(self.buf[start - self.base : start - self.base + EXCERPT_BYTES])
            if not self._fill(i if oversized else start):
                return self._item(start, i, oversized, head, "truncated")

    def _scan_object_fast(self, start: int) -> tuple[Any, ...] | None:
        """Most records are objects: find the ``}`` where the brace count (strings ignored) returns to
        zero and let orjson decide. A complete object cannot be a prefix of a longer one, so the first
        candidate that parses is the end. None: no luck within a few tries (braces inside strings,
        invalid JSON, oversize): the caller falls back to the exact scan."""
        buf = self.buf
        i = scanned = start
        depth = 0
        tries = cands = 0
        while tries < 3 and cands < 256:
            m = _OBJ_END.search(buf, i - self.base)
            if m is None:
                if self.base + len(buf) - start > self.max or not self._fill(start):
                    return None
                continue
            end = m.end() + self.base
            if end - start > self.max:
                return None
            a, b = scanned - self.base, end - self.base
            depth += buf.count(b"{", a, b) - buf.count(b"}", a, b)
            i = scanned = end
            cands += 1
            if depth != 0:
                continue
            tries += 1
            raw = bytes(buf[start - self.base : b])
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            return (raw, len(raw), raw[:EXCERPT_BYTES], "ok", value)
        return None

    def _scan_value(self, start: int, ch: int) -> tuple[Any, ...]:
        if ch == 0x7B:
            return self._scan_object_fast(start) or self._scan_container(start)
        if ch == 0x5B:
            return self._scan_container(start)
        if ch == 0x22:
            return self._scan_string(start)
        if ch in (0x5D, 0x7D, 0x3A):  # ] } : where a value should start: garbage up to the end of the line
            return self._scan_token(start, _TO_EOL, "garbage")
        return self._scan_token(start, _TOKEN, "ok")

    def items(self) -> Iterator[tuple[Any, ...]]:
        """(raw | None, length, head, status, value or _UNPARSED) for each top-level value / element.
        status: ok, too_large, truncated, garbage or unclosed_array."""
        i = self.base
        while True:
            i, ch = self._peek_non_ws(i)
            if ch is None:
                return
            if ch != 0x5B:
                item = self._scan_value(i, ch)
                i += item[1]
                yield item
                continue
            # a top-level array: its elements are the records
            i += 1
            while True:
                i, ch = self._peek_non_ws(i)
                if ch is None:
                    yield (b"", 0, b"", "unclosed_array", _UNPARSED)
                    return
                if ch == 0x5D:
                    i += 1
                    break
                item = self._scan_value(i, ch)
                i += item[1]
                yield item
                if item[3] == "truncated":
                    return


class RecordStream:
    """The records of one file. Opening detects compression and container (and raises ``OSError`` when
    the file cannot be opened); iterating never raises on bad content.

    Attributes: ``compression`` (none / gzip / zstd), ``container`` (empty / jsonl / json / csv / parquet /
    lines), ``size`` (bytes on disk), ``bytes_read`` (bytes consumed from disk so far), ``problem``
    (reason code, message) for a file-level stream problem, once iteration has finished.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES):
        self.path = Path(path)
        self.max_record_bytes = max(1, int(max_record_bytes))
        self._file: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            magic = self._file.read(4)
            self._file.seek(0)
            self.compression = detect_compression(magic)
            self._source = _Source(self._file, self.compression, self.size)
            self._head = self._read_head()
            self.container = self._detect()
        except BaseException:
            self._file.close()
            raise
        self._occ = _Occurrences()

    # -- detection --------------------------------------------------------------------------------

    def _read_head(self) -> bytes:
        parts: list[bytes] = []
        n = 0
        while n < _HEAD_BYTES:
            data = self._source.read(_HEAD_BYTES - n)
            if not data:
                break
            parts.append(data)
            n += len(data)
        head = b"".join(parts)
        self._head_is_all = n < _HEAD_BYTES
        return head

    def _detect(self) -> str:
        head = self._head
        if head.startswith(PARQUET_MAGIC):
            return "parquet"
        if head.startswith(_BOM):
            head = head[len(_BOM) :]
            self._head = head
        stripped = head.lstrip(_WS)
        if not stripped:
            return "empty" if self._head_is_all else "lines"
        first = stripped[:1]
        if first == b"[":
            return "json"
        if first == b"{":
            return "jsonl" if self._looks_like_jsonl(stripped) else "json"
        if self._csv_delimiter(stripped) is not None:
            return "csv"
        return "lines"

    def _looks_like_jsonl(self, head: bytes) -> bool:
        lines = head.split(b"\n")
        if not self._head_is_all:
            lines = lines[:-1]  # the last one may be cut by the head limit
        sample = [ln.strip() for ln in lines if ln.strip()][:20]
        if not sample:
            # the first line is longer than the head: read it (bounded) and try it alone
            return self._first_long_line_parses(head)
        ok = 0
        for i, ln in enumerate(sample):
            try:
                v = orjson.loads(ln)
            except orjson.JSONDecodeError:
                continue
            if isinstance(v, dict | list):
                if i == 0:
                    return True
                ok += 1
        return len(sample) >= 2 and ok * 2 >= len(sample)

    def _first_long_line_parses(self, head: bytes) -> bool:
        parts = [head]
        n = len(head)
        while n <= self.max_record_bytes:
            data = self._source.read(_CHUNK)
            if not data:
                break
            parts.append(data)
            n += len(data)
            if b"\n" in data:
                break
        self._head = b"".join(parts)
        self._head_is_all = True  # _head now holds everything read so far; it is pushed back whole
        line = self._head.lstrip(_WS).split(b"\n", 1)[0].strip()
        if len(line) > self.max_record_bytes:
            return False
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        return True

    @staticmethod
    def _csv_delimiter(head: bytes) -> str | None:
        line = head.split(b"\n", 1)[0].rstrip(b"\r")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return None
        counts = {d: text.count(d) for d in (",", "\t", ";", "|")}
        delim = max(counts, key=lambda d: counts[d])
        if counts[delim] == 0:
            return None
        try:
            fields = next(csv.reader([text], delimiter=delim))
        except (csv.Error, StopIteration):
            return None
        names = [f.strip() for f in fields]
        if len(names) < 2 or len(set(names)) != len(names):
            return None
        for name in names:
            if not name or len(name) > 256 or not name.isprintable() or name[0] in "{[\"'":
                return None
        return delim

    # -- iteration --------------------------------------------------------------------------------

    @property
    def bytes_read(self) -> int:
        return self._source.compressed_pos

    @property
    def problem(self) -> tuple[str, str] | None:
        return self._source.problem

    def __enter__(self) -> RecordStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def _reader(self) -> io.BufferedReader:
        self._source.unread(self._head)
        self._head = b""
        return io.BufferedReader(self._source, buffer_size=_CHUNK)

    def _record(self, offset: int, raw: bytes | bytearray, value: Any) -> RawRecord:
        head = bytes(raw[:EXCERPT_BYTES])
        return RawRecord(offset, len(raw), self._occ.digest(raw), value=value, head=head)

    def _error(
        self,
        offset: int,
        reason: str,
        message: str,
        head: bytes = b"",
        length: int = 0,
        digest_of: bytes = b"",
    ) -> RawRecord:
        digest = self._occ.digest(digest_of or head or f"{reason}:{offset}".encode())
        return RawRecord(offset, length, digest, error=reason, message=message, head=head[:EXCERPT_BYTES])

    def __iter__(self) -> Iterator[RawRecord]:
        if self.container == "empty":
            f = self._reader()
            f.read()  # drain, so that a truncated stream is still reported
            yield from self._tail_problem(1)
            return
        if self.container == "parquet":
            yield from self._iter_parquet()
            return
        f = self._reader()
        if self.container == "json":
            yield from self._iter_json(f)
        elif self.container == "csv":
            yield from self._iter_csv(f)
        else:
            yield from self._iter_lines(f)

    def _tail_problem(self, offset: int, partial: bytes = b"", partial_len: int = 0) -> Iterator[RawRecord]:
        if self._source.problem is not None:
            code, msg = self._source.problem
            yield self._error(offset, code, msg, head=partial, length=partial_len, digest_of=partial)

    # JSON Lines and plain lines ----------------------------------------------------------------------

    def _iter_lines(self, f: io.BufferedReader) -> Iterator[RawRecord]:
        limit = self.max_record_bytes + 2
        lineno = 0
        while True:
            line = f.readline(limit)
            if not line:
                yield from self._tail_problem(lineno + 1)
                return
            lineno += 1
            terminated = line.endswith(b"\n")
            if not terminated and len(line) >= limit:  # longer than the limit: skip the rest of it
                total = len(line)
                head = line[:EXCERPT_BYTES]
                while True:
                    more = f.readline(_CHUNK)
                    total += len(more)
                    if not more or more.endswith(b"\n"):
                        total -= len(more) - len(more.rstrip(b"\r\n"))
                        break
                yield self._error(lineno, RECORD_TOO_LARGE, f"line of {total} bytes > max_record_bytes", head, total, head)
                continue
            raw = line.strip(_WS)
            if not raw:
                continue
            if len(raw) > self.max_record_bytes:
                yield self._error(
                    lineno,
                    RECORD_TOO_LARGE,
                    f"line of {len(raw)} bytes > max_record_bytes",
                    raw[:EXCERPT_BYTES],
                    len(raw),
                    raw,
                )
                continue
            value, reason, msg = _json_loads(raw)
            if reason is None:
                yield self._record(lineno, raw, value)
                continue
            if not terminated and self._source.problem is not None:
                # the last, partial line of a truncated stream: reported once, as the truncation
                code, pmsg = self._source.problem
                yield self._error(lineno, code, pmsg, raw, len(raw), raw)
                return
            if not terminated and reason == INVALID_JSON:
                reason, msg = (
                    TRUNCATED_JSON,
                    "the last line is incomplete JSON (no line end): truncated file?",
                )
            yield self._error(lineno, reason, msg or reason, raw[:EXCERPT_BYTES], len(raw), raw)

    # JSON arrays and value streams -------------------------------------------------------------------

    def _iter_json(self, f: io.BufferedReader) -> Iterator[RawRecord]:
        scanner = _JsonValueScanner(f, self.max_record_bytes)
        index = 0
        for raw, length, head, status, parsed in scanner.items():
            index += 1
            if status == "unclosed_array":
                if self._source.problem is None:
                    yield self._error(index, TRUNCATED_JSON, "the file ends before the JSON array is closed")
                else:
                    yield from self._tail_problem(index)
                return
            if status == "truncated":
                if self._source.problem is not None:
                    pcode, pmsg = self._source.problem
                    yield self._error(index, pcode, pmsg, head, length, raw or head)
                else:
                    yield self._error(index, TRUNCATED_JSON, "the file ends inside a JSON value", head, length, raw or head)
                return
            if status == "too_large" or raw is None:
                yield self._error(index, RECORD_TOO_LARGE, f"value of {length} bytes > max_record_bytes", head, length, head)
                continue
            if status == "garbage":
                code, why = _classify_bad_json(raw)
                if code == INVALID_JSON:
                    why = "unexpected bytes between JSON values"
                yield self._error(index, code, why, head, length, raw)
                continue
            if parsed is not _UNPARSED:
                value, reason, msg = parsed, None, None
            else:
                value, reason, msg = _json_loads(raw)
            if reason is None:
                # digest of the compact encoding: independent of the array's layout and whitespace
                yield self._record(index, orjson.dumps(value), value)
            else:
                yield self._error(index, reason, msg or reason, head, length, raw)
        yield from self._tail_problem(index + 1)

    # CSV -------------------------------------------------------------------------------------------

    def _iter_csv(self, f: io.BufferedReader) -> Iterator[RawRecord]:
        delim = self._csv_delimiter(self._peek_first_line(f)) or ","
        state: dict[str, Any] = {"raw": [], "size": 0, "flag": None, "partial": False}
        limit = self.max_record_bytes + 2

        def lines() -> Iterator[str]:
            while True:
                line = f.readline(limit)
                if not line:
                    return
                state["partial"] = not line.endswith(b"\n")
                if state["partial"] and len(line) >= limit:
                    total = len(line)
                    while True:
                        more = f.readline(_CHUNK)
                        total += len(more)
                        if not more or more.endswith(b"\n"):
                            break
                    state["size"] += total
                    if state["size"] <= EXCERPT_BYTES * 2:
                        state["raw"].append(line)
                    elif not state["raw"]:
                        state["raw"].append(line[:EXCERPT_BYTES])
                    state["flag"] = state["flag"] or (RECORD_TOO_LARGE, f"CSV line of {total} bytes")
                    yield "\n"
                    continue
                state["size"] += len(line)
                if state["size"] > self.max_record_bytes:
                    if not state["flag"]:
                        state["flag"] = (RECORD_TOO_LARGE, "CSV row larger than max_record_bytes")
                    if not state["raw"]:
                        state["raw"].append(line[:EXCERPT_BYTES])
                    yield ""  # keep the csv parser's state (an open quote) without growing the row
                    continue
                state["raw"].append(line)
                if b"\x00" in line:
                    state["flag"] = state["flag"] or (NUL_BYTE, "raw NUL byte in CSV row")
                    line = line.replace(b"\x00", b"")
                try:
                    yield line.decode("utf-8")
                except UnicodeDecodeError as e:
                    state["flag"] = state["flag"] or (INVALID_UTF8, f"invalid UTF-8 at byte {e.start}")
                    yield line.decode("utf-8", "replace")

        def take() -> tuple[bytes, int, tuple[str, str] | None]:
            raw = b"".join(state["raw"])
            size = state["size"]
            flag = state["flag"]
            state["raw"], state["size"], state["flag"] = [], 0, None
            return raw, size, flag

        csv.field_size_limit(2**31 - 1)  # we bound rows ourselves (max_record_bytes)
        reader = csv.reader(lines(), delimiter=delim)
        header: list[str] | None = None
        rowno = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raw, size, flag = take()
                if header is not None:
                    rowno += 1
                    yield self._error(rowno, INVALID_CSV, f"CSV error: {e}", raw, size, raw)
                continue
            raw, size, flag = take()
            if header is None:
                if row:
                    header = [h.strip() for h in row]
                continue
            if not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
                continue  # blank line
            rowno += 1
            if flag is not None:
                yield self._error(rowno, flag[0], flag[1], raw, size, raw)
                continue
            if len(row) > len(header):
                yield self._error(rowno, INVALID_CSV, f"{len(row)} fields, header has {len(header)}", raw, size, raw)
                continue
            if len(row) < len(header) and state["partial"] and self._source.problem is not None:
                code, msg = self._source.problem
                yield self._error(rowno, code, msg, raw, size, raw)
                return
            value = dict(zip(header, row, strict=False))
            for name in header[len(row) :]:
                value[name] = ""
            yield self._record(rowno, raw.strip(_WS), value)
        yield from self._tail_problem(rowno + 1)

    @staticmethod
    def _peek_first_line(f: io.BufferedReader) -> bytes:
        head = f.peek(_HEAD_BYTES)
        if head.startswith(_BOM):
            f.read(len(_BOM))
            head = head[len(_BOM) :]
        return head.lstrip(_WS)

    # Parquet ---------------------------------------------------------------------------------------

    def _iter_parquet(self) -> Iterator[RawRecord]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.compression == "none":
            src: Any = self._file
            self._file.seek(0)
        else:  # a compressed Parquet file: Parquet needs random access, so it is decompressed in memory
            f = self._reader()
            src = io.BytesIO(f.read())
        rowno = 0
        try:
            pf = pq.ParquetFile(src)
            batches: Iterable[Any] = pf.iter_batches(batch_size=256)
            for batch in batches:
                for row in batch.to_pylist():
                    rowno += 1
                    value = {str(k): _jsonable(v) for k, v in row.items()}
                    raw = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
                    if len(raw) > self.max_record_bytes:
                        yield self._error(
                            rowno,
                            RECORD_TOO_LARGE,
                            f"row of {len(raw)} bytes > max_record_bytes",
                            raw[:EXCERPT_BYTES],
                            len(raw),
                            raw,
                        )
                        continue
                    yield self._record(rowno, raw, value)
        except (pa.ArrowException, OSError, ValueError, TypeError, orjson.JSONEncodeError) as e:
            yield self._error(rowno + 1, INVALID_PARQUET, f"cannot read Parquet: {e}")
            return
        yield from self._tail_problem(rowno + 1)


def _jsonable(v: Any) -> Any:
    """Parquet values as JSON-like values, so readers see the same types as with JSON input."""
    if v is None or isinstance(v, str | bool | int | float):
        return v
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.UTC)
        return v.isoformat()
    if isinstance(v, _dt.date | _dt.time):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        return v.total_seconds()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):  # an Arrow map
            return {str(k): _jsonable(x) for k, x in v}
        return [_jsonable(x) for x in v]
    return str(v)


def open_records(path: str | os.PathLike[str], *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> RecordStream:
    """Open one file for decoding (raises ``OSError`` if it cannot be opened)."""
    return RecordStream(path, max_record_bytes=max_record_bytes)


def iter_records(path: str | os.PathLike[str], *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Iterator[RawRecord]:
    """All records of one file, in order (see :class:`RecordStream`)."""
    with open_records(path, max_record_bytes=max_record_bytes) as stream:
        yield from stream


# --------------------------------------------------------------------------------------------------
# Folder expansion

_SKIP_SUFFIXES = frozenset(
    {
        ".crc",
        ".md5",
        ".sha1",
        ".sha256",
        ".sig",
        ".asc",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".ico",
        ".pdf",
        ".pyc",
        ".swp",
        ".tmp",
        ".lock",
    }
)
_SKIP_NAMES = frozenset({"_SUCCESS", "Thumbs.db", "desktop.ini"})
_SKIP_PREFIXES = ("_started_", "_committed_", "_temporary")


def is_skipped_name(name: str) -> bool:
    """Hidden files and obvious non-log files (Spark/Hadoop markers, checksums, images) found while
    expanding a folder. Files named explicitly are never skipped; readers handle odd log objects (such as
    the Bedrock permission-check object) by content."""
    if name.startswith(".") or name in _SKIP_NAMES or name.startswith(_SKIP_PREFIXES):
        return True
    return os.path.splitext(name)[1].lower() in _SKIP_SUFFIXES


def _is_store_dir(root: Path, dirs: list[str], files: list[str]) -> bool:
    """An extractscan store (its own Parquet files are not input logs)."""
    return "manifest.json" in files and "requests" in dirs and "_txn" in dirs


def expand_paths(paths: Iterable[str | os.PathLike[str]], *, exclude: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    """Files named, plus the files under folders named (recursively, sorted, hidden and non-log files
    skipped, symlinked folders not followed). Folders that are extractscan stores and paths under an
    ``exclude`` folder (the target store) are left out. Missing paths raise ``FileNotFoundError``."""
    excluded = [Path(e).resolve() for e in exclude]

    def is_excluded(p: Path) -> bool:
        rp = p.resolve()
        return any(rp == e or e in rp.parents for e in excluded)

    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise FileNotFoundError(f"no such file or folder: {p}")
        if not p.is_dir():
            out.append(p)
            continue
        found: list[Path] = []
        for root, dirs, files in os.walk(p):
            rootp = Path(root)
            if _is_store_dir(rootp, dirs, files):
                dirs[:] = []
                continue
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not is_excluded(rootp / d))
            found.extend(rootp / name for name in files if not is_skipped_name(name))
        found.sort(key=lambda q: q.relative_to(p).parts)
        out.extend(q for q in found if not is_excluded(q))
    return out
