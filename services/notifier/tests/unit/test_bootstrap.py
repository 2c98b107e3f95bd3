"""bootstrap() wires one handler per event type the topology routes to the notifier's queue."""

from notifier.bootstrap import bootstrap
from notifier.config import Settings
from taskoverflow_shared.topology import load_topology


def test_the_handler_table_matches_the_notifier_queue_subscription(tmp_path, fake_webhooks, delivery_log):
    settings = Settings.from_environment({"NOTIFIER_DELIVERY_DB": str(tmp_path / "d.sqlite3")})

    handlers = bootstrap(settings, webhooks=fake_webhooks, delivery_log=delivery_log)

    assert set(handlers) == set(load_topology().queue_for("notifier").event_types)
