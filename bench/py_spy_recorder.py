"""py-spy attached by pid to running processes, one `py-spy record` each, for as long as a `with` lasts.

Each recorder follows its process's children (`--subprocesses`: gunicorn's workers), aggregates
samples by function rather than by line (`--function`), leaves out idle threads (py-spy's
default, so the samples are time on the CPU or wanting it) and writes speedscope JSON when it is
interrupted. It reads without pausing the process (`--nonblocking`): on a paused process py-spy's
idle check counts threads blocked in Condition.wait, select or a socket read as busy (several
times the CPU /proc reports), and pausing slows the services being measured; the price is a
rare stack torn by the running thread. py-spy reads another process's memory with ptrace: it
needs root or CAP_SYS_PTRACE (and, for a non-root user, kernel.yama.ptrace_scope 0).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

# py-spy prints this once it has attached and taken its first sample.
_SAMPLING = "Sampling process"
ATTACH_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 60


class ProfilerUnavailable(RuntimeError):
    """py-spy is not installed or may not attach (ptrace refused)."""


def py_spy_executable() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise ProfilerUnavailable("py-spy is not installed: `make install` puts it in .venv (requirements-dev)")
    return found


class PySpyRecording:
    """`with PySpyRecording(pids, directory, rate):` records `<name>.speedscope.json` per named pid.

    Entering returns once every recorder samples; a recorder that cannot attach stops the others
    and raises ProfilerUnavailable with py-spy's own words (most often: ptrace not permitted)."""

    def __init__(self, pids: Mapping[str, int], directory: Path, rate: int) -> None:
        self.pids = dict(pids)
        self.directory = directory
        self.rate = rate
        self._recorders: dict[str, subprocess.Popen[bytes]] = {}

    def output(self, name: str) -> Path:
        return self.directory / f"{name}.speedscope.json"

    def log(self, name: str) -> Path:
        return self.directory / f"{name}.py-spy.log"

    def __enter__(self) -> PySpyRecording:
        executable = py_spy_executable()
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            command = [
                executable, "record", "--pid", str(pid), "--subprocesses", "--function", "--nonblocking",
                "--rate", str(self.rate), "--format", "speedscope", "--output", str(self.output(name)),
            ]  # fmt: skip
            with open(self.log(name), "wb") as log:
                self._recorders[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            for name in self.pids:
                self._wait_until_sampling(name)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop()

    def _wait_until_sampling(self, name: str) -> None:
        deadline = time.monotonic() + ATTACH_TIMEOUT_SECONDS
        recorder = self._recorders[name]
        while time.monotonic() < deadline:
            said = self.log(name).read_text(errors="replace")
            if _SAMPLING in said:
                return
            if recorder.poll() is not None:
                # Its error without the Rust backtrace py-spy prints under it.
                error = said.split("Stack backtrace:")[0].strip() or "no output"
                raise ProfilerUnavailable(
                    f"py-spy could not record {name} (pid {self.pids[name]}), exit {recorder.returncode}: {error} "
                    "(py-spy attaches with ptrace: it needs root or CAP_SYS_PTRACE)"
                )
            time.sleep(0.1)
        raise ProfilerUnavailable(f"py-spy did not start sampling {name} in {ATTACH_TIMEOUT_SECONDS} s")

    def _stop(self) -> None:
        """SIGINT, as Ctrl-C: py-spy then writes its file and exits."""
        for recorder in self._recorders.values():
            if recorder.poll() is None:
                recorder.send_signal(signal.SIGINT)
        for recorder in self._recorders.values():
            try:
                recorder.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()
