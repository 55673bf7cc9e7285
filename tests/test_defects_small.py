"""The smaller defects of issue 13, item 10."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cassette_factory import LOCAL_URL, chat_body, chat_stream, write_cassette

import replay
from replay.cli import main


@pytest.mark.parametrize(
    "value", ["Bearer REDACTED", "Bearer sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7"]
)
def test_native_to_vcrpy_to_native_keeps_the_authorization_scheme(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    interaction = chat_stream()
    request = interaction.request.model_copy(
        update={"headers": [("content-type", "application/json"), ("Authorization", value)]}
    )
    native = write_cassette(tmp_path / "native.yaml", interaction.model_copy(update={"request": request}))
    vcr, back = tmp_path / "vcr.yaml", tmp_path / "back.yaml"
    assert main(["convert", "--allow-secrets", str(native), str(vcr)]) == 0
    assert main(["convert", str(vcr), str(back)]) == 0
    headers = dict(replay.load_cassette(back).interactions[0].request.headers)
    assert headers["Authorization"] == "Bearer REDACTED"


def test_an_expired_cassette_warning_points_at_the_test(pytester: pytest.Pytester) -> None:
    old = datetime.now(timezone.utc) - timedelta(days=90)
    write_cassette(pytester.path / "cassettes" / "test_old" / "test_chat.yaml", chat_stream(recorded_at=old))
    pytester.makepyfile(
        test_old=f"""
        import httpx2, pytest

        @pytest.mark.replay(max_age="30d")
        def test_chat():
            httpx2.post({LOCAL_URL!r}, json={chat_body("m")!r}).read()
        """
    )
    result = pytester.runpytest("-W", "default::replay.CassetteExpiredWarning")
    result.assert_outcomes(passed=1)
    # Line 3: the test's marker, where max_age was given.
    result.stdout.fnmatch_lines(
        ["*test_old.py:3: CassetteExpiredWarning: Cassette *test_chat.yaml is 90d old*"]
    )
    assert "fixtures.py" not in result.stdout.str()
