"""The smaller defects of issue 13, item 10."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import together
from cassette_factory import LOCAL_URL, chat_body, chat_stream, write_cassette

import replay
from replay.cli import main
from replay.model.cassette import Chunk, Interaction
from replay.tools.plot import plot_cassette


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


def _two_choice_stream() -> Interaction:
    def event(index: int, delta: dict[str, str], finish: str | None = None) -> str:
        choice = {"index": index, "delta": delta, "finish_reason": finish}
        return (
            "data: "
            + json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [choice]})
            + "\n\n"
        )

    datas = [event(0, {"role": "assistant", "content": ""}), event(1, {"role": "assistant", "content": ""})]
    datas += [event(k % 2, {"content": f"w{k}"}) for k in range(8)]
    # Both choices finish in the same read: their marks would land on the same point.
    datas.append(event(0, {}, "stop") + event(1, {}, "length") + "data: [DONE]\n\n")
    interaction = chat_stream()
    chunks = [Chunk(t=round(0.2 + 0.05 * k, 6), data=d.encode()) for k, d in enumerate(datas)]
    return interaction.model_copy(
        update={"response": interaction.response.model_copy(update={"chunks": chunks})}
    )


def test_plot_of_an_n2_stream_draws_a_staircase_per_choice_and_separate_finish_marks(tmp_path: Path) -> None:
    cassette = replay.load_cassette(write_cassette(tmp_path / "n2.yaml", _two_choice_stream()))
    fig, _ = plot_cassette(cassette)
    lines = {line.get_gid(): line for ax in fig.axes for line in ax.get_lines() if line.get_gid()}
    stairs = [lines[f"tokens-0-choice-{c}"] for c in (0, 1)]
    assert [len(s.get_xdata()) for s in stairs] == [5, 5]  # 0 + four content events each
    assert list(stairs[0].get_xdata())[1:] != list(stairs[1].get_xdata())[1:]
    stars = lines["finish-0"]
    points = set(zip(stars.get_xdata(), stars.get_ydata(), strict=True))
    assert len(points) == 2  # same arrival time, two rows
    labels = sorted(t.get_text() for t in fig.axes[0].texts if "finish" in t.get_text())
    assert labels == ["finish[0]: stop", "finish[1]: length"]
    positions = {t.xy for t in fig.axes[0].texts if "finish" in t.get_text()}
    assert len(positions) == 2


ROOT = Path(__file__).resolve().parent.parent


def test_readme_first_command_says_which_openai_the_demo_extra_installs() -> None:
    # The extra as pyproject.toml declares it (a regex: tomllib is 3.11+, the suite runs on 3.10).
    found = re.search(r'^demo = \["([^"]+)"\]$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert found is not None
    spec = found.group(1)
    intro = (ROOT / "README.md").read_text().split("**llm-replay** is")[0]
    assert f"`{spec}`" in intro and "openai 2.x" in intro and "3.x" in intro


def test_docs_line_on_together_base_url_holds(tmp_path: Path) -> None:
    clients = (ROOT / "docs" / "guides" / "clients.md").read_text()
    assert 'together.Together(base_url="http://127.0.0.1:8000")' in clients
    # What the line says: given the root, together 3.x calls <root>/v1/chat/completions.
    path = write_cassette(tmp_path / "t.yaml", chat_stream(url=LOCAL_URL))
    with replay.use_cassette(path) as cassette:
        client = together.Together(base_url=LOCAL_URL.split("/v1/")[0], api_key="k", max_retries=0)
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello!"
    assert cassette.all_played
