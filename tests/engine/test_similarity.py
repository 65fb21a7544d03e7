from __future__ import annotations

import random
import re
import unicodedata
from hashlib import blake2b

from sentinel.engine.similarity import normalise, signature, text_key, unhide


def test_near_duplicates_are_similar() -> None:
    a = signature("We are giving back to our community. All Bitcoin sent will be doubled! Only 30 minutes.")
    b = signature("We are giving back to our community!! All Bitcoin sent will be doubled! Only 60 minutes")
    c = signature("Our autumn collection is here, come and see it in the shop today")
    assert a.similarity(b) >= 0.5 and a.similarity(c) < 0.3
    assert set(a.band_keys()) & set(b.band_keys())


def test_signatures_are_stable_and_ignore_mentions() -> None:
    assert signature("@alice Thanks for writing in!").exact == signature("@bob thanks for writing in").exact
    assert text_key("Read https://a.example/x now") == text_key("Read https://t.co/zz now")


def _plain_normalise(text: str) -> tuple[str, str]:
    """Normalisation step by step, one regular expression at a time (what ``normalise`` does in
    fewer scans). The corpora's only invisible character is the zero-width space, which goes
    between two Latin letters or digits."""
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"(?<=[0-9A-Za-z_\u00e9])\u200b+(?=[0-9A-Za-z_\u00e9])", "", t).lower()
    url = re.compile(r"(?i)\b(?:https?|hxxps?|ftp)://\S+")
    links = url.findall(t)
    t = re.sub(r"(?<!\w)[@#][\w.]+", " ", url.sub(" ", t))
    words = re.sub(r"[^\w]+", " ", re.sub(r"\d+", "0", t)).split()
    with_links = words + [link.split("://", 1)[-1].rstrip(".,;:!?)") for link in links]
    return " ".join(with_links), " ".join(words)


def test_normalise_answers_as_the_plain_steps() -> None:
    rng = random.Random(3)
    parts = [
        "Send",
        "2",
        "BTC",
        "now!!",
        "@team",
        "#Launch",
        "https://ex.example/a?b=1.",
        "hxxp://x.io",
        "ftp://f.org/y",
        "café",
        "٣٤",
        "ＡＢＣ",
        "x://y",
        "e-mail",
        "a_b",
        "\u200b",
        "...",
        "\n",
        "42nd",
    ]
    for _ in range(2000):
        text = rng.choice(["", " ", ""]).join(rng.choice(parts) for _ in range(rng.randint(0, 9)))
        want = _plain_normalise(text)
        assert (normalise(text), normalise(text, keep_links=False)) == want, text


def test_a_long_text_is_sampled_by_content_so_shifted_copies_still_match() -> None:
    from sentinel.engine.similarity import MAX_SHINGLES

    rnd = random.Random(7)

    def word() -> str:
        return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))

    words = [word() for _ in range(4 * MAX_SHINGLES)]
    original = " ".join(words)
    shifted = "breaking news today " + original  # the same message behind a new opening
    other = " ".join(word() for _ in range(4 * MAX_SHINGLES))
    assert signature(original).similarity(signature(shifted)) >= 0.75
    assert signature(original).similarity(signature(other)) <= 0.25


def test_repeated_shingles_do_not_change_a_signature() -> None:
    once = signature("claim your prize now at the desk")
    assert (
        signature("claim your prize now at the desk " * 3).minhash
        == signature("claim your prize now at the desk claim").minhash
    )
    assert once.words == 7


PLAIN_SCAM = "Claim your free NFT now, only for our followers"
DISGUISED_SCAMS = (
    "\u0421laim your fr\u0435\u0435 NFT now, only for our followers",  # Cyrillic С, е
    "Claim y\u03bfur free NFT n\u03bfw, \u03bfnly for our followers",  # Greek ο
    "Claim your free NFT no\uab83, \u0585nly for our f\u0585llowers",  # Cherokee ꮃ, Armenian օ
    "\uff23\uff4c\uff41\uff49\uff4d your free NFT now, only for our followers",  # fullwidth
)


def test_copies_disguised_with_look_alikes_sign_as_the_plain_text() -> None:
    plain = signature(PLAIN_SCAM)
    for text in DISGUISED_SCAMS:
        assert signature(text) == plain, text
        assert text_key(f"{text} https://a.example/x") == text_key(f"{PLAIN_SCAM} https://b.example/y")


# Posts really written in other scripts, with words of look-alike letters alone that mean
# themselves there (Russian СОСО and ВТС, Greek ΕΤΗ "years", Bulgarian "ТОР"), and Latin texts.
FOREIGN = (
    "\u041e\u0442\u043a\u0440\u044b\u043b\u0438 \u043d\u043e\u0432\u044b\u0439 \u043c\u0430\u0433\u0430\u0437\u0438\u043d",
    "\u0421\u041e\u0421\u041e \u0438 \u0412\u0422\u0421 \u0442\u043e\u0436\u0435 \u0442\u0443\u0442",
    "GIVEAWAY \u03b3\u03b9\u03b1 \u03c4\u03b1 10 \u0395\u03a4\u0397 \u03c4\u03b7\u03c2 \u03b5\u03c4\u03b1\u03b9\u03c1\u03b5\u03af\u03b1\u03c2",
    "\u041d\u0430\u0439-\u0434\u043e\u0431\u0440\u0438\u044f\u0442 \u0422\u041e\u0420 \u0437\u0430 \u0433\u0440\u0430\u0434\u0438\u043d\u0430\u0442\u0430",
    "\u0421\u0435\u0440\u0432\u0438\u0441 \u0440\u0430\u0431\u043e\u0442\u0430\u0435\u0442, \u0441\u043f\u0430\u0441\u0438\u0431\u043e \u0437\u0430 \u0442\u0435\u0440\u043f\u0435\u043d\u0438\u0435",
    "\u0425\u043e\u0447\u0443 \u043a\u0430\u0432\u0443 \u0456 \u0441\u0438\u0440 \u0443 \u041a\u0438\u0454\u0432\u0456",
    "\u0540\u0561\u0575\u0561\u057d\u057f\u0561\u0576\u056b \u0574\u0565\u0580 \u056d\u0561\u0576\u0578\u0582\u0569\u0568 \u0562\u0561\u0581 \u0567",
    "\u039a\u03b1\u03bb\u03ae \u03c7\u03c1\u03bf\u03bd\u03b9\u03ac \u03c3\u03b5 \u03cc\u03bb\u03bf\u03c5\u03c2 \u03bc\u03b1\u03c2 \u03c6\u03af\u03bb\u03bf\u03c5\u03c2",
    "\u65b0\u5e97\u8217\u304c\u30aa\u30fc\u30d7\u30f3\u3057\u307e\u3057\u305f",
    "\u0627\u0641\u062a\u062a\u062d\u0646\u0627 \u0645\u062a\u062c\u0631\u0646\u0627 \u0627\u0644\u062c\u062f\u064a\u062f",
    "\u05e4\u05ea\u05d7\u05e0\u05d5 \u05d7\u05e0\u05d5\u05ea \u05d7\u05d3\u05e9\u05d4",
    "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e \u00e0 Z\u00fcrich, \u0141\u00f3d\u017a i Vi\u1ec7t Nam",
    "\uff21\uff22\uff23 \u2460 \ufb01ne \u00bd",
)
ASCII_WORDS = (
    "Claim",
    "your",
    "FREE",
    "nft",
    "now!!",
    "@team",
    "#Launch",
    "42nd",
    "https://ex.example/a?b=1.",
    "e-mail",
)


def _corpus() -> list[str]:
    """ASCII posts and posts in other scripts, mixed at random with a fixed seed."""
    rng = random.Random(11)
    out = list(FOREIGN)
    for _ in range(300):
        out.append(" ".join(rng.choice(ASCII_WORDS) for _ in range(rng.randint(0, 12))))
    for _ in range(300):
        words = FOREIGN[rng.randrange(8)].split()
        rng.shuffle(words)
        out.append(" ".join([*words, rng.choice(ASCII_WORDS)]))
    return out


def _digest(texts: list[str]) -> str:
    h = blake2b(digest_size=16)
    for text in texts:
        s = signature(text)
        h.update(repr((s.exact, s.minhash, s.words, text_key(text))).encode())
    return h.hexdigest()


CORPUS_DIGEST = "c968e04389686b37f4a126542a16d750"
"""The corpus's signatures before look-alikes were read (NFKC only): they must not change."""


def test_ascii_and_foreign_texts_keep_their_signatures_bit_for_bit() -> None:
    """Signatures may be persisted: the look-alike reading changes none but disguised words'.

    The digest was taken with the normalisation before look-alikes were read (NFKC only)."""
    corpus = _corpus()
    for text in corpus:
        assert (normalise(text), normalise(text, keep_links=False)) == _plain_normalise(text), text
    assert _digest(corpus) == CORPUS_DIGEST


SPLIT_SCAMS = (
    "Cl\u200baim your fr\u200bee NFT now, only for our followers",  # zero-width space
    "Claim your fr\u2063ee NFT n\u2063ow, only f\u2063or our followers",  # invisible separator
    "Claim y\u200cour free N\u200dFT now, o\u200cnly for our fol\u200dlowers",  # ZWNJ, ZWJ
    "Clai\U000e0041m your free NFT now, only for o\u180eur followers",  # tag, Mongolian separator
    "Claim your \u202efree\u202c NFT now, only for our fol\u00adlow\ufe0fers",  # override, soft hyphen, VS
    "C\u2060l\ufeffaim your fr\u200b\u2063\u200cee NFT now, on\u200ely for our followers",  # runs, LRM
    "\u0421l\u200ba\u200bim your fr\u200c\u0435\u0435 NFT now, only for our followers",  # with look-alikes
)


def test_copies_split_by_invisible_characters_sign_as_the_plain_text() -> None:
    plain = signature(PLAIN_SCAM)
    for text in SPLIT_SCAMS:
        assert normalise(text) == normalise(PLAIN_SCAM), text
        assert signature(text) == plain, text
        assert text_key(f"{text} https://a.example/x") == text_key(f"{PLAIN_SCAM} https://b.example/y")


def test_a_split_link_signs_as_the_link() -> None:
    assert normalise("Go https://pri\u200bze.example/cl\u2063aim") == normalise(
        "Go https://prize.example/claim"
    )


# Texts whose invisible characters are written as their scripts and emoji write them: a Persian
# ZWNJ, Devanagari, Malayalam and Sinhala ZWJ, emoji ZWJ sequences, variation selectors and a
# tag flag, Thai and Japanese zero-width spaces, Arabic and Hebrew direction marks.
JOINED = (
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u0628\u0647 \u062e\u0627\u0646\u0647\u200c\u0627\u0645 \u0628\u0631\u0648\u0645",
    "\u06a9\u062a\u0627\u0628\u200c\u0647\u0627 \u0631\u0627 \u062e\u0631\u06cc\u062f\u0645 https://shop.example/fa",
    "\u0915\u094d\u200d\u0937 \u0914\u0930 \u0930\u093e\u0937\u094d\u200d\u091f\u094d\u0930",
    "\u0d28\u0d4d\u200d \u0d15\u0d47\u0d30\u0d33\u0d02",
    "\u0dc1\u0dca\u200d\u0dbb\u0dd3 \u0dbd\u0d82\u0d9a\u0dcf",
    "Our team \U0001f469\u200d\U0001f4bb\U0001f468\u200d\U0001f469\u200d\U0001f467 is hiring",
    "\U0001f3f3\ufe0f\u200d\U0001f308 pride month \u2764\ufe0f 1\ufe0f\u20e3 first",
    "Go \U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f team",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u200b\u0e04\u0e23\u0e31\u0e1a",
    "\u6771\u4eac\u200b\u5927\u962a\u200b\u65b0\u5e97",
    "\u0627\u0644\u0633\u0639\u0631 100\u200f \u062f\u0648\u0644\u0627\u0631",
    "\u05e9\u05dc\u05d5\u05dd\u200e ABC \u05e2\u05d5\u05dc\u05dd",
)
JOINED_DIGEST = "d3e5ed625879e6aefaf16ee85a1377f0"
"""The signatures of ``JOINED`` before invisible characters were dropped: they must not change."""


def test_joiners_where_scripts_and_emoji_use_them_keep_their_signatures_bit_for_bit() -> None:
    for text in JOINED[:7] + JOINED[8:]:  # the tag flag's tags go, and are no word
        assert unhide(text) == text, text
    assert _digest(list(JOINED)) == JOINED_DIGEST
    persian = JOINED[0]
    assert normalise(persian) != normalise(persian.replace("\u200c", ""))  # the ZWNJ still parts


def test_text_without_invisible_characters_is_returned_as_it_is() -> None:
    for text in (PLAIN_SCAM, *FOREIGN):
        assert unhide(text) is text
