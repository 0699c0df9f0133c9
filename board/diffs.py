"""Inline diffs for the history pages: a version against the one before it, word by word, and
syllable by syllable inside a changed Korean word (음악을 → 음악이 marks only 을 and 이)."""

import difflib
import re
from dataclasses import dataclass
from typing import Literal

# Words (letters, digits, any script), runs of spaces, and each other character on its own, so
# "hello," → "hello!" marks only the comma. Whitespace is kept: the text reads as written.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
# Below this likeness two Korean runs are different words, not one edited: syllables in common
# (a shared particle) would only scatter marks over a rewrite.
_SYLLABLE_LIKENESS = 0.4

Op = Literal["equal", "delete", "insert", "skip"]
# Lines of kept text shown around a change; longer kept stretches are cut to a "n lines" note.
CONTEXT_LINES = 2


@dataclass(frozen=True)
class Part:
    op: Op
    text: str
    lines: int = 0  # of a "skip": how many unchanged lines are left out


def inline_diff(before: str | None, after: str) -> list[Part]:
    """``after`` as parts: kept, deleted (from ``before``) and inserted text, in reading order,
    deletions before the insertions that replace them. ``before`` None: the first version,
    which has nothing to compare with and is all kept."""
    if before is None or before == after:
        return [Part("equal", after)] if after else []
    return _merge(_diff(_TOKEN.findall(before), _TOKEN.findall(after), _by_syllable))


def changed(parts: list[Part]) -> bool:
    return any(part.op in ("delete", "insert") for part in parts)


def around_changes(parts: list[Part], context: int = CONTEXT_LINES) -> list[Part]:
    """``parts`` with each long stretch of unchanged lines cut to the ``context`` lines next to
    a change and a "skip" saying how many were left out: a one-word edit of a long post shows
    that word, not the whole post again."""
    if not changed(parts):
        return parts
    out = []
    for n, part in enumerate(parts):
        if part.op != "equal":
            out.append(part)
            continue
        lines = part.text.split("\n")
        # The first line continues the change before; the last leads into the change after.
        head = context + 1 if n > 0 else 0
        tail = context + 1 if n < len(parts) - 1 else 0
        if len(lines) <= head + tail + 1:
            out.append(part)
            continue
        if head:
            out.append(Part("equal", "\n".join(lines[:head]) + "\n"))
        out.append(Part("skip", "", lines=len(lines) - head - tail))
        if tail:
            out.append(Part("equal", "\n" + "\n".join(lines[-tail:])))
    return out


def _diff(a: list[str], b: list[str], refine) -> list[Part]:
    parts: list[Part] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            parts.append(Part("equal", old))
        elif op == "replace" and refine is not None:
            parts.extend(refine(old, new))
        else:
            parts += [Part("delete", old)] if old else []
            parts += [Part("insert", new)] if new else []
    return parts


def _by_syllable(old: str, new: str) -> list[Part]:
    """A replaced run of words: syllable by syllable when both sides are Korean and alike."""
    whole = [Part("delete", old), Part("insert", new)]
    if not (_HANGUL.search(old) and _HANGUL.search(new)):
        return whole
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < _SYLLABLE_LIKENESS:
        return whole
    parts = _diff(list(old), list(new), None)
    # One syllable kept between two changes is noise, not a landmark: fold it into them.
    return _fold(parts, lambda text: len(text) == 1)


def _fold(parts: list[Part], small) -> list[Part]:
    """Kept text between two changes that ``small`` says is too little to read as kept becomes
    part of both changes (deleted and inserted again)."""
    out = []
    for n, part in enumerate(parts):
        between = 0 < n < len(parts) - 1 and parts[n - 1].op != "equal" != parts[n + 1].op
        if part.op == "equal" and between and small(part.text):
            out += [Part("delete", part.text), Part("insert", part.text)]
        else:
            out.append(part)
    return out


def _merge(parts: list[Part]) -> list[Part]:
    """Each run of changes as one deletion then one insertion; a space between two changes on
    a line joins them (a rewritten phrase reads as one change, not word, space, word)."""
    parts = _fold(parts, lambda text: text.isspace() and "\n" not in text)
    out: list[Part] = []
    deleted, inserted = [], []

    def flush():
        if deleted:
            out.append(Part("delete", "".join(deleted)))
        if inserted:
            out.append(Part("insert", "".join(inserted)))
        deleted.clear()
        inserted.clear()

    for part in parts:
        if part.op == "equal":
            flush()
            if out and out[-1].op == "equal":
                out[-1] = Part("equal", out[-1].text + part.text)
            else:
                out.append(part)
        else:
            (deleted if part.op == "delete" else inserted).append(part.text)
    flush()
    return out
