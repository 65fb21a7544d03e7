"""Console sessions: random ids, idle and absolute expiry, CSRF tokens per session."""

from __future__ import annotations

from sentinel.console.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_found_by_its_id_only() -> None:
    store = SessionStore(clock=Clock())
    sid, session = store.create("hvs.token-1", "op-a")
    assert store.get(sid) is session
    assert store.get(session.csrf) is None
    assert store.get("hvs.token-1") is None
    assert store.get(None) is None and store.get("x" * 500) is None


def test_idle_and_absolute_expiry() -> None:
    clock = Clock()
    store = SessionStore(idle=60, lifetime=300, clock=clock)
    sid, session = store.create("t", "op-a")
    for _ in range(4):
        clock.now += 59
        assert store.get(sid) is session  # activity keeps it alive
    clock.now += 61
    assert store.get(sid) is None  # idle too long
    sid, session = store.create("t", "op-a")
    for _ in range(6):
        clock.now += 55
        store.get(sid)
    assert store.get(sid) is None  # past its lifetime however active
    assert not store.alive(session)


def test_csrf_tokens_differ_per_session_and_compare_exactly() -> None:
    store = SessionStore(clock=Clock())
    _, a = store.create("t1", "op-a")
    _, b = store.create("t2", "op-b")
    assert a.csrf != b.csrf
    assert a.check_csrf(a.csrf)
    assert not a.check_csrf(b.csrf) and not a.check_csrf("") and not a.check_csrf(a.csrf + "x")


def test_the_token_is_not_in_the_sessions_repr() -> None:
    store = SessionStore(clock=Clock())
    _, session = store.create("hvs.secret-token", "op-a")
    assert "hvs.secret-token" not in repr(session)
    assert session.csrf not in repr(session)


def test_the_store_is_bounded() -> None:
    store = SessionStore(max_sessions=3, clock=Clock())
    ids = [store.create(f"t{i}", "op")[0] for i in range(5)]
    assert len(store) == 3
    assert store.get(ids[0]) is None and store.get(ids[-1]) is not None


def test_one_identity_holds_a_bounded_number_of_sessions() -> None:
    store = SessionStore(clock=Clock(), max_sessions=10, per_identity=3)
    other, _ = store.create("t-ana", "op-ana")
    mine = [store.create(f"t-{i}", "op-mallory")[0] for i in range(12)]
    assert [store.get(s) is not None for s in mine[-4:]] == [False, True, True, True]  # oldest ended
    assert store.get(other) is not None and len(store) == 4


def test_every_way_a_session_ends_goes_through_ended() -> None:
    clock = Clock()
    ended: list[str] = []
    store = SessionStore(idle=60, lifetime=300, max_sessions=4, per_identity=2, clock=clock)
    store.ended = lambda s: ended.append(s.token)
    sid, _ = store.create("signed-out", "op-a")
    store.drop(sid)
    store.create("evicted", "op-b")
    store.create("b2", "op-b")
    store.create("b3", "op-b")  # the third of op-b: its oldest ends
    assert ended == ["signed-out", "evicted"]
    _, idle = store.create("idle", "op-c")
    clock.now += 61
    assert not store.alive(idle)  # found expired by a live stream
    assert store.sweep() == 2  # b2 and b3 idle too
    assert ended == ["signed-out", "evicted", "idle", "b2", "b3"]
    for i in range(5):
        store.create(f"full-{i}", f"op-{i}")  # a full store ends its oldest
    assert ended[-1] == "full-0"
    store.end_all()
    assert len(store) == 0 and sorted(ended[-4:]) == ["full-1", "full-2", "full-3", "full-4"]


def test_entityless_sessions_are_bounded_per_address_and_in_all_oldest_first() -> None:
    ended: list[str] = []
    store = SessionStore(
        clock=Clock(), per_address=2, entityless=3, ended=lambda s: ended.append(s.actor), max_sessions=100
    )
    person, _ = store.create("t-p", "op-a", address="198.51.100.7")  # an identity behind the same NAT
    for n in range(3):
        store.create(f"t{n}", f"token:acc{n}", entityless=True, address="198.51.100.7")
    assert ended == ["token:acc0"]  # the address's oldest entity-less session
    store.create("t3", "token:acc3", entityless=True, address="192.0.2.1")
    store.create("t4", "token:acc4", entityless=True, address="192.0.2.2")
    assert ended == ["token:acc0", "token:acc1"]  # the oldest of all entity-less ones
    assert store.get(person) is not None and len(store) == 4
