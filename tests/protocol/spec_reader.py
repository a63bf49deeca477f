#!/usr/bin/env python3
"""A fieldsync object reader written from docs/protocol.md alone ("Signed objects", "Object
rules"), as a third party would write it: no Cap'n Proto library, no fieldsync code.

    spec_reader.py HEX...                 judge objects (SignedObject bytes in hex)
    spec_reader.py --check PROTOCOL_TESTS  run the spec probes of tests/protocol/
                                          spec_vectors_test.cpp and compare every verdict

If it and verify() ever judge an object differently, docs/protocol.md is short of what the code
enforces (or the code of what the page says). Needs the cryptography package for Ed25519;
--check exits 77 (skipped) without it.
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover
    Ed25519PublicKey = None


class Refuse(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(reason + ": " + detail)
        self.reason = reason


MAX_OBJECT = 2 * 1024 * 1024


def word(b, i):
    return struct.unpack_from("<Q", b, 8 * i)[0]


def signed30(v):
    v &= 0x3FFFFFFF
    return v - (1 << 30) if v & (1 << 29) else v


# --- Cap'n Proto's schema-less canonical check (doc: Canonical form) -----------------------------

def canonical(b):
    """Cap'n Proto's check, in its order: each pointer is first read (a target outside the
    message, a far or capability pointer: malformed), then its position judged (pre-order, no
    gaps), its children in turn, and the struct's truncation last."""
    n = len(b) // 8
    head = [1]

    def walk(pidx, depth):
        if depth > 16:
            raise Refuse("malformed", "nesting")
        p = word(b, pidx)
        if p == 0:
            return True
        kind = p & 3
        if kind >= 2:
            raise Refuse("malformed", "far or capability pointer")
        off = signed30(p >> 2)
        target = pidx + 1 + off
        if kind == 0:
            dw = (p >> 32) & 0xFFFF
            pc = (p >> 48) & 0xFFFF
            if target < 0 or target + dw + pc > n:
                raise Refuse("malformed", "struct out of bounds")
            if dw == 0 and pc == 0:
                return off == -1  # an empty struct points at itself; none in a valid object
            if target != head[0]:
                return False
            head[0] += dw + pc
            for i in range(pc):
                if not walk(target + dw + i, depth + 1):
                    return False
            if dw and word(b, target + dw - 1) == 0:
                return False
            if pc and word(b, target + dw + pc - 1) == 0:
                return False
            return True
        es = (p >> 32) & 7
        cnt = p >> 35
        if es == 7:
            raise Refuse("malformed", "composite list")  # not in the schema; not probed
        bits = [0, 1, 8, 16, 32, 64, 64, 0][es]
        words = (cnt * bits + 63) // 64
        if target < 0 or target + words > n:
            raise Refuse("malformed", "list out of bounds")
        if target != head[0]:
            return False
        head[0] += words
        if es == 6:
            for i in range(cnt):
                if not walk(target + i, depth + 1):
                    return False
            return True
        used = cnt * bits
        if used % 64:
            last = word(b, target + words - 1)
            if last >> (used % 64):
                return False
        return True

    if n == 0:
        return False
    ok = walk(0, 0)
    return ok and head[0] == n


# --- Reading by the layout table ----------------------------------------------------------------

class Struct:
    def __init__(self, b, pidx):
        p = word(b, pidx)
        self.b = b
        if p == 0:
            self.start, self.dw, self.pc = 0, 0, 0
            return
        if p & 3 != 0:
            raise Refuse("malformed", "not a struct pointer")
        self.start = pidx + 1 + signed30(p >> 2)
        self.dw = (p >> 32) & 0xFFFF
        self.pc = (p >> 48) & 0xFFFF

    def data(self, bit_off, size_bits, signed=False):
        byte = bit_off // 8
        nbytes = size_bits // 8
        if byte + nbytes > self.dw * 8:
            return 0
        raw = self.b[8 * self.start + byte: 8 * self.start + byte + nbytes]
        return int.from_bytes(raw, "little", signed=signed)

    def ptr(self, i):
        if i >= self.pc:
            return None
        return self.start + self.dw + i

    def has(self, i):
        q = self.ptr(i)
        return q is not None and word(self.b, q) != 0


def read_bytes(b, pidx):
    p = word(b, pidx)
    if p & 3 != 1 or (p >> 32) & 7 != 2:
        raise Refuse("malformed", "not a byte list")
    t = pidx + 1 + signed30(p >> 2)
    cnt = p >> 35
    return bytes(b[8 * t: 8 * t + cnt])


def get_data(s, i):
    return read_bytes(s.b, s.ptr(i)) if s.has(i) else None


def get_text(s, i, name):
    if not s.has(i):
        return None
    raw = read_bytes(s.b, s.ptr(i))
    if len(raw) == 0 or raw[-1] != 0:
        raise Refuse("malformed", name + ": text without NUL")
    if len(raw) == 1:
        raise Refuse("non-canonical", name + " set but empty")
    return raw[:-1]


def get_list(s, i, name):
    if not s.has(i):
        return None
    q = s.ptr(i)
    p = word(s.b, q)
    if p & 3 != 1 or (p >> 32) & 7 != 6:
        raise Refuse("malformed", name + ": not a pointer list")
    t = q + 1 + signed30(p >> 2)
    cnt = p >> 35
    if cnt == 0:
        raise Refuse("non-canonical", name + " set but empty")
    return [t + k for k in range(cnt)]


def get_text_list(s, i, name):
    slots = get_list(s, i, name)
    if slots is None:
        return None
    out = []
    for q in slots:
        if word(s.b, q) == 0:
            raise Refuse("non-canonical", name + ": null element")
        raw = read_bytes(s.b, q)
        if len(raw) == 0 or raw[-1] != 0:
            raise Refuse("malformed", name + ": text without NUL")
        if len(raw) == 1:
            raise Refuse("non-canonical", name + ": empty element")
        out.append(raw[:-1])
    return out


def get_ids(s, i, name):
    slots = get_list(s, i, name)
    if slots is None:
        return None
    if len(slots) > 32768:
        raise Refuse("invalid field", name + ": more than 32768")
    out = []
    for q in slots:
        d = read_bytes(s.b, q) if word(s.b, q) != 0 else b""
        if len(d) != 32:
            raise Refuse("invalid field", name + ": id not 32 bytes")
        out.append(d)
    return out


def fixed(d, n, name):
    if d is None or len(d) != n:
        raise Refuse("invalid field", name + " not %d bytes" % n)
    return d


# --- Writing canonical messages (doc: Canonical form) ------------------------------------------

def encode(root):
    """The canonical message of root: ("struct", data bytes, [children]), ("bytes", b),
    ("ptrs", [children]) or None (a null pointer)."""
    out = []

    def alloc(n):
        at = len(out)
        out.extend([0] * n)
        return at

    def put(pidx, v):
        if v is None:
            out[pidx] = 0
            return
        kind = v[0]
        if kind == "struct":
            data, ptrs = v[1], list(v[2])
            while data and not any(data[-8:]):
                data = data[:-8]
            while ptrs and ptrs[-1] is None:
                ptrs.pop()
            dw, pc = len(data) // 8, len(ptrs)
            at = alloc(dw + pc)
            for k in range(dw):
                out[at + k] = struct.unpack_from("<Q", data, 8 * k)[0]
            off = at - pidx - 1
            out[pidx] = ((off & 0x3FFFFFFF) << 2) | (dw << 32) | (pc << 48)
            for k, c in enumerate(ptrs):
                put(at + dw + k, c)
        elif kind == "bytes":
            bb = v[1]
            words = (len(bb) + 7) // 8
            at = alloc(words)
            padded = bb + b"\0" * (8 * words - len(bb))
            for k in range(words):
                out[at + k] = struct.unpack_from("<Q", padded, 8 * k)[0]
            off = at - pidx - 1
            out[pidx] = ((off & 0x3FFFFFFF) << 2) | 1 | (2 << 32) | (len(bb) << 35)
        elif kind == "ptrs":
            items = v[1]
            at = alloc(len(items))
            off = at - pidx - 1
            out[pidx] = ((off & 0x3FFFFFFF) << 2) | 1 | (6 << 32) | (len(items) << 35)
            for k, c in enumerate(items):
                put(at + k, c)

    alloc(1)
    put(0, root)
    return b"".join(struct.pack("<Q", w) for w in out)


def T(x):
    return None if not x else ("bytes", x + b"\0")


def D(x):
    return None if x is None else ("bytes", x)


def TL(xs):
    return None if not xs else ("ptrs", [("bytes", x + b"\0") for x in xs])


def DL(xs):
    return None if not xs else ("ptrs", [("bytes", x) for x in xs])


# --- Text rules (doc: Object rules, Text) --------------------------------------------------------

WS_ASCII = b" \t\n\x0b\x0c\r"


def utf8_ok(t):
    if b"\0" in t:
        return False
    try:
        t.decode("utf-8", errors="strict")  # Python refuses overlongs, surrogates, > U+10FFFF
        return True
    except UnicodeDecodeError:
        return False


def chars(t):
    return t.decode("utf-8")


def is_ws(ch):
    return ch in " \t\n\x0b\x0c\r\u00a0"


def trimmed(t):
    s = chars(t)
    return not s or (not is_ws(s[0]) and not is_ws(s[-1]))


def collapsed(t):
    s = chars(t)
    if not trimmed(t):
        return False
    for k, ch in enumerate(s):
        if is_ws(ch):
            if ch != " " or is_ws(s[k + 1]):
                return False
    return True


def leap(y):
    return (y % 4 == 0 and y % 100 != 0) or y % 400 == 0


def iso_date(t):
    s = t.decode("ascii", errors="replace")
    digits = lambda x: len(x) > 0 and all("0" <= c <= "9" for c in x)
    if len(s) not in (4, 7, 10) or not digits(s[:4]):
        return False
    if len(s) == 4:
        return True
    if s[4] != "-" or not digits(s[5:7]):
        return False
    m = int(s[5:7])
    if not 1 <= m <= 12:
        return False
    if len(s) == 7:
        return True
    if s[7] != "-" or not digits(s[8:10]):
        return False
    d = int(s[8:10])
    days = [31, 29 if leap(int(s[:4])) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return 1 <= d <= days


def body_ok(t):
    s = chars(t)
    if "\r" in s:
        return False
    if s and is_ws(s[-1]):
        return False
    if "\n" in s:
        first = s[: s.index("\n")]
        if all(is_ws(c) for c in first):
            return False
    return True


def bad(detail):
    raise Refuse("invalid field", detail)


def check_clipping(c):
    # UTF-8 first would change only the detail; the doc says normal form, then bounds and UTF-8.
    texts = [c[k] for k in ("title", "source", "published", "url", "language", "body", "collection")]
    texts += c["authors"] + c["tags"]
    for t in texts:
        if t and not utf8_ok(t):
            bad("utf-8")
    if not c["title"]:
        bad("title missing")
    for k in ("title", "source", "collection"):
        if c[k] and not collapsed(c[k]):
            bad(k + " not collapsed")
    for k in ("published", "url", "language"):
        if c[k] and not trimmed(c[k]):
            bad(k + " not trimmed")
    if c["body"] and not body_ok(c["body"]):
        bad("body")
    for a in c["authors"]:
        if not collapsed(a):
            bad("author")
    for i, t in enumerate(c["tags"]):
        if not collapsed(t) or any(0x41 <= x <= 0x5A for x in t):
            bad("tag form")
        if i and not c["tags"][i - 1] < t:
            bad("tags order")
    bounds = {"title": 1024, "source": 4096, "published": 4096, "url": 4096, "language": 4096,
              "body": 1 << 20, "collection": 4096}
    for k, lim in bounds.items():
        if c[k] and len(c[k]) > lim:
            bad(k + " bound")
    if len(c["authors"]) > 64 or any(len(a) > 4096 for a in c["authors"]):
        bad("authors bound")
    if len(c["tags"]) > 64 or any(len(t) > 128 for t in c["tags"]):
        bad("tags bound")
    if c["published"] and not iso_date(c["published"]):
        bad("date")


def release_name_ok(n):
    if not n or len(n) > 128 or not utf8_ok(n):
        return False
    if any(x < 0x20 or x == 0x7F for x in n):
        return False
    return trimmed(n)


def increasing(ids):
    return all(ids[k - 1] < ids[k] for k in range(1, len(ids)))


# --- The object ---------------------------------------------------------------------------------

def read_message(b, what):
    if len(b) == 0 or len(b) % 8:
        raise Refuse("malformed", what + " not whole words")
    if not canonical(b):
        raise Refuse("non-canonical", what)
    if word(b, 0) & 3 != 0:
        raise Refuse("malformed", what + " root not a struct")
    return Struct(b, 0)


def judge(obj):
    if len(obj) > MAX_OBJECT:
        raise Refuse("oversized")
    so = read_message(obj, "signed object")
    if not so.has(0):
        raise Refuse("malformed", "no payload")
    payload = get_data(so, 0)
    ps = read_message(payload, "payload")
    sig = fixed(get_data(so, 1), 64, "signature")
    signer = fixed(get_data(ps, 0), 32, "signer")
    signed_at = ps.data(0, 64, signed=True)
    tag = ps.data(64, 16)
    if tag > 6:
        raise Refuse("unknown kind")
    # An unset body reads as the kind's struct with every field unset.
    bs = Struct(ps.b, ps.ptr(1)) if ps.has(1) else Struct(b"\0" * 8, 0)
    if tag == 0:
        names = ["title", "source", "authors", "published", "url", "tags", "language", "body",
                 "collection"]
        c = {}
        for i, nm in enumerate(names):
            if nm in ("authors", "tags"):
                c[nm] = get_text_list(bs, i, nm) or []
            else:
                c[nm] = get_text(bs, i, nm) or b""
        check_clipping(c)
        body = ("struct", b"", [T(c[nm]) if nm not in ("authors", "tags") else TL(c[nm])
                                for nm in names])
    elif tag == 1:
        name = get_text(bs, 0, "name") or b""
        seq = bs.data(0, 64)
        prev = get_data(bs, 1)
        if prev is not None:
            fixed(prev, 32, "previous")
        clips = get_ids(bs, 2, "clippings") or []
        notes = get_text(bs, 3, "notes") or b""
        parts = get_ids(bs, 4, "parts") or []
        if not release_name_ok(name):
            bad("name")
        if seq == 0:
            bad("sequence")
        if (seq == 1) != (prev is None):
            bad("previous")
        if not increasing(clips) or len(clips) > 32768:
            bad("clippings")
        if parts and clips:
            bad("parts and clippings")
        if len(parts) > 1024 or len(set(parts)) != len(parts):
            bad("parts")
        if len(notes) > 65536 or (notes and not utf8_ok(notes)):
            bad("notes")
        body = ("struct", struct.pack("<Q", seq), [T(name), D(prev), DL(clips), T(notes), DL(parts)])
    elif tag == 2:
        subject = fixed(get_data(bs, 0), 32, "subject")
        role = bs.data(0, 16)
        if role > 1:
            bad("role")
        name = get_text(bs, 1, "name") or b""
        valid = bs.data(64, 64, signed=True)
        if len(name) > 4096 or (name and not utf8_ok(name)):
            bad("name")
        if valid < 0:
            bad("validUntil")
        body = ("struct", struct.pack("<H6xq", role, valid), [D(subject), T(name)])
    elif tag == 3:
        subject = fixed(get_data(bs, 0), 32, "subject")
        since = bs.data(0, 64, signed=True)
        reason = get_text(bs, 1, "reason") or b""
        if len(reason) > 4096 or (reason and not utf8_ok(reason)):
            bad("reason")
        if since < 0:
            bad("since")
        body = ("struct", struct.pack("<q", since), [D(subject), T(reason)])
    elif tag == 4:
        clips = get_ids(bs, 0, "clippings") or []
        subject = get_data(bs, 1)
        if subject is not None:
            fixed(subject, 32, "subject")
        since = bs.data(0, 64, signed=True)
        reason = get_text(bs, 2, "reason") or b""
        if not clips and subject is None:
            bad("nothing retracted")
        if not increasing(clips):
            bad("clippings")
        if since < 0 or (subject is None and since != 0):
            bad("since")
        if not reason or len(reason) > 4096 or not utf8_ok(reason):
            bad("reason")
        body = ("struct", struct.pack("<q", since), [DL(clips), D(subject), T(reason)])
    elif tag == 6:
        clip = fixed(get_data(bs, 0), 32, "clipping")
        title = get_text(bs, 1, "title") or b""
        adds = get_text_list(bs, 2, "addTags") or []
        removes = get_text_list(bs, 3, "removeTags") or []
        dup = get_data(bs, 4)
        if dup is not None:
            fixed(dup, 32, "duplicateOf")
        reason = get_text(bs, 5, "reason") or b""
        if not title and not adds and not removes and dup is None:
            bad("changes nothing")
        for tags in (adds, removes):
            c = {k: b"" for k in ("source", "published", "url", "language", "body", "collection")}
            c.update(title=title or b"-", authors=[], tags=tags)
            check_clipping(c)
        if set(adds) & set(removes):
            bad("a tag added and removed")
        if dup == clip:
            bad("duplicate of itself")
        if len(reason) > 4096 or (reason and not utf8_ok(reason)):
            bad("reason")
        body = ("struct", b"", [D(clip), T(title), TL(adds), TL(removes), D(dup), T(reason)])
    else:
        name = get_text(bs, 0, "name") or b""
        seq = bs.data(0, 64)
        index = bs.data(64, 32)
        clips = get_ids(bs, 1, "clippings") or []
        if not release_name_ok(name):
            bad("name")
        if seq == 0:
            bad("sequence")
        if not 1 <= index <= 1024:
            bad("index")
        if not clips or not increasing(clips):
            bad("clippings")
        body = ("struct", struct.pack("<QI4x", seq, index), [T(name), DL(clips)])
    again = encode(("struct", struct.pack("<qH6x", signed_at, tag), [D(signer), body]))
    if again != payload:
        raise Refuse("non-canonical", "payload re-encoded differs")
    if encode(("struct", b"", [D(payload), D(sig)])) != obj:
        raise Refuse("non-canonical", "object re-encoded differs")
    oid = hashlib.blake2b(b"fieldsync/object-id/v1" + payload, digest_size=32).digest()
    try:
        Ed25519PublicKey.from_public_bytes(signer).verify(sig, b"fieldsync/signature/v1" + oid)
    except (InvalidSignature, ValueError):
        raise Refuse("bad signature")
    return oid


def verdict(obj):
    try:
        judge(obj)
        return "accepted"
    except Refuse as r:
        return r.reason
    except (IndexError, struct.error):
        return "malformed"


def check(protocol_tests):
    if Ed25519PublicKey is None:
        print("skipped: python3 has no cryptography package (Ed25519)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        probes = os.path.join(tmp, "probes.tsv")
        env = dict(os.environ, FIELDSYNC_SPEC_PROBES_OUT=probes)
        subprocess.run([protocol_tests, "--gtest_filter=SpecProbes.*"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        agree = differ = 0
        with open(probes, "rb") as lines:
            for line in lines:
                expected, name, hx = line.decode("utf-8", "replace").rstrip("\n").split("\t")
                got = verdict(bytes.fromhex(hx))
                if got == expected:
                    agree += 1
                elif {got, expected} == {"malformed", "non-canonical"}:
                    # Bytes Cap'n Proto cannot read: the page leaves which of the two to its
                    # checks' order ("Reading untrusted bytes"); refused either way.
                    agree += 1
                else:
                    differ += 1
                    print("DIFFER %s: verify() says %s, the page says %s" % (name, expected, got))
    print("%d probes judged alike, %d differently" % (agree, differ))
    return 0 if differ == 0 and agree > 0 else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    for hx in sys.argv[1:]:
        print(verdict(bytes.fromhex(hx)))
