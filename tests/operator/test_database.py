"""The database steps without a database: the exact argv each sends (the contract the
simulator's model answers), how answers are read, and the failover choice."""

from __future__ import annotations

import pytest

from k8s_course.operator import database
from k8s_course.operator.database import Database, DatabaseError, MemberStatus
from k8s_course.operator.transports import Completed

PSQL = ["psql", "-U", "postgres", "-d", "postgres", "-X", "-q", "-t", "-A"]


class Recording:
    """A transport that records every argv and answers from a list of Completed."""

    def __init__(self, *answers: Completed) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, list[str]]] = []

    def run(self, member: str, argv: list[str], timeout: float) -> Completed:
        self.calls.append((member, argv))
        return self.answers.pop(0) if self.answers else Completed(0, "t\n", "")


def test_lsns_read_and_print_as_postgresql_prints_them():
    assert database.lsn("0/3000148") == 0x3000148
    assert database.lsn("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert database.format_lsn(database.lsn("16/B374D848")) == "16/B374D848"
    assert database.format_lsn(0) == "0/0"
    with pytest.raises(ValueError):
        database.lsn("3000148")


def test_status_sends_one_query_and_reads_recovery_position_and_timeline():
    transport = Recording(Completed(0, "t|0/3000148|2\n", ""))
    assert Database(transport).status("pg-2") == MemberStatus(True, 0x3000148, 2)
    assert transport.calls == [("pg-2", [*PSQL, "-c", database.STATUS_SQL])]


def test_follow_and_set_synchronous_send_alter_system_then_a_reload_as_two_commands():
    transport = Recording()
    steps = Database(transport)
    steps.follow("pg-3", "pg-2.pg-members")
    steps.set_synchronous("pg-2", ["pg-3", "pg-4"])
    steps.set_synchronous("pg-2", [])
    reload = ["-c", "SELECT pg_reload_conf()"]
    assert [argv[len(PSQL):] for _member, argv in transport.calls] == [
        ["-c", "ALTER SYSTEM SET primary_conninfo = 'host=pg-2.pg-members port=5432 user=postgres'", *reload],
        ["-c", "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (\"pg-3\", \"pg-4\")'",
         "-c", "ALTER SYSTEM SET synchronous_commit = 'remote_apply'", *reload],
        ["-c", "ALTER SYSTEM RESET synchronous_standby_names", "-c", "ALTER SYSTEM RESET synchronous_commit", *reload],
    ]


def test_promote_clone_and_ready_send_the_contracts_argv():
    transport = Recording(Completed(0, "t\n", ""), Completed(0, "", ""), Completed(2, "no response\n", ""))
    steps = Database(transport)
    steps.promote("pg-2")
    steps.clone("pg-4", "pg-2.pg-members")
    assert steps.ready("pg-1") is False
    assert [argv for _member, argv in transport.calls] == [
        [*PSQL, "-c", "SELECT pg_promote()"],
        ["pg_basebackup", "-U", "postgres", "-h", "pg-2.pg-members", "-D", "/var/lib/postgresql/data/pgdata",
         "-R", "-X", "stream", "-c", "fast"],
        ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"],
    ]
    assert Database.backup_command("pg-rw", "/backup/all.sql") == [
        "pg_dumpall", "-U", "postgres", "-h", "pg-rw", "-f", "/backup/all.sql"]


def test_replication_reads_one_standby_per_line_and_a_missing_position_as_none():
    transport = Recording(Completed(0, "pg-2|streaming|quorum|0/3000148\npg-4|catchup|async|\n", ""))
    states = Database(transport).replication("pg-1")
    assert states == [database.ReplicaState("pg-2", "streaming", "quorum", 0x3000148),
                      database.ReplicaState("pg-4", "catchup", "async", None)]
    assert transport.calls[0][1][-1] == ("SELECT application_name, state, sync_state, replay_lsn "
                                         "FROM pg_stat_replication ORDER BY application_name")


def test_a_failed_step_names_the_member_the_program_and_what_it_said():
    refused = Completed(2, "", 'psql: error: connection to server at "127.0.0.1", port 5432 failed: '
                               "Connection refused\n")
    with pytest.raises(DatabaseError) as raised:
        Database(Recording(refused)).status("pg-1")
    error = raised.value
    assert (error.member, error.code, error.argv[0], error.unreachable) == ("pg-1", 2, "psql", True)
    assert str(error) == ('psql on pg-1 failed: exit code 2: psql: error: connection to server at '
                          '"127.0.0.1", port 5432 failed: Connection refused')


def test_promote_that_did_not_finish_is_an_error():
    with pytest.raises(DatabaseError, match="did not finish in 60 s"):
        Database(Recording(Completed(0, "f\n", ""))).promote("pg-2")


def test_the_candidate_is_the_reachable_standby_that_replayed_the_most():
    statuses = {
        "pg-1": None,  # the dead primary
        "pg-2": MemberStatus(True, 0x3000100, 1),
        "pg-3": MemberStatus(True, 0x3000148, 1),
        "pg-4": MemberStatus(False, 0x9000000, 1),  # not a standby: an old primary back up
    }
    assert database.choose_candidate(statuses) == "pg-3"


def test_a_tie_goes_to_the_lowest_member_number_and_no_standby_means_no_candidate():
    tie = {"pg-10": MemberStatus(True, 5, 2), "pg-9": MemberStatus(True, 5, 2)}
    assert database.choose_candidate(tie) == "pg-9"
    assert database.choose_candidate({"pg-1": None}) is None
    assert database.choose_candidate({}) is None
