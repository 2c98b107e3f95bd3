"""PostgreSQL unreachable for longer than the todo-api queue's redrive window (visibility timeout
times receives before dead-lettering) while clients write and calendar results come back."""

from __future__ import annotations

import time

import pytest
import sqlalchemy

from taskoverflow_shared.topology import load_topology
from tests.faults.invariants import assert_nothing_lost
from tests.faults.outage import Outage
from tests.faults.workload import Ledger, run_writes
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def database(postgres_cluster):
    """A database of its own on the session's cluster: (direct URL, proxied URL, proxy)."""
    admin = sqlalchemy.create_engine(postgres_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text("DROP DATABASE IF EXISTS faults_outage"))
        connection.execute(sqlalchemy.text("CREATE DATABASE faults_outage"))
    admin.dispose()
    proxy = TcpProxy(target_port=postgres_cluster.port).start()
    direct = postgres_cluster.url.rsplit("/", 1)[0] + "/faults_outage"
    yield direct, direct.replace(f":{postgres_cluster.port}/", f":{proxy.port}/"), proxy
    proxy.stop()


def test_a_database_outage_longer_than_the_redrive_window_loses_no_result_and_answers_503(
    start_faulty_system, database
):
    direct_url, proxied_url, proxy = database
    queue = load_topology().queue_for("todo-api")
    redrive_window = queue.visibility_timeout_seconds * queue.max_receive_count
    system = start_faulty_system("database-outage", database_url=proxied_url)
    ledger = Ledger()
    outage = Outage(cut=proxy.stop, restore=proxy.start, seconds=redrive_window + 10)

    outage.during(ledger, lambda: run_writes(system.api_url, ledger, writes=200, calendars=20), after_answers=40)
    summary = assert_nothing_lost(system, ledger, database_url=direct_url)

    print(f"\ndatabase outage {outage.seconds} s: idle {time.monotonic() - outage.restored_at:.1f} s after; {summary}")
    assert 503 in ledger.statuses, "writes during the outage should have answered 503"
