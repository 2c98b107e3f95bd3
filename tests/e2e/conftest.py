import pytest

from tests.support.system import RunningSystem

EMULATORS = ["moto", "localstack"]


def _stop(system: RunningSystem) -> None:
    codes = system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


@pytest.fixture(scope="session")
def running_system():
    """One system for the e2e session (tests use their own todos and jobs, so they can share it)."""
    system = RunningSystem("e2e").start()
    yield system
    _stop(system)


@pytest.fixture(scope="session")
def localstack_system(localstack_server):
    """The same, on LocalStack (an account of the session's server)."""
    system = RunningSystem("e2e-localstack", emulator="localstack", localstack=localstack_server).start()
    yield system
    _stop(system)


@pytest.fixture(params=EMULATORS)
def system_on_each_emulator(request) -> RunningSystem:
    """The session's system on moto, then on LocalStack."""
    return request.getfixturevalue("running_system" if request.param == "moto" else "localstack_system")


@pytest.fixture(scope="module")
def start_system(localstack_server):
    """Starts a module's own system, on LocalStack. A module system exists to hold a setting of
    its own or a heavy load: on LocalStack, the emulator that validates like AWS and that users
    develop against. Moto's half of the path is covered by the shared systems above and by the
    integration tests, where moto is the in-process double; starting each of these systems twice
    cost minutes of `make test`."""

    def start(name: str, **options) -> RunningSystem:
        system = RunningSystem(f"{name}-localstack", emulator="localstack", localstack=localstack_server, **options)
        return system.start()

    return start
