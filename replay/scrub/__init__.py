"""Secret scrubbing: what reaches a cassette file never carries a credential.

Applied by default, with no configuration, to every interaction before it is written, and to
both sides of matching (a live request with a real key still matches its scrubbed recording):

- credential headers (``Authorization``, ``api-key``, ``x-api-key``, ``openai-organization``,
  ``openai-project``, ``anthropic-*`` key headers, ``Cookie``, ``Set-Cookie``,
  ``x-goog-api-key``, and any header named like ``*-api-key``, ``*-token``, ``*-secret``...) keep
  their name and get a placeholder value (``Bearer REDACTED``, ``name=REDACTED`` per cookie), so
  SDKs that expect the header still find it;
- URL credentials (``https://user:pass@host``) and query parameters such as ``key=``,
  ``api_key=``, ``access_token=``, ``sig=``;
- values that look like provider keys (``sk-...``, ``sk-ant-...``, ``sk-or-v1-...``, ``gsk_...``,
  ``tgp_v1_...``, ``AIza...``, ``xai-...``, ``hf_...``, ``r8_...``, ``fw_...``, ``pplx-...``,
  AWS ``AKIA``/``ASIA`` key ids, SigV4 signatures and session tokens, JWTs, ``Bearer <token>``...)
  anywhere in request URLs, headers and
  bodies, and in response headers;
- JSON fields named ``api_key``, ``client_secret``, ``password``... in request bodies.

Response bodies are replayed byte-exact, so they are not rewritten by default; the last check
before writing (:meth:`Scrubber.check`) refuses to save a cassette in which a key pattern is
still visible anywhere, naming the field, unless ``allow_secrets=True``. A
``before_record_response`` hook fixes that case; :func:`redact_secrets` is one ready-made.

Example usage::

    with replay.use_cassette(
        "cassettes/chat.yaml",
        record_mode="once",
        filter_headers=["x-internal-token", ("x-tenant", "tenant-1")],
        filter_query=["session"],
        filter_body_fields=["user_email"],
        before_record_response=replay.scrub.redact_secrets,
    ):
        ...
"""

from __future__ import annotations

from . import patterns
from .edits import Finding, SecretsFoundError
from .patterns import *  # noqa: F403 - what a secret looks like, exported as patterns lists it
from .policy import Scrubber, redact_secrets

__all__ = ["Finding", "Scrubber", "SecretsFoundError", "redact_secrets", *patterns.__all__]
