"""Credentials in a channel's ffmpeg options (``-headers`` Cookie/Authorization, ``-cookies``) are
secrets of the config: hidden in ``channel command`` and every other output."""

from __future__ import annotations

import os
from pathlib import Path

from streamrec.core.redact import Redactor, args_secrets

COOKIE = "sessid=c00k1e5ecret77"
BEARER = "Bearer b3arer-t0ken-41"


def test_credential_headers_and_cookies_are_secrets() -> None:
    args = [
        "-user_agent", "Kodi",
        "-headers", f"Cookie: {COOKIE}\r\nOrigin: http://127.0.0.1\r\nX-Api-Key: k3y-998877\r\n",
        "-cookies", "other=cookie-jar-55",
        "-headers", f"authorization: {BEARER}\r\n",
    ]  # fmt: skip
    found = args_secrets(args)
    assert found == {COOKIE, "k3y-998877", "other=cookie-jar-55", BEARER}
    shown = Redactor.of(found).text(" ".join(args))
    assert COOKIE not in shown and BEARER not in shown and "k3y-998877" not in shown
    assert "Origin: http://127.0.0.1" in shown and "Kodi" in shown


def test_channel_command_hides_a_cookie_header(tmp_path: Path, cli_for) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "main.yaml").write_text(
        "settings: {timezone: UTC}\n"
        "channels:\n"
        "  tv:\n"
        "    url: http://127.0.0.1:9/live.m3u8\n"
        f'    input_args: ["-headers", "Cookie: {COOKIE}\\r\\nReferer: http://127.0.0.1/\\r\\n"]\n',
        encoding="utf-8",
    )
    env = {**os.environ, "STREAMREC_STATE_DIR": str(tmp_path / "state")}
    code, out, err = cli_for(config)("channel", "command", "tv", env=env)
    assert code == 0, err
    assert "-headers" in out and "Referer: http://127.0.0.1/" in out
    assert COOKIE not in out + err
