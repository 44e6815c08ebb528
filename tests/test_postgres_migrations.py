"""Migrations on PostgreSQL: applied once under the advisory lock when replicas start together."""

from __future__ import annotations

import threading

import pytest

from wix_meetings_mcp.bookings import postgres
from wix_meetings_mcp.bookings.sqlite import SchemaTooNew


def test_replicas_starting_together_apply_each_migration_once(postgres_url: str) -> None:
    runs: list[int] = []
    errors: list[BaseException] = []
    steps: postgres.Migration = ("CREATE TABLE t (x INTEGER)", lambda conn: runs.append(1))

    def start_replica() -> None:
        try:
            with postgres.connect(postgres_url) as conn:
                postgres.migrate(conn, "test", [steps])
        except BaseException as exc:
            errors.append(exc)

    replicas = [threading.Thread(target=start_replica) for _ in range(6)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(timeout=60)
    assert errors == [] and runs == [1]
    with postgres.connect(postgres_url) as conn:
        assert postgres.schema_version(conn, "test") == 1


def test_a_failed_migration_rolls_back_whole_and_a_newer_database_is_refused(postgres_url: str) -> None:
    with postgres.connect(postgres_url) as conn:
        postgres.migrate(conn, "test", [("CREATE TABLE a (x INTEGER)",)])
        with pytest.raises(Exception, match="b_is_not_a_type"):
            postgres.migrate(
                conn, "test", [("CREATE TABLE a (x INTEGER)",), ("CREATE TABLE b (x b_is_not_a_type)",)]
            )
        assert postgres.schema_version(conn, "test") == 1
        with pytest.raises(SchemaTooNew, match="upgrade meetings-mcp"):
            postgres.migrate(conn, "test", [])
