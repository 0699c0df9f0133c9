"""A search typed with the keyboard in the wrong layout: Korean typed on the QWERTY keys of the
standard Korean layout (두벌식, 2-beolsik) while the computer was set to English (``dkssud`` is
안녕, ``dmadkr`` is 음악), and the other way round (``ㅗ디ㅣㅐ`` is hello)."""

from __future__ import annotations

CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONG = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # index 0: no final consonant

# Keys of the 2-beolsik layout; with Shift, these five consonants double and two vowels change.
KEYS = dict(
    zip(
        "qwertyuiopasdfghjklzxcvbnm",
        "ㅂㅈㄷㄱㅅㅛㅕㅑㅐㅔㅁㄴㅇㄹㅎㅗㅓㅏㅣㅋㅌㅊㅍㅠㅜㅡ",
        strict=True,
    )
)
KEYS |= dict(zip("QWERTOP", "ㅃㅉㄸㄲㅆㅒㅖ", strict=True))
KEYS |= {k.upper(): v for k, v in KEYS.items() if k.islower() and k.upper() not in KEYS}
_TO_KEY = {v: k for k, v in KEYS.items() if k.islower() or k in "QWERTOP"}

VOWELS = {
    "ㅗㅏ": "ㅘ",
    "ㅗㅐ": "ㅙ",
    "ㅗㅣ": "ㅚ",
    "ㅜㅓ": "ㅝ",
    "ㅜㅔ": "ㅞ",
    "ㅜㅣ": "ㅟ",
    "ㅡㅣ": "ㅢ",
}
FINALS = {
    "ㄱㅅ": "ㄳ",
    "ㄴㅈ": "ㄵ",
    "ㄴㅎ": "ㄶ",
    "ㄹㄱ": "ㄺ",
    "ㄹㅁ": "ㄻ",
    "ㄹㅂ": "ㄼ",
    "ㄹㅅ": "ㄽ",
    "ㄹㅌ": "ㄾ",
    "ㄹㅍ": "ㄿ",
    "ㄹㅎ": "ㅀ",
    "ㅂㅅ": "ㅄ",
}
_SPLIT = {v: k for k, v in (VOWELS | FINALS).items()}


def _syllable(cho: str, jung: str, jong: str = "") -> str:
    return chr(0xAC00 + (CHO.index(cho) * 21 + JUNG.index(jung)) * 28 + JONG.index(jong or " "))


def compose(jamo: str) -> str | None:
    """Jamo as typed, one key at a time, composed into syllables the way a Korean input method
    does (a final consonant moves on when a vowel follows it); None unless every jamo ends up in
    a syllable."""
    out: list[str] = []
    cho = jung = jong = ""

    def flush() -> None:
        nonlocal cho, jung, jong
        out.append(_syllable(cho, jung, jong))
        cho = jung = jong = ""

    for j in jamo:
        if j in JUNG:
            if not cho:
                return None  # a vowel with no consonant before it
            if not jung:
                jung = j
            elif not jong and jung + j in VOWELS:
                jung = VOWELS[jung + j]
            elif jong:
                # 닭 + ㅣ → 달기: the last consonant of the final moves on to the next syllable.
                jong, moved = _SPLIT[jong] if jong in FINALS.values() else ("", jong)
                flush()
                cho, jung = moved, j
            else:
                return None
        elif j in CHO or j in JONG:
            if not cho:
                if j not in CHO:
                    return None
                cho = j
            elif not jung:
                return None  # two consonants with no vowel between them
            elif not jong and j in JONG.strip():
                jong = j
            elif jong and jong + j in FINALS:
                jong = FINALS[jong + j]
            else:
                flush()
                if j not in CHO:
                    return None
                cho = j
        else:
            return None
    if cho and not jung:
        return None
    if cho:
        flush()
    return "".join(out)


def qwerty_to_hangul(text: str) -> str | None:
    """What ``text`` (letters typed on the English layout) would have been in the Korean one:
    ``dkssud`` → 안녕. None unless every word becomes whole syllables."""
    words = []
    for word in text.split():
        if not word.isascii() or not word.isalpha():
            return None
        hangul = compose("".join(KEYS[c] for c in word))
        if hangul is None:
            return None
        words.append(hangul)
    return " ".join(words) or None


def _decompose(syllable: str) -> str:
    code = ord(syllable) - 0xAC00
    if not 0 <= code < 11172:
        return syllable
    jamo = CHO[code // 588] + JUNG[code % 588 // 28] + JONG[code % 28].strip()
    return "".join(_SPLIT.get(j, j) for j in jamo)


def hangul_to_qwerty(text: str) -> str | None:
    """The keys that typed ``text`` on the Korean layout, read as English: ``ㅗ디ㅣㅐ`` → hello.
    None unless every character is Hangul."""
    words = []
    for word in text.split():
        keys = "".join(_TO_KEY.get(j, "") for c in word for j in _decompose(c))
        if not keys or len(keys) != sum(len(_decompose(c)) for c in word):
            return None
        words.append(keys)
    return " ".join(words) or None
