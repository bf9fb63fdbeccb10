"""Role tokens, decided without a daemon: who each request acts as (``web.access``), where the
tokens come from (``daemon.tokens``) and a "record now" request as one extra window
(``daemon.channels.should_record``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from streamrec.daemon.channels import requests_of, should_record
from streamrec.daemon.tokens import parse_tokens, read_tokens
from streamrec.errors import DaemonError
from streamrec.spec.model import Channel
from streamrec.web.access import Actor, Presented, Refusal, Role, Token, Tokens, admit, whoami

DAEMON = 1000
VIEWER, OPERATOR, ADMIN = "viewer-7f3a9c1d", "operator-2b8e4f6a", "admin-9d1c7e3b"
ALL = Tokens(
    (
        Token(Role.VIEWER, VIEWER, "wall screen"),
        Token(Role.OPERATOR, OPERATOR, "night shift"),
        Token(Role.ADMIN, ADMIN, None),
    )
)


def tcp(token: str | None = None) -> Presented:
    return Presented(False, None, DAEMON, f"Bearer {token}" if token else None)


def test_each_role_may_do_what_the_ones_below_may() -> None:
    """Operator runs what a viewer reads; admin also what an operator runs; labels come along."""
    assert admit(Role.VIEWER, tcp(VIEWER), ALL) == Actor("viewer", "wall screen")
    assert admit(Role.OPERATOR, tcp(OPERATOR), ALL) == Actor("operator", "night shift")
    assert admit(Role.VIEWER, tcp(OPERATOR), ALL) == Actor("operator", "night shift")
    assert admit(Role.ADMIN, tcp(ADMIN), ALL) == Actor("admin")
    assert admit(Role.OPERATOR, tcp(ADMIN), ALL) == Actor("admin")


def test_a_lower_role_is_403_naming_both_roles() -> None:
    """A valid token of too low a role is refused with 403 and the roles named."""
    refused = admit(Role.ADMIN, tcp(OPERATOR), ALL)
    assert refused == Refusal(403, "needs the admin role; this token has the operator role")
    refused = admit(Role.OPERATOR, tcp(VIEWER), ALL)
    assert isinstance(refused, Refusal) and refused.status == 403 and "viewer" in refused.message


def test_missing_or_unknown_tokens_are_401() -> None:
    """No header, another scheme, or a token nobody configured: 401 for every action."""
    for request in (tcp(), tcp("nope-nope-nope"), Presented(False, None, DAEMON, f"Basic {ADMIN}")):
        refused = admit(Role.OPERATOR, request, ALL)
        assert isinstance(refused, Refusal) and refused.status == 401


def test_reads_are_open_until_a_viewer_token_exists() -> None:
    """Without a viewer token a read needs none; with one, a read needs a token (401)."""
    acting = Tokens((Token(Role.OPERATOR, OPERATOR),))
    assert admit(Role.VIEWER, tcp(), acting) == Actor("viewer")
    assert admit(Role.VIEWER, tcp(), Tokens()) == Actor("viewer")
    assert admit(Role.VIEWER, tcp(OPERATOR), acting) == Actor("operator")
    refused = admit(Role.VIEWER, tcp(), ALL)
    assert isinstance(refused, Refusal) and refused.status == 401


def test_without_tokens_tcp_is_read_only() -> None:
    """No operator or admin token: every action is 403 read-only, whatever the header."""
    only_viewer = Tokens((Token(Role.VIEWER, VIEWER),))
    for tokens in (Tokens(), only_viewer):
        refused = admit(Role.OPERATOR, tcp(VIEWER), tokens)
        assert isinstance(refused, Refusal) and refused.status == 403
        assert "read-only" in refused.message


def test_the_socket_owner_and_root_act_as_local() -> None:
    """The daemon's uid and root on the socket have every right; another uid is a TCP client."""
    for uid in (DAEMON, 0):
        assert admit(Role.ADMIN, Presented(True, uid, DAEMON, None), ALL) == Actor("local")
    other = admit(Role.OPERATOR, Presented(True, 4242, DAEMON, None), ALL)
    assert isinstance(other, Refusal) and other.status == 401
    assert admit(Role.OPERATOR, Presented(True, 4242, DAEMON, f"Bearer {OPERATOR}"), ALL) == Actor(
        "operator", "night shift"
    )


def test_whoami_says_what_the_token_may_do() -> None:
    """Role, label and rights of the presented token; nothing presented: no role."""
    assert whoami(tcp(VIEWER), ALL) == {
        "role": "viewer",
        "who": "wall screen",
        "may": {"read": True, "operate": False, "edit": False},
    }
    assert whoami(tcp(OPERATOR), ALL)["may"] == {"read": True, "operate": True, "edit": False}
    assert whoami(tcp(ADMIN), ALL)["may"] == {"read": True, "operate": True, "edit": True}
    assert whoami(tcp(), ALL) == {
        "role": None,
        "who": None,
        "may": {"read": False, "operate": False, "edit": False},
    }
    assert whoami(tcp("wrong-wrong"), Tokens())["may"]["read"] is True
    local = whoami(Presented(True, DAEMON, DAEMON, None), ALL)
    assert local["role"] == "local" and all(local["may"].values())


def test_the_api_token_alone_is_an_admin_token() -> None:
    """STREAMREC_API_TOKEN keeps its meaning: every action, and reads open."""
    tokens = read_tokens({"STREAMREC_API_TOKEN": "tok"})
    assert admit(Role.ADMIN, tcp("tok"), tokens) == Actor("admin")
    assert admit(Role.VIEWER, tcp(), tokens) == Actor("viewer")


def test_a_tokens_file_gives_roles_and_labels(tmp_path: Path) -> None:
    """Lines ROLE TOKEN [LABEL], comments and blank lines; the env's tokens join them."""
    file = tmp_path / "tokens"
    file.write_text(
        f"# who may do what\n\nviewer {VIEWER} wall screen\nOPERATOR {OPERATOR}\n", "utf-8"
    )
    file.chmod(0o600)
    tokens = read_tokens({"STREAMREC_TOKENS_FILE": str(file), "STREAMREC_ADMIN_TOKEN": ADMIN})
    assert sorted((t.role.label, t.label) for t in tokens.entries) == [
        ("admin", None),
        ("operator", None),
        ("viewer", "wall screen"),
    ]
    assert set(tokens.secrets) == {VIEWER, OPERATOR, ADMIN}
    assert VIEWER not in repr(tokens)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_tokens_file_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    """Group or other bits: refused with the chmod that fixes it, and no token in the message."""
    file = tmp_path / "tokens"
    file.write_text(f"admin {ADMIN}\n", "utf-8")
    file.chmod(mode)
    with pytest.raises(DaemonError) as caught:
        read_tokens({"STREAMREC_TOKENS_FILE": str(file)})
    message = str(caught.value)
    assert str(file) in message and f"{mode:04o}" in message
    assert 'chmod 600 "$STREAMREC_TOKENS_FILE"' in message
    assert ADMIN not in str(caught.value)


def test_bad_lines_are_located_without_showing_tokens() -> None:
    """FILE:LINE for each bad line: unknown role, no token, too short, a token twice."""
    text = f"boss {ADMIN}\nviewer\nadmin short\nadmin {ADMIN}\noperator {ADMIN} again\n"
    tokens, problems = parse_tokens(text, "/etc/streamrec/tokens")
    assert [t.role for t in tokens] == [Role.ADMIN]
    assert [p.split(": ")[0] for p in problems] == [
        "/etc/streamrec/tokens:1",
        "/etc/streamrec/tokens:2",
        "/etc/streamrec/tokens:3",
        "/etc/streamrec/tokens:5",
    ]
    assert "line 4" in problems[3]
    assert all(ADMIN not in p and "short" not in p.split(": ", 1)[0] for p in problems)


def test_a_missing_file_or_a_short_role_token_stops_the_start(tmp_path: Path) -> None:
    """A file that cannot be opened, or a too short role token in the env: DaemonError."""
    with pytest.raises(DaemonError, match="cannot be opened"):
        read_tokens({"STREAMREC_TOKENS_FILE": str(tmp_path / "absent")})
    with pytest.raises(DaemonError, match="STREAMREC_VIEWER_TOKEN: the token is too short"):
        read_tokens({"STREAMREC_VIEWER_TOKEN": "abc"})
    with pytest.raises(DaemonError, match="two roles"):
        read_tokens({"STREAMREC_VIEWER_TOKEN": ADMIN, "STREAMREC_ADMIN_TOKEN": ADMIN})


UTC = ZoneInfo("UTC")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
EVENING = Channel(
    url="http://cam.test/live.m3u8",
    schedule=[
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "20:00",
            "end": "22:00",
        }
    ],
)


def test_a_request_records_outside_the_windows_until_its_end() -> None:
    """Outside its windows a requested channel records until the request ends, then does not."""
    until = NOW + timedelta(minutes=30)
    decision = should_record(EVENING, UTC, NOW, requested=until)
    assert decision.record and decision.until == until
    assert not should_record(EVENING, UTC, until, requested=until).record
    assert not should_record(EVENING, UTC, NOW).record


def test_a_request_inside_a_window_keeps_the_later_end() -> None:
    """Inside a window the recording ends at the later of the window's end and the request's."""
    inside = NOW.replace(hour=21)
    late, early = inside + timedelta(hours=2), inside + timedelta(minutes=5)
    assert should_record(EVENING, UTC, inside, requested=late).until == late
    assert should_record(EVENING, UTC, inside, requested=early).until == NOW.replace(hour=22)


def test_a_request_does_not_record_a_disabled_channel() -> None:
    """Disabled (or another shard's) stays so, request or not."""
    disabled = EVENING.model_copy(update={"enabled": False})
    assert not should_record(disabled, UTC, NOW, requested=NOW + timedelta(hours=1)).record
    later = NOW + timedelta(hours=1)
    assert not should_record(EVENING, UTC, NOW, owned=False, requested=later).record


def test_requests_are_read_back_from_the_fold_until_they_end() -> None:
    """A restarted daemon keeps the requests whose end is still ahead."""
    state = {
        "channels": {
            "a": {"requested_until": "2026-12-02T12:30:00.000Z"},
            "b": {"requested_until": "2026-12-02T11:59:00.000Z"},
            "c": {"state": "idle"},
        }
    }
    assert requests_of(state, NOW) == {"a": NOW + timedelta(minutes=30)}
