from __future__ import annotations

from sentinel.engine.similarity import signature, text_key


def test_near_duplicates_are_similar() -> None:
    a = signature("We are giving back to our community. All Bitcoin sent will be doubled! Only 30 minutes.")
    b = signature("We are giving back to our community!! All Bitcoin sent will be doubled! Only 60 minutes")
    c = signature("Our autumn collection is here, come and see it in the shop today")
    assert a.similarity(b) >= 0.5 and a.similarity(c) < 0.3
    assert set(a.band_keys()) & set(b.band_keys())


def test_signatures_are_stable_and_ignore_mentions() -> None:
    assert signature("@alice Thanks for writing in!").exact == signature("@bob thanks for writing in").exact
    assert text_key("Read https://a.example/x now") == text_key("Read https://t.co/zz now")
