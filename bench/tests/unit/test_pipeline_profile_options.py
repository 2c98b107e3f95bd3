"""`make profile`'s options: arguments over PROFILE_* variables over the benchmark's defaults."""

from __future__ import annotations

import pytest

from bench.pipeline_profile import ProfileOptions, parse_options


def test_without_arguments_or_variables_it_profiles_the_benchmarks_run(monkeypatch):
    for variable in ("PROFILE_JOBS", "PROFILE_CLIENTS", "PROFILE_RATE", "PROFILE_EMULATOR"):
        monkeypatch.delenv(variable, raising=False)
    assert parse_options([]) == ProfileOptions(jobs=200, clients=8, rate=100, with_emulator=False)


def test_variables_set_the_defaults_and_arguments_win(monkeypatch):
    monkeypatch.setenv("PROFILE_JOBS", "40")
    monkeypatch.setenv("PROFILE_RATE", "250")
    monkeypatch.setenv("PROFILE_EMULATOR", "1")
    options = parse_options(["--jobs", "10", "--clients", "4"])
    assert options == ProfileOptions(jobs=10, clients=4, rate=250, with_emulator=True)
    assert options.jobs_per_client == 3  # every client runs as many jobs: 12 in all


def test_a_count_below_one_is_refused(capsys):
    with pytest.raises(SystemExit):
        parse_options(["--clients", "0"])
    assert "must be positive" in capsys.readouterr().err
