"""The llm-replay pytest plugin: the ``replay`` marker, the ``replay_cassette`` and
``replay_config`` fixtures, and the ``--replay-*`` options. Registered through the ``pytest11``
entry point, so installing llm-replay activates it."""
