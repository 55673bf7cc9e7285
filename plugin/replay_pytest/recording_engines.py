"""Who serves a vcr-marked test in the pytest-recording drop-in: the native engine or vcrpy.

:func:`native_playback` returns llm-replay's native playback (:mod:`replay.vcr.playback`) when
the test only replays and its vcrpy settings are ones the native engine reproduces; otherwise
:func:`vcrpy_cassette` runs the test under vcrpy's own ``Cassette`` (and its stubs), with
httpx2/httpx going through llm-replay's bridge. ``--replay-vcr-engine=vcrpy`` (or the
``replay_vcr_engine`` ini setting) always chooses vcrpy.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from replay import pytest_support

if TYPE_CHECKING:
    from replay.pytest_support import BridgeOptions, VcrPlayback

__all__ = ["VCR_ENGINES", "CassetteSpec", "engine", "native_playback", "vcrpy_cassette"]

VCR_ENGINES = ("auto", "vcrpy")


def engine(config: pytest.Config) -> str:
    """``auto`` or ``vcrpy``: the option, else the ini setting; a usage error for anything else."""
    chosen = str(config.getoption("--replay-vcr-engine") or config.getini("replay_vcr_engine") or "auto")
    if chosen not in VCR_ENGINES:
        raise pytest.UsageError(
            f"replay_vcr_engine = {chosen!r} in the ini file: use one of {', '.join(VCR_ENGINES)}."
        )
    return chosen


@dataclass(frozen=True, slots=True)
class CassetteSpec:
    """One test's cassette as the fixture resolved it: where, which mode, which vcrpy settings."""

    folder: str
    name: str
    suffix: str
    mode: str
    settings: dict[str, Any]
    extras: list[str]

    @property
    def main(self) -> str:
        name = self.name if self.name.endswith(self.suffix) else self.name + self.suffix
        return os.path.join(self.folder, name)

    def recorder(self, persister: Any) -> Any:
        """vcrpy's ``VCR`` for this cassette, its persister registered."""
        from vcr import VCR

        recorder = VCR(
            path_transformer=VCR.ensure_suffix(self.suffix),
            cassette_library_dir=self.folder,
            record_mode=self.mode,
        )
        recorder.register_persister(persister)
        return recorder

    def vcrpy_cassette(self) -> Any:
        """The vcrpy ``Cassette`` the native engine stands for, loaded (never entered)."""
        pytest_support.load_vcrpy()
        from vcr.cassette import Cassette

        config = self.recorder(pytest_support.SafePersister(self.extras)).get_merged_config(
            path=self.name, **self.settings
        )
        transform = config.pop("path_transformer")
        for key in ("func_path_generator", "record_on_exception"):
            config.pop(key, None)
        config["path"] = transform(config["path"]) if transform else config["path"]
        return Cassette.load(**config)


def native_playback(spec: CassetteSpec, config: pytest.Config, options: BridgeOptions) -> VcrPlayback | None:
    """The native engine's playback for this test, or None when vcrpy must serve it: recording,
    settings only vcrpy honours, a ``pytest_recording_configure`` hook, or the vcrpy engine."""
    if spec.mode not in ("none", "once") or engine(config) == "vcrpy":
        return None
    if config.pluginmanager.hook.pytest_recording_configure.get_hookimpls():
        return None  # it may register matchers, persisters or serializers on vcrpy's VCR
    rules = pytest_support.native_rules(spec.settings)
    if rules is None:
        return None
    entries: list[Any] = []
    found_main = False
    for path in dict.fromkeys([spec.main, *spec.extras]):
        loaded = pytest_support.load_entries(
            Path(path), decode=rules.decode, synthetic_timing=options.synthetic_timing
        )
        if loaded is not None:
            found_main = found_main or path == spec.main
            entries.extend(loaded)
    if spec.mode == "once" and not entries and not found_main:
        return None  # vcrpy records a new cassette
    return pytest_support.VcrPlayback(entries, rules, options, spec.main, spec.vcrpy_cassette)


def vcrpy_cassette(
    request: pytest.FixtureRequest, spec: CassetteSpec, options: BridgeOptions
) -> Iterator[Any]:
    """vcrpy's own ``Cassette`` for the test (recording, or settings only vcrpy honours), with
    httpx2/httpx traffic replayed and recorded through llm-replay's bridge."""
    pytest_support.load_vcrpy()
    rewrite = spec.mode == "rewrite"
    # vcrpy does not know "rewrite": new_episodes, with the old file ignored by the persister.
    mode = "new_episodes" if rewrite else spec.mode
    spec = dataclasses.replace(spec, mode=mode)
    recorder = spec.recorder(pytest_support.SafePersister(spec.extras, ignore_existing=rewrite))
    request.config.hook.pytest_recording_configure(config=request.config, vcr=recorder)
    settings = dict(spec.settings)
    skip = tuple(dict.fromkeys((*settings.pop("skip_patchers", ()), "httpx", "httpx2")))
    try:
        context = recorder.use_cassette(spec.name, skip_patchers=skip, **settings)
    except (TypeError, ValueError, KeyError) as exc:
        raise pytest.UsageError(f"{request.node.nodeid}: invalid vcr settings: {exc}") from None
    with pytest_support.vcr_cassette(
        context, options.timing, synthetic_timing=options.synthetic_timing, record_hint=options.record_hint
    ) as cassette:
        yield cassette
