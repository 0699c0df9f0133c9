"""What search reads and matches, the same on every database: text in, tokens out.

Korean attaches particles to words (음악을, 음악이) and joins nouns into compounds (인디음악),
so a Korean run of text is indexed as its overlapping pairs of syllables (bigrams: 인디음악을 →
인디, 디음, 음악, 악을) and a Korean query word as the pairs of its syllables, which must stand
one after the other: 음악 is then found inside 인디음악을, and 저작권 (저작, 작권) wherever the
three syllables stand together. Other letters and digits (English, numbers) are whole words:
``id`` finds the word id, and a word of three letters or more also finds the words it begins
(``roy`` → royalty).

Both engines (Mroonga on MariaDB, FTS5 on SQLite) are handed these tokens already made, separated
by spaces, and only look them up, so both give the same answers by construction. Titles also get
the initial consonants of their syllables (음악 → ㅇㅇ), for initial-consonant search.

Nothing here imports Django.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

# Scripts written without spaces between words, indexed as pairs of characters: Hangul (syllables
# and jamo), CJK ideographs, kana.
_CJK = (
    "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff"  # Hangul
    "\u3040-\u30ff\u31f0-\u31ff"  # kana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
)
_RUN = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")
_CHOSEONG = re.compile("[\u1100-\u1112]+")
# A token longer than this is cut to it (Groonga's keys are at most 4 KB).
MAX_TOKEN = 64
# A query word of three letters or more also finds the words it begins.
PREFIX_FROM = 3
_SYLLABLE_FIRST, _SYLLABLE_LAST = 0xAC00, 0xD7A3


def normalize(text: str) -> str:
    """NFKC and case folding: full-width letters, compatibility jamo (ㅇ), ligatures and case all
    come to one form, in what is indexed and in what is searched for."""
    return unicodedata.normalize("NFKC", text).casefold()


def _run_tokens(run: str, cjk: bool) -> list[str]:
    if not cjk:
        return [run[:MAX_TOKEN]]
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokens(text: str) -> list[str]:
    """The tokens of ``text``, in order: each word of letters and digits, and the syllable pairs
    of each Korean (CJK) run; a run of one syllable is a token of its own."""
    out: list[str] = []
    for cjk, word in _RUN.findall(normalize(text)):
        out += _run_tokens(cjk or word, bool(cjk))
    return out


def _initials(text: str) -> str:
    """The initial consonant of every Hangul syllable of ``text``, in order, spaces ignored:
    음악 저작권 → ᄋᄋᄌᄌᄀ (conjoining jamo: what NFKC makes of a typed ㅇ)."""
    return "".join(
        chr(0x1100 + (ord(c) - _SYLLABLE_FIRST) // 588)
        for c in normalize(text)
        if _SYLLABLE_FIRST <= ord(c) <= _SYLLABLE_LAST
    )


def initial_tokens(title: str) -> list[str]:
    """The pairs of initial consonants of a title, for initial-consonant search (ㅇㅇ → 음악)."""
    found = _initials(title)
    return _run_tokens(found, True) if found else []


def joined(parts: list[str]) -> str:
    return " ".join(parts)


# --- Queries -------------------------------------------------------------------------------------

_QUOTES = re.compile(r'["“”„«»「」『』]')


@dataclass(frozen=True)
class Term:
    """One thing every hit must hold: a word or a quoted phrase, as the tokens that must stand one
    after the other; ``prefix`` lets the one token also be the start of a longer word."""

    text: str  # as the person typed it (for messages)
    tokens: tuple[str, ...]
    prefix: bool = False
    initials: bool = False  # only initial consonants: also looked for among titles' initials


@dataclass
class Query:
    terms: list[Term] = field(default_factory=list)
    too_short: list[str] = field(default_factory=list)  # one-syllable words left out

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def key(self) -> str:
        """The same for every spelling of the same search (a cache key's part)."""
        parts = []
        for term in self.terms:
            flags = ("*" if term.prefix else "") + ("^" if term.initials else "")
            parts.append(flags + " ".join(term.tokens))
        return "|".join(parts)


_WORD = re.compile(r"[^\W_]+")


def _word_term(word: str) -> Term | None:
    """A query word as a term, or None when it is one Korean syllable (too short to look for)."""
    runs = _RUN.findall(normalize(word))
    found = [t for cjk, other in runs for t in _run_tokens(cjk or other, bool(cjk))]
    if not found:
        return None
    if len(runs) == 1 and runs[0][0] and len(runs[0][0]) == 1:
        return None
    only = runs[0][1] if len(runs) == 1 else ""
    is_initials = len(runs) == 1 and bool(_CHOSEONG.fullmatch(runs[0][0] or "-"))
    prefix = len(only) >= PREFIX_FROM and len(only) <= MAX_TOKEN
    return Term(text=word, tokens=tuple(found), prefix=prefix, initials=is_initials)


def parse(q: str, *, max_terms: int) -> Query:
    """The terms of a search: quoted phrases, then words (letters and digits of any script;
    everything else only separates them). A word of one Korean syllable is left out and reported
    as too short; it still counts inside a quoted phrase. At most ``max_terms`` terms."""
    query = Query()
    seen: set[tuple] = set()

    def add(term: Term | None) -> None:
        key = (term.tokens, term.prefix) if term else None
        if term and key not in seen and len(query.terms) < max_terms:
            seen.add(key)
            query.terms.append(term)

    pieces = _QUOTES.split(q)
    for i, piece in enumerate(pieces):
        if i % 2:  # inside quotes (an unclosed quote runs to the end): the exact words
            phrase, words = tokens(piece), " ".join(_WORD.findall(piece))
            if len(phrase) == 1 and _word_term(words) is None:
                query.too_short.append(words)
            elif phrase:
                add(Term(text=words, tokens=tuple(phrase)))
            continue
        for word in _WORD.findall(piece):
            term = _word_term(word)
            if term is None:
                if tokens(word):
                    query.too_short.append(word)
                continue
            add(term)
    return query


# --- Highlights ----------------------------------------------------------------------------------


def _spans(text: str) -> tuple[list[tuple[str, int, int]], list[tuple[str, int]]]:
    """``text``'s tokens with the span of ``text`` each covers, and its syllables' initial
    consonants with each syllable's place (for highlighting what matched)."""
    normal = normalize(text)
    if len(normal) == len(text):
        where = list(range(len(text)))
    else:  # some character changed length: map each normalised character to its source
        normal, where = "", []
        for i, c in enumerate(text):
            n = normalize(c)
            normal += n
            where += [i] * len(n)
    where.append(len(text))
    found = []
    for match in _RUN.finditer(normal):
        start, cjk = match.start(), match.group(1) is not None
        for k, token in enumerate(_run_tokens(match.group(), cjk)):
            first = start + (k if cjk else 0)
            last = first + (len(token) if cjk else len(match.group()))
            found.append((token, where[first], where[last - 1] + 1))
    initials = [
        (chr(0x1100 + (ord(c) - _SYLLABLE_FIRST) // 588), where[i])
        for i, c in enumerate(normal)
        if _SYLLABLE_FIRST <= ord(c) <= _SYLLABLE_LAST
    ]
    return found, initials


def _matches(seq: list[str], term: Term) -> list[tuple[int, int]]:
    """Where ``term``'s tokens stand one after the other in ``seq``: (first, last) indexes."""
    n, first = len(term.tokens), term.tokens[0]
    out = []
    for i in range(len(seq) - n + 1):
        head = seq[i] == first or (term.prefix and n == 1 and seq[i].startswith(first))
        if head and tuple(seq[i + 1 : i + n]) == term.tokens[1:]:
            out.append((i, i + n - 1))
    return out


def match_spans(text: str, terms: list[Term], *, initials: bool = False) -> list[tuple[int, int]]:
    """The spans of ``text`` that the terms match, merged, in order."""
    found, consonants = _spans(text)
    seq = [t for t, _, _ in found]
    spans = []
    for term in terms:
        spans += [(found[a][1], found[b][2]) for a, b in _matches(seq, term)]
        if initials and term.initials:
            chosung = [c for c, _ in consonants]
            pairs = _run_tokens("".join(chosung), True) if chosung else []
            for a, b in _matches(pairs, term):
                last = b + (1 if len(pairs[b]) == 2 else 0)
                spans += [(consonants[k][1], consonants[k][1] + 1) for k in range(a, last + 1)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` as HTML, escaped, with each span in ``<mark>``."""
    out, at = [], 0
    for start, end in spans:
        out.append(html.escape(text[at:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


_MARKUP = re.compile(r"```.*?```|[*_`#>|~]+|!?\[|\]\([^)]*\)|^\s*[-+] ", re.S | re.M)


def plain(markdown_text: str) -> str:
    """Markdown as plain text, roughly, on one line (for an excerpt)."""
    return " ".join(_MARKUP.sub(" ", markdown_text).split())


def _first_match(text: str, terms: list[Term]) -> tuple[int, int] | None:
    """The span of the first match in ``text``, looking only near where a term's first token
    occurs (``str.find``), not tokenising the whole text (a post is up to 5,000 characters)."""
    if len(normalize(text)) != len(text):  # characters change length: the slow, exact way
        spans = match_spans(text, terms)
        return spans[0] if spans else None
    normal = normalize(text)
    places: list[int] = []
    for term in terms:
        at = normal.find(term.tokens[0])
        while at >= 0 and len(places) < 50:
            places.append(at)
            at = normal.find(term.tokens[0], at + 1)
    for at in sorted(places):
        first = max(0, at - 4)
        spans = match_spans(text[first : at + 200], terms)
        if spans:
            return spans[0][0] + first, spans[0][1] + first
    return None


def excerpt(text: str, terms: list[Term], *, width: int = 160) -> str:
    """About ``width`` characters of ``text`` around its first match, as HTML with the matches
    marked; the start of the text when nothing matches in it."""
    first = _first_match(text, terms)
    start = 0
    if first and first[1] > width:
        start = max(0, first[0] - width // 3)
        space = text.rfind(" ", 0, start + 1)
        start = space + 1 if space > start - 20 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start + width // 2, end)
        end = space if space > 0 else end
    spans = match_spans(text[start:end], terms) if first else []
    body = highlight(text[start:end], spans)
    return ("…" if start else "") + body + ("…" if end < len(text) else "")
