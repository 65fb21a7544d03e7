from __future__ import annotations

import random
import re
import unicodedata

from sentinel.engine.similarity import normalise, signature, text_key


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
    fewer scans)."""
    t = unicodedata.normalize("NFKC", text).lower()
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
