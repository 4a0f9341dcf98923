"""Which legacy code page a spreadsheet export that is not UTF-8 was written in.

Excel writes "CSV" in the computer's own code page: cp1252 on Western Windows, Mac Roman
from Mac Excel, cp1250/1251/1253... in Central/Eastern Europe and Greece, cp437/cp850
for "MS-DOS CSV", Shift-JIS, GB18030 or Big5 in East Asia.  Every single-byte code page
decodes any bytes, so "does it decode" proves nothing: a Mac Roman ``doesn’t`` read as
cp1252 is ``doesnÕt``.  Each candidate decoding is therefore scored on characters that
are implausible in real text (a capital letter inside a lower-case word, a symbol or a
box-drawing character glued to letters, a control character, a run of three accented
letters, a word mixing Latin and Cyrillic or Greek); the decoding with the fewest wins.
Decodings that tie are told apart by charset-normalizer's language model, and then by how
common the code page is among Excel exports (cp1252 first).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# (codec, what a person calls it), most common Excel export first: the order breaks ties.
CHOICES: tuple[tuple[str, str], ...] = (
    ("utf-8", "UTF-8 (Unicode)"),
    ("cp1252", "Western European (Windows-1252)"),
    ("mac_roman", "Western European (Mac Roman, Mac Excel)"),
    ("cp1250", "Central European (Windows-1250)"),
    ("cp1251", "Cyrillic (Windows-1251)"),
    ("cp1253", "Greek (Windows-1253)"),
    ("cp1254", "Turkish (Windows-1254)"),
    ("cp1257", "Baltic (Windows-1257)"),
    ("cp1255", "Hebrew (Windows-1255)"),
    ("cp1256", "Arabic (Windows-1256)"),
    ("cp1258", "Vietnamese (Windows-1258)"),
    ("cp874", "Thai (Windows-874)"),
    ("cp850", "Western European (DOS, cp850)"),
    ("cp437", "US (DOS, cp437)"),
    ("cp852", "Central European (DOS, cp852)"),
    ("cp866", "Cyrillic (DOS, cp866)"),
    ("mac_cyrillic", "Cyrillic (Mac)"),
    ("mac_latin2", "Central European (Mac)"),
    ("mac_greek", "Greek (Mac)"),
    ("cp932", "Japanese (Shift-JIS)"),
    ("gb18030", "Chinese Simplified (GB18030)"),
    ("big5", "Chinese Traditional (Big5)"),
    ("cp949", "Korean (cp949)"),
    ("utf-16", "UTF-16 (Excel 'Unicode text')"),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
)
LEGACY = tuple(c for c, _ in CHOICES if c not in ("utf-8", "utf-16", "latin-1"))
SAMPLE_BYTES = 64 * 1024

_WORDISH_OK = frozenset("’ʼ'·-")  # may sit inside a word: doesn’t, l·l, well-known
_SYMBOL_OK = frozenset("°™®©")  # glued to letters in real text: 25°C, Apple™
_ALPHABETS = frozenset({"LATIN", "CYRILLIC", "GREEK"})
_IDEOGRAPHIC = frozenset({"CJK", "HANGUL", "KATAKANA", "HIRAGANA"})
_HIGH_LINE = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")
_COMBINING = re.compile(r"[\u0300-\u0323]")  # Vietnamese in cp1258 writes its tones as combining marks
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_KANA = re.compile(r"[\u3040-\u30ff]")


def label(codec: str) -> str:
    """What a person calls the codec (``mac_roman`` → ``Western European (Mac Roman, Mac Excel)``)."""
    norm = _norm(codec)
    return next((text for c, text in CHOICES if _norm(c) == norm), codec)


def _norm(codec: str) -> str:
    return codec.lower().replace("-", "_")


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    """LATIN, CYRILLIC, GREEK, CJK, ... from the character's Unicode name."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def _in_word(ch: str) -> bool:
    """A letter of an alphabet with words (not an ideograph: 。 between kanji is normal)."""
    return ch.isalpha() and (ch.isascii() or _script(ch) in _ALPHABETS)


def penalty(text: str) -> int:
    """How many characters of ``text`` are implausible in real text (see the module doc)."""
    score = 0
    run, last = 0, -2
    n = len(text)
    for m in _NON_ASCII.finditer(text):  # ASCII is never implausible: only look at the rest
        i, ch = m.start(), m.group()
        prev = text[i - 1] if i else " "
        nxt = text[i + 1] if i + 1 < n else " "
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cn", "Cs"):
            score += 3
        elif cat[0] == "L":
            score += _letter_penalty(ch, prev, nxt)
        elif ch not in _WORDISH_OK and ch not in _SYMBOL_OK and (_in_word(prev) or _in_word(nxt)):
            # punctuation, symbols, box drawing, superscripts glued to an alphabetic word
            score += 2 if _in_word(prev) and _in_word(nxt) else 1 if cat[0] == "S" or cat == "No" else 0
        latin = cat[0] == "L" and _script(ch) == "LATIN"
        run = (run + 1 if last == i - 1 else 1) if latin else 0
        last = i if latin else last
        if run >= 3:
            score += 1  # three accented letters in a row: Greek or Cyrillic read as a Latin code page
    return score


def _letter_penalty(ch: str, prev: str, nxt: str) -> int:
    if ch.isupper() and prev.islower() and prev.isalpha():
        return 2  # doesnÕt, cafŽ: a capital inside a lower-case word
    script = _script(ch)
    for other in (prev, nxt):
        if other.isalpha() and {script, _script(other)} <= _ALPHABETS and _script(other) != script:
            return 2  # a word mixing alphabets
    if script in _IDEOGRAPHIC and prev.isascii() and prev.isalpha() and nxt.isascii() and nxt.isalpha():
        return 2  # an ideograph inside a Latin word: Western bytes read as a double-byte code page
    if "HALFWIDTH" in unicodedata.name(ch, ""):
        return 1  # half-width katakana: almost never typed, common when Western bytes are read as Shift-JIS
    return 0


def rank(data: bytes) -> list[str]:
    """Candidate encodings of ``data`` (which is not UTF-8), most plausible first."""
    sample = _sample(data)
    chaos = _model_chaos(sample)
    japanese = _japanese(sample)
    candidates = list(dict.fromkeys([*japanese, *LEGACY, *sorted(chaos, key=chaos.__getitem__)]))
    decoded: dict[str, str] = {}
    for enc in candidates:
        try:
            decoded[enc] = sample.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    if not decoded:
        return []
    scores = {enc: penalty(text) for enc, text in decoded.items()}

    def pref(enc: str) -> int:
        return -1 if enc in japanese else LEGACY.index(enc) if enc in LEGACY else len(LEGACY)

    # Decodings that give the same text are one answer (named by the commonest code page);
    # answers rank by implausible characters, then kana (Japanese), then the code pages
    # Excel writes before other ones, then the language model's chaos, then commonness.
    # cp1258 without a combining tone mark is not Vietnamese: it counts one more implausible character.
    groups: dict[str, list[str]] = {}
    for enc, text in decoded.items():
        groups.setdefault(text, []).append(enc)
    groups_text = decoded
    keyed = []
    for members in groups.values():
        best = min(members, key=pref)
        score = scores[best] + (0 if best != "cp1258" or _COMBINING.search(groups_text[best]) else 1)
        keyed.append(((score, best not in japanese, best not in LEGACY, min(chaos.get(e, 100.0) for e in members), pref(best)), best, members))
    keyed.sort(key=lambda k: k[0])
    ordered = [best for _, best, _ in keyed]
    return ordered + [e for _, _, members in keyed for e in members if e not in ordered]


def _sample(data: bytes) -> bytes:
    """The lines that hold non-ASCII bytes (only they tell code pages apart), up to
    :data:`SAMPLE_BYTES`, whole lines only so a double-byte character is never split."""
    out: list[bytes] = []
    size = 0
    for line in _HIGH_LINE.finditer(data):
        out.append(line.group())
        size += len(out[-1])
        if size >= SAMPLE_BYTES:
            break
    return b"\n".join(out) if out else data[:SAMPLE_BYTES]


def _model_chaos(sample: bytes) -> dict[str, float]:
    """charset-normalizer's "chaos" (how much of the text looks like noise) per code page,
    including the code pages it found to decode the same."""
    out: dict[str, float] = {}
    import charset_normalizer  # imported here: most files are UTF-8 and never need it

    matches = [*charset_normalizer.from_bytes(sample, cp_isolation=list(LEGACY)), *charset_normalizer.from_bytes(sample)]
    for m in matches:
        for enc in [m.encoding, *m.could_be_from_charset]:
            out[enc] = min(out.get(enc, 100.0), round(m.percent_chaos, 1))
    return out


def _japanese(data: bytes) -> list[str]:
    """Shift-JIS (cp932) text that charset detection misreads as GB18030 on small files:
    Japanese always has kana, which GB18030 decodings of the same bytes almost never do."""
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        return []
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return ["cp932"] if non_ascii > 0 and len(_KANA.findall(text)) >= 0.2 * non_ascii else []
