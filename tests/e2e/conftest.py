import pytest

from tests.support.system import RunningSystem


@pytest.fixture(scope="session")
def running_system():
    """One system for the e2e session (tests use their own todos and jobs, so they can share it)."""
    system = RunningSystem("e2e").start()
    yield system
    codes = system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
