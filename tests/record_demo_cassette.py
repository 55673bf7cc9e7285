"""Re-record cassettes/demo/chat_stream.yaml from the local streaming server (tests/llm_server.py).

Run from the repository root: ``python tests/record_demo_cassette.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).parent))

from llm_server import LLMServer, Script

import replay

TEXT = (
    "Record once, replay forever: every chunk of this answer was captured with the moment it "
    "arrived, so your tests can watch it stream again at exactly the same pace."
)


def main() -> None:
    target = Path(__file__).resolve().parent.parent / "cassettes" / "demo" / "chat_stream.yaml"
    target.unlink(missing_ok=True)
    words = TEXT.split(" ")
    tokens = [words[0]] + [" " + w for w in words[1:]]
    script = Script(tokens=tokens, head_delay=0.28, first_delay=0.04, gaps=[0.05, 0.09, 0.06, 0.12, 0.07])
    with LLMServer(script) as server, replay.use_cassette(target, record_mode="once"):
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="demo-key", max_retries=0)
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Why record LLM streams for tests?"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
