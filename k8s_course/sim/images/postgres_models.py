"""PostgreSQL as chapter 3 observes it: a server with a WAL, streaming replicas, promotion.

The stock `postgres` image, modelled far enough that the operator (exec'ing psql,
pg_basebackup, pg_isready into the member pods) and the write-load generator behave on the
simulator as they do on kind. What is modelled:

- **The data directory** (`DataDirectory`): tables, the WAL, the timeline and its history,
  the last checkpoint. It belongs to the directory `$PGDATA` is in (on a claim's disk: the
  kubelet gives a PersistentVolumeClaim the same `files.Volume` every time, see `sim.disks`),
  so it survives the container and the pod, and a new pod on the same claim finds it. The
  settings are the files: `postgresql.conf`, `postgresql.auto.conf` (what ALTER SYSTEM
  writes), `pg_hba.conf`, `standby.signal`, `PG_VERSION`.
- **The server** (`docker-entrypoint.sh postgres -c cluster_name=... -c ...`): without
  `PG_VERSION`, the entrypoint's initdb (its log lines; INIT_SECONDS), the
  `/docker-entrypoint-initdb.d/*.sh` scripts through the simulated shell (and `*.sql` through
  the SQL engine) on a server listening on the unix socket only; then the server starts
  (STARTUP_SECONDS: `pg_isready` says "rejecting connections" meanwhile) as a primary, or as a
  standby of `primary_conninfo`'s host when `standby.signal` is there. It listens on 5432 on
  the pod IP, localhost and the unix socket. SIGTERM is a fast shutdown (exit 0); a killed
  server comes back with crash recovery.
- **The WAL**: LSNs start where a fresh initdb leaves them (INITDB_LSN, 0/152xxxx) and grow by
  a record's size per write (RECORD_SIZES); a base backup ends with a switch to the next 16 MiB
  segment, as pg_basebackup's does (so the second member's clone puts the primary at
  0/3000000-ish, as on kind).
- **Streaming replication**: a standby connects to its upstream over the simulated network
  (its name resolved through the pod's DNS; refused when nothing listens, a connect timeout of
  CONNECT_TIMEOUT when the upstream's node is cut off) and receives each record NETWORK_DELAY
  after it was written; it writes, flushes and replays it at once (so replay lag is the network
  delay), and its flush position reaches the upstream NETWORK_DELAY later. It shows in the
  upstream's `pg_stat_replication` with application_name = its cluster_name and
  sync_state async / sync / potential / quorum from `synchronous_standby_names`. A stream over
  a cut link holds its records and is dropped after REPLICATION_TIMEOUT (checked every
  KEEPALIVE_SECONDS); a dropped or refused standby retries every RETRY_SECONDS.
- **Commits**: asynchronous ones are acknowledged at once; with `synchronous_standby_names`
  a commit waits until enough named standbys flushed it (FIRST n / ANY n), and hangs while
  none is connected, as the real one does. A fast shutdown sends what is in flight before it
  closes its streams; a killed server, or one whose node is cut off, loses it: a standby keeps
  only what it received.
- `pg_promote()` ends recovery after PROMOTE_SECONDS: a new timeline (one more than the
  highest known), standby.signal removed. A standby re-pointed with ALTER SYSTEM SET
  primary_conninfo + pg_reload_conf() restarts its WAL receiver and follows the new timeline,
  unless it had received WAL past the fork point (then it cannot, as in PostgreSQL, and says
  so every RETRY_SECONDS). An old primary that comes back starts as a primary on its old
  timeline.
- **SQL** (`Session.execute`): the statements of the chapter's contract (operator and app),
  plus a small honest subset around them: SELECT with expressions, CASE, COALESCE, casts,
  scalar subqueries, count/max/min/sum/avg, WHERE, ORDER BY, LIMIT over tables and
  pg_stat_replication, pg_stat_wal_receiver, pg_control_checkpoint(), pg_database; CREATE
  TABLE, INSERT, DROP TABLE, TRUNCATE, ALTER SYSTEM SET/RESET, SHOW, SET, CHECKPOINT,
  BEGIN/COMMIT. Errors are worded as PostgreSQL words them; other SQL commands say they are not
  modelled, and anything else is a syntax error at its first word.
- **Programs** of the image: `psql` (-U -d -h -p -X -q -t -A -c... -v -f, stdin; aligned output
  with header and "(N rows)" without -A), `pg_isready`, `pg_basebackup` (-R writes
  standby.signal and primary_conninfo), `pg_dumpall` (a plain SQL dump), `postgres` and
  `docker-entrypoint.sh`, all through the simulated shell (so `sh -c "until ...; exec
  docker-entrypoint.sh postgres ..."` works). `python /app/pg_writer.py` runs the course's
  write-load generator's own core over `connect()`.

Not modelled: transactions (every statement commits on its own; ROLLBACK is refused), MVCC
and locks, passwords (md5/scram lines accept whoever has PGPASSWORD), replication slots,
cascading timelines beyond following a promotion, pg_rewind, WAL archiving, crash of a single
backend. A row is visible on the primary as soon as it is written (a real one shows it when
the synchronous wait is over). Client queries cost no simulated time; only replication does.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import posixpath
import re
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone

from k8s_course.sim.images import base, models
from k8s_course.sim.images.shell_io import BUSYBOX, DEBIAN

PORT = 5432
SOCKET_DIR = "/var/run/postgresql"
DEFAULT_PGDATA = "/var/lib/postgresql/data"
INITDB_DIR = "/docker-entrypoint-initdb.d"
ENTRYPOINT = "/usr/local/bin/docker-entrypoint.sh"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
SEGMENT = 16 * 1024 * 1024  # wal_segment_size
SEGMENTS_PER_ID = 0x1_0000_0000 // SEGMENT

# simulated seconds
INIT_SECONDS = 2.5  # initdb and the entrypoint's temporary server
STARTUP_SECONDS = 0.5  # from the postmaster's start to accepting connections
NETWORK_DELAY = 0.002  # one way, pod to pod: a WAL record's trip, and its flush reply's
PROMOTE_SECONDS = 0.1  # pg_promote(): the end of recovery
BASEBACKUP_SECONDS = 1.0  # pg_basebackup -c fast of a course-sized database
RETRY_SECONDS = 5.0  # wal_retrieve_retry_interval
REPLICATION_TIMEOUT = 60.0  # wal_receiver_timeout / wal_sender_timeout
KEEPALIVE_SECONDS = 10.0  # how often a stream checks its link (wal_receiver_status_interval)
CONNECT_TIMEOUT = 127.0  # libpq without connect_timeout: the kernel's SYN retries
CHECKPOINT_SECONDS = 300.0  # checkpoint_timeout: when the checkpoint promotion requests is done

# the WAL
INITDB_LSN = 0x0152_5E28  # where a fresh initdb leaves pg_current_wal_lsn()
RECORD_SIZES = {"insert": 0xC0, "create": 0x3A8, "drop": 0x1F0, "truncate": 0x120,
                "checkpoint": 0x98, "end_of_recovery": 0x28, "backup_end": 0x38}

VERSIONS = {"17": "17.2", "16": "16.6", "15": "15.10", "14": "14.15", "13": "13.18", "12": "12.22"}
DEFAULT_VERSION = "17.2"

REFUSED = "Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
TIMED_OUT = "Connection timed out\n\tIs the server running on that host and accepting TCP/IP connections?"
LOST = ("server closed the connection unexpectedly\n\tThis probably means the server terminated "
        "abnormally\n\tbefore or while processing the request.")
TERMINATED = "FATAL:  terminating connection due to administrator command"
NOT_MODELLED = ('k8s-course simulator: "{what}" is not modelled by the simulated PostgreSQL '
                "(see docs); run this lesson on kind to use it")
AUTO_CONF_HEADER = ("# Do not edit this file manually!\n"
                    "# It will be overwritten by the ALTER SYSTEM command.\n")

# the settings SHOW, current_setting() and ALTER SYSTEM know, with their defaults
SETTINGS = {
    "primary_conninfo": "", "synchronous_standby_names": "", "synchronous_commit": "on",
    "cluster_name": "", "wal_log_hints": "off", "max_wal_senders": "10", "wal_level": "replica",
    "hot_standby": "on", "listen_addresses": "localhost", "port": "5432", "max_connections": "100",
    "shared_buffers": "128MB", "wal_keep_size": "0", "wal_sender_timeout": "1min",
    "wal_receiver_timeout": "1min", "log_checkpoints": "on", "work_mem": "4MB",
    "checkpoint_timeout": "5min", "wal_retrieve_retry_interval": "5s",
    "recovery_target_timeline": "latest", "primary_slot_name": "", "statement_timeout": "0",
    "application_name": "", "timezone": "Etc/UTC", "log_statement": "none",
    "max_replication_slots": "10", "full_page_writes": "on", "archive_mode": "off",
    "data_checksums": "off", "server_encoding": "UTF8", "client_encoding": "UTF8",
    "default_transaction_read_only": "off", "transaction_read_only": "off",
}
RESTART_ONLY = {"cluster_name", "listen_addresses", "port", "max_connections", "shared_buffers",
                "wal_level", "max_wal_senders", "hot_standby", "wal_log_hints",
                "max_replication_slots", "archive_mode"}


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


class Lsn(int):
    """A pg_lsn: printed as the high and low 32 bits in hex."""

    def __str__(self) -> str:
        return format_lsn(self)


class Stamp(float):
    """A timestamptz (seconds since the epoch), printed as PostgreSQL prints one in UTC."""

    def __str__(self) -> str:
        moment = datetime.fromtimestamp(float(self), tz=timezone.utc)
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        if moment.microsecond:
            text += f".{moment.microsecond:06d}".rstrip("0")
        return text + "+00"


class Bits(str):
    """A bit string (`'x0000000F'::bit(32)`)."""


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    match = re.fullmatch(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})", text.strip())
    if not match:
        raise SqlError(f'invalid input syntax for type pg_lsn: "{text}"')
    return int(match.group(1), 16) << 32 | int(match.group(2), 16)


def render(value) -> str:
    """A value as psql prints it: NULL empty, booleans t/f."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, (bool, Lsn, Stamp))


def wal_file_name(timeline: int, lsn: int) -> str:
    """pg_walfile_name(): the segment holding the byte before `lsn` (a boundary is the end)."""
    segment = max(lsn - 1, 0) // SEGMENT
    return f"{timeline:08X}{segment // SEGMENTS_PER_ID:08X}{segment % SEGMENTS_PER_ID:08X}"


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class SqlError(Exception):
    """An error the server reports: psql prints `ERROR:  message` (+ LINE, DETAIL, HINT)."""

    def __init__(self, message: str, detail: str = "", hint: str = "", position: int | None = None,
                 severity: str = "ERROR"):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position  # 0-based offset in the statement text
        self.severity = severity
        self.results: list[Result] = []  # of the statements before it in the same query

    def text(self, query: str = "") -> str:
        lines = [f"{self.severity}:  {self.message}"]
        if self.position is not None and query:
            start = query.rfind("\n", 0, self.position) + 1
            end = query.find("\n", self.position)
            number = query.count("\n", 0, self.position) + 1
            prefix = f"LINE {number}: "
            lines.append(prefix + query[start:end if end >= 0 else len(query)])
            lines.append(" " * (len(prefix) + self.position - start) + "^")
        if self.detail:
            lines.append(f"DETAIL:  {self.detail}")
        if self.hint:
            lines.append(f"HINT:  {self.hint}")
        return "\n".join(lines) + "\n"


class ConnectFailure(Exception):
    """A connection that could not be made; `str()` is libpq's message."""


class ConnectionLost(Exception):
    """The server went away while a query ran (terminated, killed)."""


def _read_only(command: str) -> SqlError:
    return SqlError(f"cannot execute {command} in a read-only transaction")


def _not_modelled(what: str) -> SqlError:
    return SqlError(NOT_MODELLED.format(what=what))


# ---------------------------------------------------------------------------------------------
# SQL: tokens and the parser
# ---------------------------------------------------------------------------------------------

_TOKENS = re.compile(r"""
    (?P<space>\s+|--[^\n]*)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>[Ee]?'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<op>::|<=|>=|<>|!=|\|\||[(),;*=<>+\-./%\[\]])
""", re.X)

RESERVED = {"SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "AS", "AND", "OR", "NOT", "CASE",
            "WHEN", "THEN", "ELSE", "END", "IS", "NULL", "TRUE", "FALSE", "ASC", "DESC", "VALUES",
            "INTO", "GROUP", "HAVING", "OFFSET", "UNION", "ON", "JOIN"}
NOT_MODELLED_COMMANDS = {"UPDATE", "DELETE", "GRANT", "REVOKE", "VACUUM", "ANALYZE", "COPY",
                         "EXPLAIN", "WITH", "LISTEN", "NOTIFY", "RESET", "DO", "CALL", "PREPARE",
                         "EXECUTE", "LOCK", "COMMENT", "REINDEX", "CLUSTER", "DISCARD", "DECLARE",
                         "FETCH", "MOVE", "CLOSE", "SAVEPOINT", "RELEASE", "ROLLBACK", "ABORT",
                         "MERGE", "REFRESH", "SECURITY", "IMPORT", "LOAD", "UNLISTEN", "TABLE"}
AGGREGATES = {"count", "max", "min", "sum", "avg"}
TYPES = {
    "bigint": "bigint", "int8": "bigint", "integer": "integer", "int": "integer", "int4": "integer",
    "smallint": "smallint", "int2": "smallint", "text": "text", "varchar": "text",
    "character": "text", "char": "text", "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone", "boolean": "boolean", "bool": "boolean",
    "numeric": "numeric", "decimal": "numeric", "real": "real", "float4": "real",
    "float8": "double precision", "double": "double precision", "float": "double precision",
    "bit": "bit", "pg_lsn": "pg_lsn", "serial": "integer", "bigserial": "bigint",
}
INTEGER_TYPES = {"bigint", "integer", "smallint"}


@dataclass
class Token:
    kind: str
    text: str
    position: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKENS.match(text, position)
        if match is None:
            if text[position] in "'\"":
                raise SqlError(f"unterminated quoted {'string' if text[position] == chr(39) else 'identifier'}"
                               f" at or near \"{text[position:]}\"", position=position)
            raise SqlError(f'syntax error at or near "{text[position]}"', position=position)
        kind = match.lastgroup
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


@dataclass
class Select:
    items: list  # (expression, alias) or ("star", None)
    source: tuple | None  # (name, is_function, position)
    where: tuple | None = None
    order: list = field(default_factory=list)  # (expression, descending)
    limit: int | None = None


@dataclass
class Statement:
    kind: str  # select, insert, create, drop, truncate, alter_system, show, set, checkpoint, ...
    text: str  # the statement's own text (for LINE in errors)
    node: object = None
    offset: int = 0  # where it starts in the query


class Parser:
    """Recursive descent over one statement's tokens."""

    def __init__(self, tokens: list[Token], text: str):
        self.tokens = tokens
        self.index = 0
        self.text = text

    # tokens

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.index + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise SqlError("syntax error at end of input", position=len(self.text.rstrip()))
        self.index += 1
        return token

    def error(self, token: Token | None = None) -> SqlError:
        token = token or self.peek()
        if token is None:
            return SqlError("syntax error at end of input", position=len(self.text.rstrip()))
        return SqlError(f'syntax error at or near "{token.text}"', position=token.position)

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.upper in words

    def accept_word(self, *words: str) -> str | None:
        if self.at_word(*words):
            return self.next().upper
        return None

    def expect_word(self, *words: str) -> str:
        if not self.at_word(*words):
            raise self.error()
        return self.next().upper

    def at_op(self, op: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.text == op

    def accept_op(self, op: str) -> bool:
        if self.at_op(op):
            self.index += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise self.error()

    def identifier(self) -> tuple[str, int]:
        token = self.next()
        if token.kind == "quoted":
            return token.text[1:-1].replace('""', '"'), token.position
        if token.kind != "word" or token.upper in RESERVED:
            raise self.error(token)
        return token.text.lower(), token.position

    def done(self) -> None:
        if self.peek() is not None:
            raise self.error()

    # expressions

    def expression(self):
        left = self._and()
        while self.accept_word("OR"):
            left = ("or", left, self._and())
        return left

    def _and(self):
        left = self._not()
        while self.accept_word("AND"):
            left = ("and", left, self._not())
        return left

    def _not(self):
        if self.accept_word("NOT"):
            return ("not", self._not())
        return self._comparison()

    def _comparison(self):
        left = self._concat()
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in ("=", "<>", "!=", "<", ">", "<=", ">="):
            self.index += 1
            return ("cmp", token.text, left, self._concat())
        if self.accept_word("IS"):
            negated = bool(self.accept_word("NOT"))
            if self.accept_word("NULL"):
                return ("isnull", left, negated)
            value = self.expect_word("TRUE", "FALSE")
            return ("istrue", left, value == "TRUE", negated)
        return left

    def _concat(self):
        left = self._sum()
        while self.accept_op("||"):
            left = ("concat", left, self._sum())
        return left

    def _sum(self):
        left = self._product()
        while self.at_op("+") or self.at_op("-"):
            op = self.next().text
            left = ("arith", op, left, self._product())
        return left

    def _product(self):
        left = self._unary()
        while self.at_op("*") or self.at_op("/") or self.at_op("%"):
            op = self.next().text
            left = ("arith", op, left, self._unary())
        return left

    def _unary(self):
        if self.accept_op("-"):
            return ("arith", "-", ("lit", 0), self._unary())
        node = self._primary()
        while self.accept_op("::"):
            node = ("cast", node, self.type_name())
        return node

    def type_name(self) -> str:
        token = self.next()
        if token.kind != "word":
            raise self.error(token)
        name = token.text.lower()
        if name == "double":
            self.accept_word("PRECISION")
        elif name in ("character", "char") and self.accept_word("VARYING"):
            name = "varchar"
        elif name in ("timestamp", "time") and self.at_word("WITH", "WITHOUT"):
            with_zone = self.next().upper == "WITH"
            self.expect_word("TIME")
            self.expect_word("ZONE")
            name = "timestamptz" if with_zone else "timestamp"
        if self.accept_op("("):
            self.next()
            while self.accept_op(","):
                self.next()
            self.expect_op(")")
        if name not in TYPES:
            raise SqlError(f'type "{name}" does not exist', position=token.position)
        return TYPES[name]

    def _primary(self):
        token = self.next()
        if token.kind == "number":
            return ("lit", float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            body = token.text[token.text.index("'") + 1:-1]
            return ("lit", body.replace("''", "'"))
        if token.kind == "quoted":
            return ("col", token.text[1:-1].replace('""', '"'), token.position)
        if token.kind == "op" and token.text == "(":
            if self.at_word("SELECT"):
                inner = self.select()
                self.expect_op(")")
                return ("sub", inner)
            inner = self.expression()
            self.expect_op(")")
            return inner
        if token.kind != "word":
            raise self.error(token)
        word = token.upper
        if word in ("TRUE", "FALSE"):
            return ("lit", word == "TRUE")
        if word == "NULL":
            return ("lit", None)
        if word == "CASE":
            return self._case()
        if word in ("CURRENT_TIMESTAMP", "CURRENT_USER", "SESSION_USER", "CURRENT_DATABASE",
                    "LOCALTIMESTAMP", "USER") and not self.at_op("("):
            return ("fn", word.lower(), [], token.position)
        if word in RESERVED:
            raise self.error(token)
        if self.accept_op("("):
            args = []
            if self.accept_op("*"):
                args.append(("star",))
            elif not self.at_op(")"):
                args.append(self.expression())
                while self.accept_op(","):
                    args.append(self.expression())
            self.expect_op(")")
            return ("fn", token.text.lower(), args, token.position)
        name = token.text.lower()
        while self.accept_op("."):  # schema.table.column: the column is what counts here
            name = self.identifier()[0]
        return ("col", name, token.position)

    def _case(self):
        subject = None if self.at_word("WHEN") else self.expression()
        branches = []
        while self.accept_word("WHEN"):
            condition = self.expression()
            self.expect_word("THEN")
            branches.append((condition, self.expression()))
        if not branches:
            raise self.error()
        otherwise = self.expression() if self.accept_word("ELSE") else ("lit", None)
        self.expect_word("END")
        return ("case", subject, branches, otherwise)

    # statements

    def select(self) -> Select:
        self.expect_word("SELECT")
        items = []
        while True:
            if self.accept_op("*"):
                items.append((("star",), None))
            else:
                node = self.expression()
                alias = None
                if self.accept_word("AS"):
                    alias = self.identifier()[0]
                elif self.peek() is not None and self.peek().kind in ("word", "quoted") and \
                        self.peek().upper not in RESERVED:
                    alias = self.identifier()[0]
                items.append((node, alias))
            if not self.accept_op(","):
                break
        source = None
        if self.accept_word("FROM"):
            name, position = self.identifier()
            while self.accept_op("."):
                name, position = self.identifier()
            is_function = False
            if self.accept_op("("):
                self.expect_op(")")
                is_function = True
            if self.peek() is not None and self.peek().kind == "word" and self.peek().upper not in RESERVED:
                self.identifier()  # a table alias
            source = (name, is_function, position)
        query = Select(items, source)
        if self.accept_word("WHERE"):
            query.where = self.expression()
        if self.accept_word("GROUP", "HAVING", "UNION", "OFFSET", "JOIN"):
            raise _not_modelled(self.tokens[self.index - 1].upper)
        if self.accept_word("ORDER"):
            self.expect_word("BY")
            while True:
                node = self.expression()
                descending = self.accept_word("ASC", "DESC") == "DESC"
                query.order.append((node, descending))
                if not self.accept_op(","):
                    break
        if self.accept_word("LIMIT"):
            token = self.next()
            if token.kind != "number":
                raise self.error(token)
            query.limit = int(token.text)
        return query


def parse_query(text: str) -> list[Statement]:
    """A query string (one psql -c, one simple Query message) -> its statements, or SqlError.

    PostgreSQL parses the whole string first: a syntax error anywhere runs nothing."""
    tokens = tokenize(text)
    statements, current = [], []
    for token in [*tokens, None]:
        if token is None or (token.kind == "op" and token.text == ";"):
            if current:
                statements.append(_statement(current, text))
            current = []
        else:
            current.append(token)
    return statements


def _statement(tokens: list[Token], text: str) -> Statement:
    parser = Parser(tokens, text)
    first = tokens[0]
    word = first.upper
    offset = first.position
    end = tokens[-1].position + len(tokens[-1].text)
    statement = Statement(word.lower(), text, None, offset)
    statement.text = text  # positions are offsets in the whole query, as PostgreSQL counts them
    del end
    if word == "SELECT":
        statement.node = parser.select()
    elif word == "INSERT":
        statement.node = _insert(parser)
    elif word == "CREATE":
        parser.next()
        if not parser.at_word("TABLE", "UNLOGGED"):
            raise _not_modelled("CREATE " + (parser.peek().text.upper() if parser.peek() else ""))
        parser.accept_word("UNLOGGED")
        statement.node = _create_table(parser)
    elif word == "DROP":
        parser.next()
        if not parser.accept_word("TABLE"):
            raise _not_modelled("DROP " + (parser.peek().text.upper() if parser.peek() else ""))
        if_exists = bool(parser.accept_word("IF"))
        if if_exists:
            parser.expect_word("EXISTS")
        names = [parser.identifier()[0]]
        while parser.accept_op(","):
            names.append(parser.identifier()[0])
        statement.node = (names, if_exists)
    elif word == "TRUNCATE":
        parser.next()
        parser.accept_word("TABLE")
        name, position = parser.identifier()
        statement.node = (name, position)
    elif word == "ALTER":
        parser.next()
        if not parser.accept_word("SYSTEM"):
            raise _not_modelled("ALTER " + (parser.peek().text.upper() if parser.peek() else ""))
        statement.kind = "alter_system"
        statement.node = _alter_system(parser)
    elif word == "SHOW":
        parser.next()
        statement.node = _setting_name(parser)
    elif word == "SET":
        parser.next()
        parser.accept_word("SESSION", "LOCAL")
        name = _setting_name(parser)
        if not (parser.accept_op("=") or parser.accept_word("TO")):
            raise parser.error()
        statement.node = (name, _setting_value(parser))
    elif word in ("CHECKPOINT", "BEGIN", "COMMIT", "END", "START"):
        parser.next()
        if word == "START":
            parser.expect_word("TRANSACTION")
        else:
            parser.accept_word("TRANSACTION", "WORK")
        statement.kind = {"end": "commit", "start": "begin"}.get(word.lower(), word.lower())
    elif word in NOT_MODELLED_COMMANDS:
        raise _not_modelled(word)
    else:
        raise parser.error(first)
    parser.done()
    return statement


def _insert(parser: Parser):
    parser.expect_word("INSERT")
    parser.expect_word("INTO")
    table, position = parser.identifier()
    while parser.accept_op("."):
        table, position = parser.identifier()
    columns = None
    if parser.accept_op("("):
        columns = [parser.identifier()]
        while parser.accept_op(","):
            columns.append(parser.identifier())
        parser.expect_op(")")
    if parser.at_word("SELECT", "DEFAULT"):
        raise _not_modelled("INSERT ... " + parser.peek().text.upper())
    parser.expect_word("VALUES")
    rows = []
    while True:
        parser.expect_op("(")
        values = [parser.expression()]
        while parser.accept_op(","):
            values.append(parser.expression())
        parser.expect_op(")")
        rows.append(values)
        if not parser.accept_op(","):
            break
    if parser.at_word("ON", "RETURNING"):
        raise _not_modelled("INSERT ... " + parser.peek().text.upper())
    return table, position, columns, rows


@dataclass
class Column:
    name: str
    type: str
    not_null: bool = False
    default: tuple | None = None


@dataclass
class TableDef:
    name: str
    columns: list[Column]
    primary_key: str | None


def _create_table(parser: Parser):
    parser.expect_word("TABLE")
    if_not_exists = False
    if parser.accept_word("IF"):
        parser.expect_word("NOT")
        parser.expect_word("EXISTS")
        if_not_exists = True
    name, position = parser.identifier()
    while parser.accept_op("."):
        name, position = parser.identifier()
    parser.expect_op("(")
    columns, primary_key = [], None
    while True:
        if parser.accept_word("PRIMARY"):
            parser.expect_word("KEY")
            parser.expect_op("(")
            primary_key = parser.identifier()[0]
            parser.expect_op(")")
        else:
            column_name, _ = parser.identifier()
            column = Column(column_name, parser.type_name())
            while True:
                if parser.accept_word("PRIMARY"):
                    parser.expect_word("KEY")
                    primary_key, column.not_null = column_name, True
                elif parser.accept_word("NOT"):
                    parser.expect_word("NULL")
                    column.not_null = True
                elif parser.accept_word("NULL"):
                    column.not_null = False
                elif parser.accept_word("DEFAULT"):
                    column.default = parser._unary()
                elif parser.accept_word("UNIQUE"):
                    pass
                else:
                    break
            columns.append(column)
        if not parser.accept_op(","):
            break
    parser.expect_op(")")
    for column in columns:
        if column.name == primary_key:
            column.not_null = True
    return TableDef(name, columns, primary_key), if_not_exists, position


def _setting_name(parser: Parser) -> str:
    token = parser.next()
    if token.kind not in ("word", "quoted"):
        raise parser.error(token)
    name = token.text.strip('"').lower()
    while parser.accept_op("."):
        name += "." + parser.next().text.lower()
    return name


def _setting_value(parser: Parser) -> str | None:
    """A setting's value as ALTER SYSTEM / SET take it: 'text', a number, a word, a list."""
    if parser.accept_word("DEFAULT"):
        return None
    parts = []
    while True:
        token = parser.next()
        if token.kind == "string":
            parts.append(token.text[token.text.index("'") + 1:-1].replace("''", "'"))
        elif token.kind in ("number", "word"):
            parts.append(token.text)
        elif token.kind == "op" and token.text == "-":
            parts.append("-" + parser.next().text)
        else:
            raise parser.error(token)
        if not parser.accept_op(","):
            break
    return ", ".join(parts)


def _alter_system(parser: Parser):
    if parser.accept_word("RESET"):
        if parser.accept_word("ALL"):
            return ("reset_all", None, None)
        return ("reset", _setting_name(parser), None)
    parser.expect_word("SET")
    name = _setting_name(parser)
    if not (parser.accept_op("=") or parser.accept_word("TO")):
        raise parser.error()
    return ("set", name, _setting_value(parser))


# ---------------------------------------------------------------------------------------------
# synchronous_standby_names, conninfo, config files, pg_hba.conf
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRule:
    method: str  # "first" or "any"; "" when no standby is synchronous
    count: int
    names: tuple[str, ...]


def parse_sync_names(text: str) -> SyncRule:
    """`ANY 1 ("pg-2", "pg-3")`, `FIRST 2 (a, b)`, `2 (a, b)`, `a, b`, `*`; ValueError if not."""
    text = text.strip()
    if not text:
        return SyncRule("", 0, ())
    match = re.fullmatch(r"(?:(ANY|FIRST)\s+)?(\d+)\s*\((.*)\)", text, re.I | re.S)
    if match:
        method, count, body = (match.group(1) or "FIRST").lower(), int(match.group(2)), match.group(3)
    elif "(" in text:
        raise ValueError(text)
    else:
        method, count, body = "first", 1, text
    names = []
    for part in _split_names(body):
        if not part:
            raise ValueError(text)
        names.append(part)
    if count < 1:
        raise ValueError(text)
    return SyncRule(method, count, tuple(names))


def _split_names(body: str) -> list[str]:
    names, current, quoted, index = [], "", False, 0
    while index < len(body):
        char = body[index]
        if char == '"':
            if quoted and body[index + 1:index + 2] == '"':
                current += '"'
                index += 1
            else:
                quoted = not quoted
        elif char == "," and not quoted:
            names.append(current.strip())
            current = ""
        else:
            current += char if quoted else char.lower()
        index += 1
    names.append(current.strip())
    return names


def parse_conninfo(text: str) -> dict[str, str]:
    """libpq's `key=value key='quoted value'` string."""
    found, index = {}, 0
    while index < len(text):
        match = re.compile(r"\s*([A-Za-z_]+)\s*=\s*").match(text, index)
        if match is None:
            break
        key, index = match.group(1), match.end()
        value = ""
        if text[index:index + 1] == "'":
            index += 1
            while index < len(text) and text[index] != "'":
                if text[index] == "\\" and index + 1 < len(text):
                    index += 1
                value += text[index]
                index += 1
            index += 1
        else:
            while index < len(text) and not text[index].isspace():
                value += text[index]
                index += 1
        found[key] = value
    return found


def read_config(text: str) -> dict[str, str]:
    """postgresql.conf / postgresql.auto.conf: `name = value`, values optionally 'quoted'."""
    settings = {}
    for line in text.splitlines():
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*('(?:[^']|'')*'|[^#\s]*)", line)
        if not match or line.lstrip().startswith("#"):
            continue
        value = match.group(2)
        if value.startswith("'"):
            value = value[1:-1].replace("''", "'")
        settings[match.group(1).lower()] = value
    return settings


def write_auto_conf(settings: dict[str, str]) -> str:
    return AUTO_CONF_HEADER + "".join(
        f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n" for name, value in settings.items())


def hba_decision(text: str, local: bool, database: str, user: str, client_ip: str | None,
                 replication: bool) -> str | None:
    """The METHOD of pg_hba.conf's first line matching this connection (None: no line does)."""
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 4:
            continue
        kind, databases, users = fields[0], fields[1].split(","), fields[2].split(",")
        if (kind == "local") != local or kind not in ("local", "host", "hostssl", "hostnossl"):
            continue
        if kind == "hostssl":
            continue  # the course's connections are not encrypted
        if replication:
            if "replication" not in databases:
                continue
        elif not ({"all", database} & set(databases)):
            continue
        if not ({"all", user} & set(users)):
            continue
        if local:
            return fields[3]
        if len(fields) < 5:
            continue
        address = fields[3]
        method = fields[4]
        if address not in ("all", "samehost", "samenet"):
            try:
                if "/" not in address and len(fields) >= 6:  # address + netmask
                    network = ipaddress.ip_network(f"{address}/{fields[4]}", strict=False)
                    method = fields[5]
                else:
                    network = ipaddress.ip_network(address, strict=False)
                if ipaddress.ip_address(client_ip or "127.0.0.1") not in network:
                    continue
            except ValueError:
                continue
        return method
    return None


# ---------------------------------------------------------------------------------------------
# The data directory: tables, WAL, timelines
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    end: int  # the LSN after this record
    timeline: int
    op: tuple  # what replaying it does to the tables


class Table:
    def __init__(self, definition: TableDef):
        self.definition = definition
        self.rows: list[dict] = []
        self.keys: set = set()

    def copy(self) -> Table:
        twin = Table(self.definition)
        twin.rows = list(self.rows)
        twin.keys = set(self.keys)
        return twin


class DataDirectory:
    """What lives in $PGDATA besides its files: tables, the WAL, the timeline history."""

    def __init__(self, lsn: int = INITDB_LSN, timeline: int = 1, now: float = 0.0):
        self.system_identifier = 7_000_000_000_000_000_000 + int(now * 1000) % 10**15
        self.timeline = timeline
        self.history: list[tuple[int, int]] = []  # (an ended timeline, the LSN where it ended)
        self.records: list[Record] = []
        self.start_lsn = lsn  # before the first record kept here
        self.lsn = lsn
        self.tables: dict[str, Table] = {}
        self.checkpoint_lsn = lsn
        self.checkpoint_timeline = timeline
        self.checkpoint_time = now
        self.clean = True  # shut down cleanly (False: crash recovery at the next start)
        self.server: PostgresServer | None = None  # the postmaster running on it, if any

    def copy(self) -> DataDirectory:
        """A base backup of it."""
        twin = DataDirectory.__new__(DataDirectory)
        twin.__dict__.update(self.__dict__)
        twin.history = list(self.history)
        twin.records = list(self.records)
        twin.tables = {name: table.copy() for name, table in self.tables.items()}
        twin.clean = True
        twin.server = None
        return twin

    # writing

    def append(self, op: tuple, size: int | None = None) -> int:
        self.lsn += size if size is not None else RECORD_SIZES[op[0]]
        self.records.append(Record(self.lsn, self.timeline, op))
        apply_op(self.tables, op)
        return self.lsn

    def switch_segment(self) -> None:
        """A WAL switch: the rest of the segment is skipped (pg_backup_stop, pg_switch_wal)."""
        self.append(("backup_end",))
        self.lsn = (self.lsn // SEGMENT + 1) * SEGMENT
        self.append(("checkpoint",))

    def records_after(self, lsn: int) -> list[Record]:
        """The records that end after `lsn` (binary search: ends increase)."""
        records = self.records
        low, high = 0, len(records)
        while low < high:
            middle = (low + high) // 2
            if records[middle].end <= lsn:
                low = middle + 1
            else:
                high = middle
        return records[low:]

    def receive(self, records: list[Record]) -> list[int]:
        """A standby writes, flushes and replays streamed records; the timelines it entered."""
        entered = []
        for record in records:
            if record.end <= self.lsn:
                continue
            if record.timeline != self.timeline:
                self.history.append((self.timeline, self.lsn))
                self.timeline = record.timeline
                entered.append(record.timeline)
            self.lsn = record.end
            self.records.append(record)
            apply_op(self.tables, record.op)
        return entered

    def promote(self) -> int:
        """End recovery: a new timeline, one above every timeline known."""
        new = max([self.timeline, *(t for t, _ in self.history)]) + 1
        self.history.append((self.timeline, self.lsn))
        self.timeline = new
        self.append(("end_of_recovery",))
        return new

    def fork_point(self, timeline: int) -> int | None:
        """Where `timeline` ended in this directory's history (None: it is current or unknown)."""
        for ended, lsn in self.history:
            if ended == timeline:
                return lsn
        return None

    def known_timelines(self) -> set[int]:
        return {self.timeline, *(t for t, _ in self.history)}

    def checkpoint(self, now: float) -> None:
        self.append(("checkpoint",))
        self.checkpoint_lsn, self.checkpoint_timeline, self.checkpoint_time = self.lsn, self.timeline, now


def apply_op(tables: dict[str, Table], op: tuple) -> None:
    kind = op[0]
    if kind == "create":
        tables[op[1].name] = Table(op[1])
    elif kind == "insert":
        table = tables.get(op[1])
        if table is not None:
            table.rows.append(op[2])
            key = table.definition.primary_key
            if key is not None:
                table.keys.add(op[2][key])
    elif kind == "drop":
        tables.pop(op[1], None)
    elif kind == "truncate":
        table = tables.get(op[1])
        if table is not None:
            table.rows, table.keys = [], set()


# which directory holds which DataDirectory: the Volume (a claim's disk, an emptyDir, a
# container's root) -> {path inside it: DataDirectory}; weak, so a deleted disk takes it along
_DIRECTORIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _location(files, path: str) -> tuple[object, str]:
    pod, container = getattr(files, "pod", None), getattr(files, "container", None)
    if pod is not None and hasattr(pod, "resolve"):
        volume, rel, _ = pod.resolve(container, path)
        return volume, rel
    return files, posixpath.normpath(path)


def directory_at(files, path: str) -> DataDirectory | None:
    owner, rel = _location(files, path)
    try:
        found = _DIRECTORIES.get(owner)
    except TypeError:
        found = getattr(owner, "postgres_directories", None)
    return (found or {}).get(rel)


def keep_directory(files, path: str, data: DataDirectory) -> None:
    owner, rel = _location(files, path)
    try:
        _DIRECTORIES.setdefault(owner, {})[rel] = data
    except TypeError:  # an owner that cannot be weakly referenced keeps it itself
        owner.postgres_directories = {rel: data}


# ---------------------------------------------------------------------------------------------
# Running statements
# ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple] | None  # None: a command (its tag is what psql prints)
    tag: str


VIEW_COLUMNS = {
    "pg_stat_replication": [
        "pid", "usesysid", "usename", "application_name", "client_addr", "client_hostname",
        "client_port", "backend_start", "backend_xmin", "state", "sent_lsn", "write_lsn",
        "flush_lsn", "replay_lsn", "write_lag", "flush_lag", "replay_lag", "sync_priority",
        "sync_state", "reply_time"],
    "pg_stat_wal_receiver": [
        "pid", "status", "receive_start_lsn", "receive_start_tli", "written_lsn", "flushed_lsn",
        "received_tli", "last_msg_send_time", "last_msg_receipt_time", "latest_end_lsn",
        "latest_end_time", "slot_name", "sender_host", "sender_port", "conninfo"],
    "pg_control_checkpoint": [
        "checkpoint_lsn", "redo_lsn", "redo_wal_file", "timeline_id", "prev_timeline_id",
        "full_page_writes", "next_xid", "checkpoint_time"],
    "pg_database": ["oid", "datname", "datallowconn"],
    "pg_settings": ["name", "setting"],
}


def _walk(node):
    """Every sub-expression of an expression tree (not entering subqueries)."""
    if isinstance(node, tuple) and node and isinstance(node[0], str):
        yield node
        if node[0] != "sub":
            for part in node[1:]:
                yield from _walk(part)
    elif isinstance(node, (list, tuple)):
        for part in node:
            yield from _walk(part)


def _contains_aggregate(node) -> bool:
    return any(part[0] == "fn" and part[1] in AGGREGATES for part in _walk(node))


def _first_column(node):
    return next((part for part in _walk(node) if part[0] == "col"), None)


def _column_name(node, alias: str | None) -> str:
    if alias:
        return alias
    kind = node[0]
    if kind == "col":
        return node[1]
    if kind == "fn":
        return {"current_timestamp": "current_timestamp", "user": "current_user"}.get(node[1], node[1])
    if kind == "case":
        return "case"
    if kind == "cast":
        inner = _column_name(node[1], None)
        if inner != "?column?":
            return inner
        return {"integer": "int4", "bigint": "int8", "smallint": "int2", "boolean": "bool",
                "double precision": "float8", "timestamp with time zone": "timestamptz"}.get(node[2], node[2])
    return "?column?"


def _type_of(value) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Lsn):
        return "pg_lsn"
    if isinstance(value, Stamp):
        return "timestamp with time zone"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "numeric"
    return "unknown" if not isinstance(value, Bits) else "bit"


def coerce(value, type_name: str):
    """A value into a column's (or a cast's) type, or the error PostgreSQL gives."""
    if value is None:
        return None
    if type_name in INTEGER_TYPES:
        if isinstance(value, Bits):
            number = int(value, 2) if value else 0
            width = len(value)
            return number - (1 << width) if width and number >> (width - 1) else number
        if isinstance(value, bool):
            raise SqlError(f"cannot cast type boolean to {type_name}")
        if isinstance(value, (int, float)) and not isinstance(value, Stamp):
            return int(round(value))
        try:
            return int(str(value).strip())
        except ValueError:
            raise SqlError(f'invalid input syntax for type {type_name}: "{value}"') from None
    if type_name == "text":
        return render(value)
    if type_name == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("t", "true", "yes", "on", "1", "y"):
            return True
        if text in ("f", "false", "no", "off", "0", "n"):
            return False
        raise SqlError(f'invalid input syntax for type boolean: "{value}"')
    if type_name in ("timestamp with time zone", "timestamp without time zone"):
        if isinstance(value, Stamp):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip().replace(" ", "T").replace("+00", "+00:00"))
        except ValueError:
            raise SqlError(f'invalid input syntax for type timestamp with time zone: "{value}"') from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return Stamp(moment.timestamp())
    if type_name == "bit":
        text = str(value)
        if text[:1] in ("x", "X"):
            try:
                return Bits("".join(f"{int(digit, 16):04b}" for digit in text[1:]))
            except ValueError:
                raise SqlError(f'"{text[1:]}" is not a valid hexadecimal digit') from None
        if set(text) - {"0", "1"}:
            raise SqlError(f'"{text}" is not a valid binary digit')
        return Bits(text)
    if type_name == "pg_lsn":
        return value if isinstance(value, Lsn) else Lsn(parse_lsn(str(value)))
    if type_name in ("numeric", "real", "double precision"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SqlError(f'invalid input syntax for type {type_name}: "{value}"') from None
        return int(number) if number.is_integer() and type_name == "numeric" else number
    return value


def _compare(op: str, left, right):
    if left is None or right is None:
        return None
    if isinstance(left, str) != isinstance(right, str):
        try:
            if isinstance(left, str):
                left = coerce(left, _type_of(right)) if _type_of(right) != "unknown" else left
            else:
                right = coerce(right, _type_of(left)) if _type_of(left) != "unknown" else right
        except SqlError:
            raise SqlError(f"operator does not exist: {_type_of(left)} {op} {_type_of(right)}") from None
    return {"=": left == right, "<>": left != right, "!=": left != right, "<": left < right,
            ">": left > right, "<=": left <= right, ">=": left >= right}[op]


class Evaluator:
    """Evaluates expressions and SELECTs for one session on one server."""

    def __init__(self, server: PostgresServer, session: Session):
        self.server = server
        self.session = session

    async def select(self, query: Select) -> Result:
        rows, source_columns = self.source(query.source)
        if query.where is not None:
            rows = [row for row in rows if await self.value(query.where, row) is True]
        items = []
        for node, alias in query.items:
            if node == ("star",):
                if query.source is None:
                    raise SqlError("SELECT * with no tables specified is not valid")
                items.extend((("col", name, 0), None) for name in source_columns)
            else:
                items.append((node, alias))
        names = [_column_name(node, alias) for node, alias in items]
        if any(_contains_aggregate(node) for node, _ in items):
            for node, _ in items:
                if not _contains_aggregate(node):
                    column = _first_column(node)
                    if column is not None:
                        raise SqlError(f'column "{column[1]}" must appear in the GROUP BY clause or be '
                                       "used in an aggregate function", position=column[2])
            first = rows[0] if rows else {}
            output = [tuple([await self.value(node, first, rows) for node, _ in items])]
        else:
            pairs = []
            for row in rows:
                pairs.append((row, tuple([await self.value(node, row) for node, _ in items])))
            for node, descending in reversed(query.order):
                keys = []
                for row, values in pairs:
                    keys.append(await self._order_key(node, row, values, names))
                order = sorted(range(len(pairs)), key=lambda i: _sort_key(keys[i], descending),
                               reverse=descending)
                pairs = [pairs[i] for i in order]
            output = [values for _, values in pairs]
        if query.limit is not None:
            output = output[:query.limit]
        return Result(names, output, f"SELECT {len(output)}")

    async def _order_key(self, node, row, values, names):
        if node[0] == "lit" and isinstance(node[1], int) and not isinstance(node[1], bool):
            if not 1 <= node[1] <= len(values):
                raise SqlError(f"ORDER BY position {node[1]} is not in select list")
            return values[node[1] - 1]
        if node[0] == "col" and node[1] in names and node[1] not in row:
            return values[names.index(node[1])]
        return await self.value(node, row)

    def source(self, source) -> tuple[list[dict], list[str]]:
        if source is None:
            return [{}], []
        name, is_function, position = source
        server = self.server
        if is_function:
            if name == "pg_control_checkpoint":
                return [server.checkpoint_row()], VIEW_COLUMNS[name]
            raise SqlError(f"function {name}() does not exist", position=position,
                           hint="No function matches the given name and argument types. You might "
                                "need to add explicit type casts.")
        table = server.data.tables.get(name)
        if table is not None:
            return table.rows, [column.name for column in table.definition.columns]
        if name == "pg_stat_replication":
            return server.replication_rows(), VIEW_COLUMNS[name]
        if name == "pg_stat_wal_receiver":
            return server.receiver_rows(), VIEW_COLUMNS[name]
        if name == "pg_database":
            return [{"oid": oid, "datname": db, "datallowconn": db != "template0"}
                    for oid, db in ((5, "postgres"), (1, "template1"), (4, "template0"))], VIEW_COLUMNS[name]
        if name == "pg_settings":
            return [{"name": key, "setting": value} for key, value in sorted(server.settings.items())], \
                VIEW_COLUMNS[name]
        raise SqlError(f'relation "{name}" does not exist', position=position)

    async def value(self, node, row: dict, group: list[dict] | None = None):
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "col":
            if row is not None and node[1] in row:
                return row[node[1]]
            raise SqlError(f'column "{node[1]}" does not exist', position=node[2])
        if kind == "fn":
            return await self.call(node, row, group)
        if kind == "case":
            subject = None if node[1] is None else await self.value(node[1], row, group)
            for condition, result in node[2]:
                test = await self.value(condition, row, group)
                if (test is True) if node[1] is None else (_compare("=", subject, test) is True):
                    return await self.value(result, row, group)
            return await self.value(node[3], row, group)
        if kind == "sub":
            result = await self.select(node[1])
            if len(result.columns) != 1:
                raise SqlError("subquery must return only one column")
            if len(result.rows) > 1:
                raise SqlError("more than one row returned by a subquery used as an expression")
            return result.rows[0][0] if result.rows else None
        if kind == "cmp":
            return _compare(node[1], await self.value(node[2], row, group), await self.value(node[3], row, group))
        if kind in ("and", "or"):
            left = await self.value(node[1], row, group)
            if kind == "and" and left is False or kind == "or" and left is True:
                return left
            right = await self.value(node[2], row, group)
            if kind == "and":
                return False if right is False else (None if None in (left, right) else True)
            return True if right is True else (None if None in (left, right) else False)
        if kind == "not":
            inner = await self.value(node[1], row, group)
            return None if inner is None else not inner
        if kind == "isnull":
            inner = await self.value(node[1], row, group)
            return (inner is not None) if node[2] else (inner is None)
        if kind == "istrue":
            inner = await self.value(node[1], row, group)
            return (inner is not node[2]) if node[3] else (inner is node[2])
        if kind == "concat":
            left, right = await self.value(node[1], row, group), await self.value(node[2], row, group)
            return None if left is None or right is None else render(left) + render(right)
        if kind == "arith":
            left, right = await self.value(node[2], row, group), await self.value(node[3], row, group)
            if left is None or right is None:
                return None
            if isinstance(left, str) or isinstance(right, str):
                left, right = coerce(left, "numeric"), coerce(right, "numeric")
            op = node[1]
            if op in ("/", "%") and right == 0:
                raise SqlError("division by zero")
            if op == "/":
                return left // right if isinstance(left, int) and isinstance(right, int) else left / right
            return {"+": left + right, "-": left - right, "*": left * right, "%": left % right}[op] \
                if op != "-" or not isinstance(left, Lsn) else int(left) - int(right)
        if kind == "cast":
            return coerce(await self.value(node[1], row, group), node[2])
        if kind == "star":
            raise SqlError('syntax error at or near "*"')
        raise SqlError(f"cannot evaluate {kind}")

    async def call(self, node, row, group):
        _, name, args, position = node
        server = self.server
        if name in AGGREGATES:
            if group is None:
                raise SqlError("aggregate functions are not allowed in WHERE", position=position)
            if name == "count" and args == [("star",)]:
                return len(group)
            if len(args) != 1:
                raise SqlError(f"function {name}() does not exist", position=position)
            values = [v for v in [await self.value(args[0], member) for member in group] if v is not None]
            if name == "count":
                return len(values)
            if not values:
                return None
            if name == "max":
                return max(values)
            if name == "min":
                return min(values)
            if name == "sum":
                return sum(values)
            total = sum(values) / len(values)
            return int(total) if float(total).is_integer() else round(total, 16)
        if name == "coalesce":
            for arg in args:
                found = await self.value(arg, row, group)
                if found is not None:
                    return found
            return None
        values = [await self.value(arg, row, group) for arg in args]
        return await server.function(name, values, position, self.session)


def _sort_key(value, descending: bool):
    # NULLS LAST ascending, NULLS FIRST descending (sorted() with reverse flips the tuple's first)
    if value is None:
        return (1, 0)
    return (0, value)


class Session:
    """One client connection to one server: statements in, results out."""

    def __init__(self, server: PostgresServer, client_ctx: base.ContainerContext | None,
                 user: str, database: str):
        self.server = server
        self.client_ctx = client_ctx
        self.user = user
        self.database = database
        self.settings: dict[str, str] = {}  # SET in this session
        self.notices: list[str] = []

    async def execute(self, sql: str) -> list[Result]:
        """Run one query string; SqlError (with .results of what ran before it), ConnectionLost."""
        server = self.server
        if server.state not in ("running", "init"):
            raise ConnectionLost(TERMINATED)
        if self.client_ctx is not None and not _path_open(self.client_ctx, server.ctx):
            await asyncio.get_running_loop().create_future()  # the packets go nowhere
        statements = parse_query(sql)
        results: list[Result] = []
        for statement in statements:
            try:
                results.append(await server.run_statement(statement, self))
            except SqlError as error:
                error.results = results
                raise
        return results


# ---------------------------------------------------------------------------------------------
# The servers of a cluster, and reaching one
# ---------------------------------------------------------------------------------------------


class PgServers:
    """The PostgreSQL servers listening in one cluster: (pod IP, port) -> server."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, int], PostgresServer] = {}

    def open(self, ip: str, port: int, server: PostgresServer) -> None:
        self._servers[(ip, port)] = server

    def close(self, ip: str, port: int, server: PostgresServer) -> None:
        if self._servers.get((ip, port)) is server:
            del self._servers[(ip, port)]

    def at(self, ip: str, port: int, tcp: bool = True) -> PostgresServer | None:
        server = self._servers.get((ip, port))
        if server is None or (tcp and not server.tcp):
            return None
        return server


_CLUSTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def servers_for(network) -> PgServers:
    """The PostgreSQL servers of the cluster `network` (a pod's Network) belongs to."""
    owner = getattr(network, "network", network)  # PodView -> the cluster's PodNetwork
    attached = getattr(owner, "pg_servers", None)
    if isinstance(attached, PgServers):
        return attached
    try:
        found = _CLUSTERS.get(owner)
        if found is None:
            found = _CLUSTERS[owner] = PgServers()
    except TypeError:
        found = owner.pg_servers = PgServers()
    return found


def _reachable(ctx) -> bool:
    """False while the pod's node is cut off from the network."""
    own = getattr(ctx.network, "own", None)
    return getattr(own, "reachable", True)


def _path_open(a, b) -> bool:
    if a is b or a.pod_ip == b.pod_ip:
        return True
    return _reachable(a) and _reachable(b)


def _socket_path(port: int) -> str:
    return f"{SOCKET_DIR}/.s.PGSQL.{port}"


def _find(ctx, host: str | None, port: int) -> tuple[PostgresServer, str, str | None]:
    """The server host:port reaches from ctx's pod: (server, libpq's "connection to ..." prefix,
    the client address it sees, None for the unix socket); ConnectFailure if none listens."""
    servers = servers_for(ctx.network)
    if not host or host.startswith("/"):
        where = f'connection to server on socket "{_socket_path(port)}" failed: '
        server = servers.at(ctx.pod_ip, port, tcp=False)
        if server is None:
            raise ConnectFailure(where + "No such file or directory\n\tIs the server running locally "
                                         "and accepting connections on that socket?")
        return server, where, None
    addresses = ctx.network.resolve(host)
    if not addresses:
        raise ConnectFailure(f'could not translate host name "{host}" to address: Name or service not known')
    address = addresses[0]
    where = f'connection to server at "{host}" ({address}), port {port} failed: '
    loopback = address in LOOPBACK
    server = servers.at(ctx.pod_ip if loopback else address, port)
    if server is None and ctx.network.is_listening(host, port):
        target = getattr(ctx.network, "_target", None)  # a Service's clusterIP: kube-proxy's pick
        found = target(host, port) if target is not None else None
        candidate = getattr(found[1], "server", None) if found else None
        if candidate is not None and candidate.tcp:
            server = candidate
    if server is None:
        raise ConnectFailure(where + REFUSED)
    return server, where, "127.0.0.1" if loopback else ctx.pod_ip


async def connect(ctx, host: str | None, port: int = PORT, *, user: str = "postgres",
                  database: str = "postgres", replication: bool = False, env: dict | None = None,
                  timeout: float | None = None) -> Session:
    """A session from ctx's pod to the server on host:port (None: the unix socket).

    Raises ConnectFailure with libpq's words; waits `timeout` (the kernel's connect timeout if
    None) before "Connection timed out" when the server's node is cut off."""
    server, where, client_ip = _find(ctx, host, port)
    if not _path_open(ctx, server.ctx):
        await ctx.clock.sleep(CONNECT_TIMEOUT if timeout is None else timeout)
        raise ConnectFailure(where + TIMED_OUT)
    problem = server.admit(client_ip, user, database, replication, env or {})
    if problem:
        raise ConnectFailure(where + problem)
    return Session(server, ctx, user, database)


# ---------------------------------------------------------------------------------------------
# Streaming replication
# ---------------------------------------------------------------------------------------------


async def _event_or_sleep(clock, event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds` of simulated time; True if it was set."""
    if event.is_set():
        return True
    waiting = asyncio.ensure_future(event.wait())
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({waiting, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        timer.cancel()
    return event.is_set()


class Link:
    """One replication connection: an upstream's walsender and a standby's walreceiver."""

    def __init__(self, upstream: PostgresServer, downstream: PostgresServer):
        self.upstream = upstream
        self.downstream = downstream
        self.clock = upstream.ctx.clock
        self.application_name = downstream.settings.get("cluster_name") or "walreceiver"
        self.started_at = self.clock.now()
        self.start_lsn = downstream.data.lsn
        self.sent = self.flushed = downstream.data.lsn
        self.closed = asyncio.Event()
        self.reason = ""
        self._queue: collections.deque = collections.deque()  # (due, records)
        self._wake = asyncio.Event()
        self._cut_since: float | None = None
        self._tasks: set[asyncio.Task] = set()
        upstream.links.append(self)
        self._spawn(self._run())
        self.push()

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def path_open(self) -> bool:
        return _path_open(self.upstream.ctx, self.downstream.ctx)

    def push(self) -> None:
        """The upstream wrote: what the standby has not been sent leaves now."""
        if self.closed.is_set():
            return
        records = self.upstream.data.records_after(self.sent)
        if records:
            self.sent = records[-1].end
            self._queue.append((self.clock.now() + NETWORK_DELAY, records))
            self._wake.set()

    async def _run(self) -> None:
        while not self.closed.is_set():
            if not self._queue:
                self._wake.clear()
                if not await _event_or_sleep(self.clock, self._wake, KEEPALIVE_SECONDS):
                    self._check_link()
                continue
            due, _ = self._queue[0]
            await self.clock.sleep_until(due)
            if self.closed.is_set():
                return
            if not self.path_open():
                if not self._check_link():
                    await self.clock.sleep(KEEPALIVE_SECONDS)
                continue
            self._cut_since = None
            # it arrived at `due` (a coarse manual clock may wake us later than that)
            self._deliver(self._queue.popleft()[1], max(due, self.clock.now() - KEEPALIVE_SECONDS))

    def _deliver(self, records: list[Record], now: float) -> None:
        downstream = self.downstream
        for timeline in downstream.data.receive(records):
            downstream.log(f"LOG:  new target timeline is {timeline}", pid=downstream.startup_pid)
        downstream.wal_written()
        self._spawn(self._acknowledge(records[-1].end, now + NETWORK_DELAY))

    async def _acknowledge(self, lsn: int, when: float) -> None:
        await self.clock.sleep_until(when)
        if not self.closed.is_set() and self.path_open():
            self.flushed = max(self.flushed, lsn)
            self.upstream.release_waiters()

    def deliver_pending(self) -> None:
        """A fast shutdown: the walsender sends what is left before it exits (if it can)."""
        if self.path_open():
            now = self.clock.now()
            while self._queue:
                self._deliver(self._queue.popleft()[1], now)
            self.flushed = self.sent

    def _check_link(self) -> bool:
        """A keepalive: True when the link has been cut too long and is dropped now."""
        if self.path_open():
            self._cut_since = None
            return False
        now = self.clock.now()
        if self._cut_since is None:
            self._cut_since = now
        if now - self._cut_since >= REPLICATION_TIMEOUT:
            self.upstream.log("LOG:  terminating walsender process due to replication timeout",
                              pid=self.upstream.walsender_pid)
            self.close("timeout")
            return True
        return False

    def close(self, reason: str) -> None:
        """reason: "primary" (its clean shutdown), "lost" (killed), "timeout", "receiver"."""
        if self.closed.is_set():
            return
        self.reason = reason
        self.closed.set()
        self._queue.clear()  # what was in flight never arrives
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self in self.upstream.links:
            self.upstream.links.remove(self)
        self.upstream.release_waiters()


class Receiver:
    """A standby's walreceiver: connects to primary_conninfo's host, streams, retries."""

    def __init__(self, server: PostgresServer):
        self.server = server
        self.link: Link | None = None
        self.host = ""
        self.port = PORT
        self.conninfo = ""
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        server = self.server
        clock = server.ctx.clock
        while True:
            self.conninfo = server.settings.get("primary_conninfo", "")
            info = parse_conninfo(self.conninfo)
            self.host, self.port = info.get("host", ""), int(info.get("port") or PORT)
            if not self.host:
                return  # a standby without a primary waits for WAL that never comes
            pid = server.walreceiver_pid
            try:
                session = await connect(server.ctx, self.host, self.port, user=info.get("user", "postgres"),
                                        database="replication", replication=True)
            except ConnectFailure as failure:
                server.log(f"FATAL:  could not connect to the primary server: {failure}", pid=pid)
                await clock.sleep(RETRY_SECONDS)
                continue
            upstream = session.server
            problem = _cannot_follow(server.data, upstream.data)
            if problem:
                server.log(problem, pid=pid)
                await clock.sleep(RETRY_SECONDS)
                continue
            start = server.data.lsn // SEGMENT * SEGMENT
            server.log(f"LOG:  started streaming WAL from primary at {format_lsn(start)} on timeline "
                       f"{server.data.timeline}", pid=pid)
            self.link = Link(upstream, server)
            await self.link.closed.wait()
            reason, self.link = self.link.reason, None
            if reason == "primary":
                server.log("LOG:  replication terminated by primary server", pid=pid)
                server.log(f"DETAIL:  End of WAL reached on timeline {server.data.timeline} at "
                           f"{format_lsn(server.data.lsn)}.", pid=pid)
            elif reason == "timeout":
                server.log("FATAL:  terminating walreceiver due to timeout", pid=pid)
            else:
                server.log(f"FATAL:  could not receive data from WAL stream: {LOST}", pid=pid)
            await clock.sleep(RETRY_SECONDS)

    def stop(self) -> None:
        self.task.cancel()
        if self.link is not None:
            self.link.close("receiver")
            self.link = None
            self.server.log("FATAL:  terminating walreceiver process due to administrator command",
                            pid=self.server.walreceiver_pid)


def _cannot_follow(standby: DataDirectory, upstream: DataDirectory) -> str | None:
    """Why a standby cannot stream from `upstream` (PostgreSQL's words), or None."""
    timeline, lsn = standby.timeline, standby.lsn
    if timeline > upstream.timeline:
        return (f"FATAL:  highest timeline {upstream.timeline} of the primary is behind recovery "
                f"timeline {timeline}")
    if timeline == upstream.timeline:
        if lsn > upstream.lsn:
            return (f"FATAL:  could not receive data from WAL stream: ERROR:  requested starting point "
                    f"{format_lsn(lsn)} is ahead of the WAL flush position of this server "
                    f"{format_lsn(upstream.lsn)}")
        return None
    fork = upstream.fork_point(timeline)
    if fork is None:
        return (f"FATAL:  could not receive data from WAL stream: ERROR:  requested timeline "
                f"{timeline} is not in this server's history")
    if lsn > fork:
        return (f"FATAL:  could not start WAL streaming: ERROR:  requested starting point "
                f"{format_lsn(lsn)} on timeline {timeline} is not in this server's history\n"
                f"DETAIL:  This server's history forked from timeline {timeline} at {format_lsn(fork)}.")
    return None


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


def _stamp(ctx, pid: int) -> str:
    moment = models.klog_time(ctx)
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')}.{moment.microsecond // 1000:03d} UTC [{pid}]"


def _time_text(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class PostgresServer:
    """One postmaster on one data directory, in one container."""

    startup_pid, checkpointer_pid, walreceiver_pid, walsender_pid = 28, 26, 35, 41

    def __init__(self, version: str, ctx: base.ContainerContext, pgdata: str, data: DataDirectory,
                 command_line: dict[str, str], log_output, env: dict[str, str]):
        self.version = version
        self.ctx = ctx
        self.ip = ctx.pod_ip
        self.files = ctx.files
        self.pgdata = pgdata
        self.data = data
        self.command_line = command_line
        self.log_output = log_output
        self.env = env
        self.state = "starting"  # starting, init (socket only), running, stopping, stopped
        self.tcp = False
        self.in_recovery = False
        self.settings: dict[str, str] = {}
        self.links: list[Link] = []  # standbys streaming from this server
        self.receiver: Receiver | None = None
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._tasks: set[asyncio.Task] = set()
        self.started_at = ctx.clock.now()

    # plumbing

    def log(self, line: str, pid: int = 1) -> None:
        stamp = _stamp(self.ctx, pid)
        self.log_output.write("".join(f"{stamp} {part}\n" for part in line.split("\n")))

    def path(self, name: str) -> str:
        return posixpath.join(self.pgdata, name)

    def read_file(self, name: str) -> str:
        try:
            return self.files.read(self.path(name))
        except OSError:
            return ""

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def load_settings(self) -> dict[str, str]:
        settings = dict(SETTINGS, data_directory=self.pgdata, server_version=self.version)
        settings.update(read_config(self.read_file("postgresql.conf")))
        settings.update(read_config(self.read_file("postgresql.auto.conf")))
        settings.update(self.command_line)
        return settings

    def open(self, tcp: bool) -> None:
        self.tcp = tcp
        servers_for(self.ctx.network).open(self.ip, PORT, self)
        if tcp:
            self.ctx.listen(PORT)

    def close(self) -> None:
        servers_for(self.ctx.network).close(self.ip, PORT, self)
        if self.tcp:
            self.ctx.close(PORT)
        self.tcp = False

    def admit(self, client_ip: str | None, user: str, database: str, replication: bool,
              env: dict) -> str | None:
        """Why a connection is refused (the FATAL line), or None."""
        if self.state == "starting":
            return "FATAL:  the database system is starting up"
        if self.state in ("stopping", "stopped"):
            return "FATAL:  the database system is shutting down"
        local = client_ip is None
        method = hba_decision(self.read_file("pg_hba.conf"), local, database, user, client_ip, replication)
        host = "[local]" if local else client_ip
        if method is None:
            if replication:
                return (f'FATAL:  no pg_hba.conf entry for replication connection from host "{host}", '
                        f'user "{user}", no encryption')
            return (f'FATAL:  no pg_hba.conf entry for host "{host}", user "{user}", '
                    f'database "{database}", no encryption')
        if method == "reject":
            return (f'FATAL:  pg_hba.conf rejects connection for host "{host}", user "{user}", '
                    f'database "{database}", no encryption')
        if method not in ("trust", "peer") and not env.get("PGPASSWORD"):
            return "fe_sendauth: no password supplied"
        if user not in self.roles():
            return f'FATAL:  role "{user}" does not exist'
        if not replication and database not in self.databases():
            return f'FATAL:  database "{database}" does not exist'
        if not replication and database == "template0":
            return 'FATAL:  database "template0" is not currently accepting connections'
        return None

    def roles(self) -> set[str]:
        return {"postgres", self.env.get("POSTGRES_USER") or "postgres"}

    def databases(self) -> set[str]:
        return {"postgres", "template1", "template0", self.env.get("POSTGRES_DB") or
                self.env.get("POSTGRES_USER") or "postgres"}

    # lifecycle

    def start_temporary(self) -> None:
        """The entrypoint's `pg_ctl start` during initialization: the unix socket only."""
        self.data.server = self
        self.settings = self.load_settings()
        self.open(tcp=False)
        self.state = "init"
        for line in (f"LOG:  starting PostgreSQL {self.version_line()}",
                     f'LOG:  listening on Unix socket "{_socket_path(PORT)}"'):
            self.log(line, pid=48)
        self.log(f"LOG:  database system was shut down at {_time_text(self.data.checkpoint_time)}", pid=51)
        self.log("LOG:  database system is ready to accept connections", pid=48)

    def stop_temporary(self) -> None:
        for line in ("LOG:  received fast shutdown request", "LOG:  aborting any active transactions",
                     "LOG:  shutting down"):
            self.log(line, pid=48)
        self.data.checkpoint(self.ctx.clock.now())
        self.close()
        self.state = "stopped"
        self.data.server = None
        self.log("LOG:  database system is shut down", pid=48)

    def version_line(self) -> str:
        return (f"{self.version} (Debian {self.version}-1.pgdg120+1) on x86_64-pc-linux-gnu, "
                "compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit")

    async def serve(self, stopping: asyncio.Event, ready_at: float | None = None) -> int:
        """The postmaster: start, run until SIGTERM, shut down fast. Cancelled: killed.

        `ready_at`: when it accepts connections (deadlines from the process's start, so that a
        clock moved in coarse steps does not add the steps up)."""
        data, clock = self.data, self.ctx.clock
        if data.server is not None and data.server.state != "stopped":
            self.log('FATAL:  lock file "postmaster.pid" already exists')
            self.log(f'HINT:  Is another postmaster (PID 1) running in data directory "{self.pgdata}"?')
            return 1
        data.server = self
        try:
            self.settings = self.load_settings()
            self.files.write(self.path("postmaster.pid"),
                             f"1\n{self.pgdata}\n{int(clock.now())}\n{PORT}\n{SOCKET_DIR}\n*\n")
            self.log(f"LOG:  starting PostgreSQL {self.version_line()}")
            self.open(tcp=True)
            for line in (f'LOG:  listening on IPv4 address "0.0.0.0", port {PORT}',
                         f'LOG:  listening on IPv6 address "::", port {PORT}',
                         f'LOG:  listening on Unix socket "{_socket_path(PORT)}"'):
                self.log(line)
            clean, data.clean = data.clean, False
            pid = self.startup_pid
            if clean:
                self.log(f"LOG:  database system was shut down at {_time_text(data.checkpoint_time)}", pid=pid)
            else:
                self.log(f"LOG:  database system was interrupted; last known up at "
                         f"{_time_text(data.checkpoint_time)}", pid=pid)
            await clock.sleep_until(clock.now() + STARTUP_SECONDS if ready_at is None else ready_at)
            if self.files.exists(self.path("standby.signal")):
                self.in_recovery = True
                for line in ("LOG:  entering standby mode",
                             f"LOG:  redo starts at {format_lsn(data.checkpoint_lsn)}",
                             f"LOG:  consistent recovery state reached at {format_lsn(data.lsn)}"):
                    self.log(line, pid=pid)
                self.log("LOG:  database system is ready to accept read-only connections")
                self.state = "running"
                self.receiver = Receiver(self)
            else:
                if not clean:
                    for line in ("LOG:  database system was not properly shut down; automatic recovery in progress",
                                 f"LOG:  redo starts at {format_lsn(data.checkpoint_lsn)}",
                                 f"LOG:  redo done at {format_lsn(data.lsn)}"):
                        self.log(line, pid=pid)
                    data.checkpoint(clock.now())
                self.log("LOG:  database system is ready to accept connections")
                self.state = "running"
            await stopping.wait()
            return await self._shutdown()
        finally:
            if self.state != "stopped":  # killed: nothing is flushed, nothing is sent
                self._halt("lost")

    async def _shutdown(self) -> int:
        data, clock = self.data, self.ctx.clock
        self.state = "stopping"
        self.log("LOG:  received fast shutdown request")
        self.log("LOG:  aborting any active transactions")
        self._fail_waiters()
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        self.log('LOG:  background worker "logical replication launcher" (PID 34) exited with exit code 1')
        self.log("LOG:  shutting down", pid=self.checkpointer_pid)
        if self.in_recovery:
            self.log("LOG:  restartpoint starting: shutdown immediate", pid=self.checkpointer_pid)
            data.checkpoint_lsn, data.checkpoint_timeline = data.lsn, data.timeline
            data.checkpoint_time = clock.now()
        else:
            self.log("LOG:  checkpoint starting: shutdown immediate", pid=self.checkpointer_pid)
            data.checkpoint(clock.now())
            self.wal_written()
        if self.links:
            await clock.sleep(NETWORK_DELAY)  # the walsenders send the shutdown checkpoint too
            for link in list(self.links):
                link.deliver_pending()
        self.log(f"LOG:  {'restartpoint' if self.in_recovery else 'checkpoint'} complete: wrote 3 buffers "
                 "(0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.002 s, sync=0.001 s, "
                 "total=0.005 s", pid=self.checkpointer_pid)
        data.clean = True
        self._halt("primary")
        try:
            self.files.remove(self.path("postmaster.pid"))
        except OSError:
            pass
        self.log("LOG:  database system is shut down")
        return 0

    def _halt(self, reason: str) -> None:
        """Everything stops: streams, receiver, sessions; the address is free again."""
        self.state = "stopped"
        for link in list(self.links):
            link.close(reason)
        if self.receiver is not None:
            self.receiver.task.cancel()
            if self.receiver.link is not None:
                self.receiver.link.close("receiver")
            self.receiver = None
        for task in list(self._tasks):
            task.cancel()
        self._fail_waiters()
        self.close()
        if self.data.server is self:
            self.data.server = None

    # WAL and synchronous commit

    def wal_written(self) -> None:
        for link in list(self.links):
            link.push()

    def sync_rule(self, session: Session | None = None) -> SyncRule:
        commit = (session.settings.get("synchronous_commit") if session else None) or \
            self.settings.get("synchronous_commit", "on")
        if commit in ("off", "local", "false", "0", "no"):
            return SyncRule("", 0, ())
        try:
            return parse_sync_names(self.settings.get("synchronous_standby_names", ""))
        except ValueError:
            return SyncRule("", 0, ())

    def _priorities(self, rule: SyncRule) -> dict[Link, int]:
        found = {}
        for link in self.links:
            name = link.application_name.lower()
            for index, listed in enumerate(rule.names):
                if listed == "*" or listed == name:
                    found[link] = index + 1
                    break
        return found

    def sync_states(self) -> dict[Link, tuple[str, int]]:
        rule = self.sync_rule()
        priorities = self._priorities(rule) if rule.method else {}
        states = {link: ("async", 0) for link in self.links}
        if rule.method == "any":
            for link in priorities:
                states[link] = ("quorum", 1)
        elif rule.method == "first":
            ranked = sorted(priorities, key=lambda link: (priorities[link], self.links.index(link)))
            for position, link in enumerate(ranked):
                states[link] = ("sync" if position < rule.count else "potential", priorities[link])
        return states

    def _satisfied(self, lsn: int, rule: SyncRule) -> bool:
        if not rule.method:
            return True
        priorities = self._priorities(rule)
        if rule.method == "any":
            return sum(1 for link in priorities if link.flushed >= lsn) >= rule.count
        ranked = sorted(priorities, key=lambda link: (priorities[link], self.links.index(link)))[:rule.count]
        return len(ranked) >= rule.count and all(link.flushed >= lsn for link in ranked)

    async def commit(self, lsn: int, session: Session) -> None:
        """Wait as synchronous_standby_names says; ConnectionLost if the server stops meanwhile."""
        self.wal_written()
        rule = self.sync_rule(session)
        if self.in_recovery or self._satisfied(lsn, rule):
            return
        future = asyncio.get_running_loop().create_future()
        entry = (lsn, future, session)
        self._waiters.append(entry)
        try:
            await future
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def release_waiters(self) -> None:
        for lsn, future, session in list(self._waiters):
            if not future.done() and self._satisfied(lsn, self.sync_rule(session)):
                future.set_result(None)

    def _fail_waiters(self) -> None:
        for _, future, _ in list(self._waiters):
            if not future.done():
                future.set_exception(ConnectionLost(TERMINATED))

    # configuration

    def reload(self) -> None:
        self.log("LOG:  received SIGHUP, reloading configuration files")
        old, new = self.settings, self.load_settings()
        for name in sorted(set(old) | set(new)):
            if old.get(name) == new.get(name):
                continue
            if name in RESTART_ONLY:
                self.log(f'LOG:  parameter "{name}" cannot be changed without restarting the server')
                new[name] = old.get(name, "")
            else:
                self.log(f'LOG:  parameter "{name}" changed to "{new.get(name, "")}"')
        self.settings = new
        if self.in_recovery and old.get("primary_conninfo") != new.get("primary_conninfo") and \
                self.state == "running":
            if self.receiver is not None:
                self.receiver.stop()
            self.receiver = Receiver(self)
        self.release_waiters()

    def alter_system(self, action: str, name: str | None, value: str | None) -> None:
        auto = read_config(self.read_file("postgresql.auto.conf"))
        if action == "reset_all":
            auto = {}
        else:
            if name not in SETTINGS:
                raise SqlError(f'unrecognized configuration parameter "{name}"')
            if action == "reset" or value is None:
                auto.pop(name, None)
            else:
                if name == "synchronous_standby_names":
                    try:
                        parse_sync_names(value)
                    except ValueError:
                        raise SqlError(f'invalid value for parameter "{name}": "{value}"',
                                       detail="synchronous_standby_names parser failed") from None
                auto[name] = value
        self.files.write(self.path("postgresql.auto.conf"), write_auto_conf(auto))

    # promotion

    async def promote(self, wait: bool = True) -> bool:
        if not self.in_recovery:
            raise SqlError("recovery is not in progress",
                           hint="Recovery control functions can only be executed during recovery.")
        self.log("LOG:  received promote request", pid=self.startup_pid)
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        finished = asyncio.ensure_future(self._finish_promotion())
        if not wait:
            return True
        return await finished

    async def _finish_promotion(self) -> bool:
        clock, data, pid = self.ctx.clock, self.data, self.startup_pid
        await clock.sleep(PROMOTE_SECONDS)
        if self.state != "running" or not self.in_recovery:
            return False
        self.log(f"LOG:  redo done at {format_lsn(data.lsn)} system usage: CPU: user: 0.00 s, "
                 "system: 0.00 s, elapsed: 0.10 s", pid=pid)
        timeline = data.promote()
        self.log(f"LOG:  selected new timeline ID: {timeline}", pid=pid)
        self.log("LOG:  archive recovery complete", pid=pid)
        try:
            self.files.remove(self.path("standby.signal"))
        except OSError:
            pass
        self.in_recovery = False
        self.wal_written()
        self.log("LOG:  checkpoint starting: force", pid=self.checkpointer_pid)
        self.log("LOG:  database system is ready to accept connections")
        self._spawn(self._checkpoint_later())
        return True

    async def _checkpoint_later(self) -> None:
        """The checkpoint promotion asks for is spread over checkpoint_timeout."""
        await self.ctx.clock.sleep(CHECKPOINT_SECONDS)
        if self.state == "running" and not self.in_recovery:
            self.data.checkpoint(self.ctx.clock.now())
            self.wal_written()
            self.log("LOG:  checkpoint complete: wrote 12 buffers (0.1%); 0 WAL file(s) added, "
                     "0 removed, 0 recycled", pid=self.checkpointer_pid)

    # what the views show

    def replication_rows(self) -> list[dict]:
        rows = []
        for link, (sync_state, priority) in self.sync_states().items():
            lsn = Lsn(link.flushed)
            rows.append({
                "pid": 60 + len(rows), "usesysid": 10, "usename": "postgres",
                "application_name": link.application_name, "client_addr": link.downstream.ip,
                "client_hostname": None, "client_port": 40000 + len(rows), "backend_start": Stamp(link.started_at),
                "backend_xmin": None, "state": "streaming", "sent_lsn": Lsn(link.sent), "write_lsn": lsn,
                "flush_lsn": lsn, "replay_lsn": lsn, "write_lag": None, "flush_lag": None,
                "replay_lag": None, "sync_priority": priority, "sync_state": sync_state,
                "reply_time": Stamp(self.ctx.clock.now())})
        return rows

    def receiver_rows(self) -> list[dict]:
        receiver = self.receiver
        if receiver is None or receiver.link is None:
            return []
        link, data = receiver.link, self.data
        now = Stamp(self.ctx.clock.now())
        return [{"pid": self.walreceiver_pid, "status": "streaming",
                 "receive_start_lsn": Lsn(link.start_lsn // SEGMENT * SEGMENT),
                 "receive_start_tli": data.timeline, "written_lsn": Lsn(data.lsn), "flushed_lsn": Lsn(data.lsn),
                 "received_tli": data.timeline, "last_msg_send_time": now, "last_msg_receipt_time": now,
                 "latest_end_lsn": Lsn(data.lsn), "latest_end_time": now, "slot_name": None,
                 "sender_host": receiver.host, "sender_port": receiver.port,
                 "conninfo": receiver.conninfo}]

    def checkpoint_row(self) -> dict:
        data = self.data
        return {"checkpoint_lsn": Lsn(data.checkpoint_lsn), "redo_lsn": Lsn(data.checkpoint_lsn),
                "redo_wal_file": wal_file_name(data.checkpoint_timeline, data.checkpoint_lsn + 1),
                "timeline_id": data.checkpoint_timeline, "prev_timeline_id": data.checkpoint_timeline,
                "full_page_writes": True, "next_xid": f"0:{740 + len(data.records)}",
                "checkpoint_time": Stamp(data.checkpoint_time)}

    # SQL

    async def function(self, name: str, values: list, position: int, session: Session):
        data = self.data
        recovery_hint = "WAL control functions cannot be executed during recovery."
        if name == "pg_is_in_recovery":
            return self.in_recovery
        if name in ("pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn"):
            if self.in_recovery:
                raise SqlError("recovery is in progress", hint=recovery_hint)
            return Lsn(data.lsn)
        if name in ("pg_last_wal_replay_lsn", "pg_last_wal_receive_lsn"):
            return Lsn(data.lsn) if self.in_recovery else None
        if name == "pg_walfile_name" and len(values) == 1:
            if self.in_recovery:
                raise SqlError("recovery is in progress", hint="pg_walfile_name() cannot be executed during recovery.")
            return None if values[0] is None else wal_file_name(data.timeline, int(coerce(values[0], "pg_lsn")))
        if name == "pg_wal_lsn_diff" and len(values) == 2:
            if None in values:
                return None
            return int(coerce(values[0], "pg_lsn")) - int(coerce(values[1], "pg_lsn"))
        if name == "pg_promote" and len(values) <= 2:
            return await self.promote(wait=values[0] is not False if values else True)
        if name == "pg_reload_conf" and not values:
            self.reload()
            return True
        if name == "pg_is_wal_replay_paused" and not values:
            if not self.in_recovery:
                raise SqlError("recovery is not in progress",
                               hint="Recovery control functions can only be executed during recovery.")
            return False
        if name == "version" and not values:
            return f"PostgreSQL {self.version_line()}"
        if name in ("now", "current_timestamp", "transaction_timestamp", "statement_timestamp",
                    "clock_timestamp", "localtimestamp") and not values:
            return Stamp(self.ctx.clock.now())
        if name == "pg_postmaster_start_time" and not values:
            return Stamp(self.started_at)
        if name in ("current_user", "session_user", "user") and not values:
            return session.user
        if name == "current_database" and not values:
            return session.database
        if name == "current_setting" and len(values) in (1, 2):
            setting = str(values[0]).lower()
            if setting in session.settings:
                return session.settings[setting]
            if setting not in self.settings:
                if len(values) == 2 and values[1] is True:
                    return None
                raise SqlError(f'unrecognized configuration parameter "{values[0]}"')
            return self.settings[setting]
        if name in ("substr", "substring") and len(values) in (2, 3):
            if None in values:
                return None
            text, start = render(values[0]), int(values[1])
            end = len(text) if len(values) == 2 else start + int(values[2]) - 1
            return text[max(start, 1) - 1:max(end, 0)]
        if name in ("length", "char_length") and len(values) == 1:
            return None if values[0] is None else len(render(values[0]))
        if name in ("upper", "lower") and len(values) == 1:
            return None if values[0] is None else getattr(render(values[0]), name)()
        if name == "pg_backend_pid" and not values:
            return 70
        if name == "inet_server_addr" and not values:
            return self.ip if session.client_ctx is not None else None
        types = ", ".join(_type_of(value) for value in values)
        raise SqlError(f"function {name}({types}) does not exist", position=position,
                       hint="No function matches the given name and argument types. You might need to "
                            "add explicit type casts.")

    async def run_statement(self, statement: Statement, session: Session) -> Result:
        kind, node = statement.kind, statement.node
        if kind == "select":
            return await Evaluator(self, session).select(node)
        if kind == "insert":
            return await self._insert(node, session)
        if kind == "create":
            definition, if_not_exists, position = node
            if definition.name in self.data.tables:
                if if_not_exists:
                    session.notices.append(f'NOTICE:  relation "{definition.name}" already exists, skipping')
                    return Result([], None, "CREATE TABLE")
                raise SqlError(f'relation "{definition.name}" already exists')
            if self.in_recovery:
                raise _read_only("CREATE TABLE")
            await self.commit(self.data.append(("create", definition)), session)
            return Result([], None, "CREATE TABLE")
        if kind == "drop":
            names, if_exists = node
            if self.in_recovery:
                raise _read_only("DROP TABLE")
            for name in names:
                if name not in self.data.tables:
                    if not if_exists:
                        raise SqlError(f'table "{name}" does not exist')
                    session.notices.append(f'NOTICE:  table "{name}" does not exist, skipping')
            lsn = None
            for name in names:
                if name in self.data.tables:
                    lsn = self.data.append(("drop", name))
            if lsn is not None:
                await self.commit(lsn, session)
            return Result([], None, "DROP TABLE")
        if kind == "truncate":
            name, position = node
            if name not in self.data.tables:
                raise SqlError(f'relation "{name}" does not exist')
            if self.in_recovery:
                raise _read_only("TRUNCATE TABLE")
            await self.commit(self.data.append(("truncate", name)), session)
            return Result([], None, "TRUNCATE TABLE")
        if kind == "alter_system":
            self.alter_system(*node)
            return Result([], None, "ALTER SYSTEM")
        if kind == "show":
            if node == "all":
                return Result(["name", "setting"], sorted(self.settings.items()), "SHOW")
            if node in session.settings:
                return Result([node], [(session.settings[node],)], "SHOW")
            if node not in self.settings:
                raise SqlError(f'unrecognized configuration parameter "{node}"')
            return Result([node], [(self.settings[node],)], "SHOW")
        if kind == "set":
            name, value = node
            if name not in SETTINGS:
                raise SqlError(f'unrecognized configuration parameter "{name}"')
            if name in RESTART_ONLY:
                raise SqlError(f'parameter "{name}" cannot be changed without restarting the server')
            if value is None:
                session.settings.pop(name, None)
            else:
                session.settings[name] = value
            return Result([], None, "SET")
        if kind == "checkpoint":
            if self.in_recovery:
                self.data.checkpoint_lsn, self.data.checkpoint_time = self.data.lsn, self.ctx.clock.now()
                self.data.checkpoint_timeline = self.data.timeline
            else:
                self.data.checkpoint(self.ctx.clock.now())
                self.wal_written()
            return Result([], None, "CHECKPOINT")
        if kind in ("begin", "commit"):
            return Result([], None, kind.upper())
        raise _not_modelled(kind.upper())

    async def _insert(self, node, session: Session) -> Result:
        table_name, position, columns, rows = node
        table = self.data.tables.get(table_name)
        if table is None:
            raise SqlError(f'relation "{table_name}" does not exist', position=position)
        if self.in_recovery:
            raise _read_only("INSERT")
        definition = table.definition
        by_name = {column.name: column for column in definition.columns}
        targets = [column.name for column in definition.columns] if columns is None else []
        for name, where in columns or []:
            if name not in by_name:
                raise SqlError(f'column "{name}" of relation "{table_name}" does not exist', position=where)
            targets.append(name)
        evaluator = Evaluator(self, session)
        prepared, keys = [], set()
        for values in rows:
            if len(values) > len(targets):
                raise SqlError("INSERT has more expressions than target columns")
            given = {name: await evaluator.value(expression, {}) for name, expression in zip(targets, values, strict=False)}
            row = {}
            for column in definition.columns:
                if column.name in given:
                    value = given[column.name]
                elif column.default is not None:
                    value = await evaluator.value(column.default, {})
                else:
                    value = None
                row[column.name] = coerce(value, column.type)
            for column in definition.columns:
                if column.not_null and row[column.name] is None:
                    shown = ", ".join("null" if v is None else render(v) for v in row.values())
                    raise SqlError(f'null value in column "{column.name}" of relation "{table_name}" '
                                   "violates not-null constraint", detail=f"Failing row contains ({shown}).")
            key = definition.primary_key
            if key is not None:
                if row[key] in table.keys or row[key] in keys:
                    raise SqlError(f'duplicate key value violates unique constraint "{table_name}_pkey"',
                                   detail=f"Key ({key})=({render(row[key])}) already exists.")
                keys.add(row[key])
            prepared.append(row)
        lsn = self.data.lsn
        for row in prepared:
            lsn = self.data.append(("insert", table_name, row))
        await self.commit(lsn, session)
        return Result([], None, f"INSERT 0 {len(prepared)}")

    def dump(self) -> str:
        """pg_dumpall's plain-text output for this server."""
        now = _time_text(self.ctx.clock.now())
        lines = ["--", "-- PostgreSQL database cluster dump", "--", "",
                 f"-- Started on {now}", "", "SET default_transaction_read_only = off;", "",
                 "SET client_encoding = 'UTF8';", "SET standard_conforming_strings = on;", "",
                 "--", "-- Roles", "--", ""]
        for role in sorted(self.roles()):
            lines += [f"CREATE ROLE {role};",
                      f"ALTER ROLE {role} WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION "
                      "BYPASSRLS;"]
        lines += ["", "--", "-- Databases", "--", "", "--", '-- Database "postgres" dump', "--", "",
                  "\\connect postgres", "", "SET statement_timeout = 0;", "SET client_encoding = 'UTF8';",
                  "SET standard_conforming_strings = on;", "SET check_function_bodies = false;",
                  "SET client_min_messages = warning;", "SET default_tablespace = '';",
                  "SET default_table_access_method = heap;", ""]
        for name, table in sorted(self.data.tables.items()):
            definition = table.definition
            columns = []
            for column in definition.columns:
                text = f"    {column.name} {column.type}"
                if column.default is not None:
                    text += " DEFAULT " + _default_text(column.default)
                if column.not_null:
                    text += " NOT NULL"
                columns.append(text)
            lines += ["--", f"-- Name: {name}; Type: TABLE; Schema: public; Owner: postgres", "--", "",
                      f"CREATE TABLE public.{name} (", ",\n".join(columns), ");", "", "",
                      f"ALTER TABLE public.{name} OWNER TO postgres;", "", "--",
                      f"-- Data for Name: {name}; Type: TABLE DATA; Schema: public; Owner: postgres", "--", "",
                      f"COPY public.{name} ({', '.join(c.name for c in definition.columns)}) FROM stdin;"]
            for row in table.rows:
                lines.append("\t".join("\\N" if value is None else render(value) for value in row.values()))
            lines += ["\\.", ""]
            if definition.primary_key:
                lines += ["", f"ALTER TABLE ONLY public.{name}",
                          f"    ADD CONSTRAINT {name}_pkey PRIMARY KEY ({definition.primary_key});", ""]
        lines += ["", f"-- Completed on {now}", "", "--", "-- PostgreSQL database cluster dump complete",
                  "--", ""]
        return "\n".join(lines) + "\n"


def _default_text(node) -> str:
    if node[0] == "fn":
        return f"{node[1]}()"
    if node[0] == "lit":
        return "NULL" if node[1] is None else (f"'{node[1]}'" if isinstance(node[1], str) else render(node[1]))
    return "NULL"


# ---------------------------------------------------------------------------------------------
# The image and its programs
# ---------------------------------------------------------------------------------------------

PG_HBA = """# PostgreSQL Client Authentication Configuration File
# ===================================================

# TYPE  DATABASE        USER            ADDRESS                 METHOD

# "local" is for Unix domain socket connections only
local   all             all                                     trust
# IPv4 local connections:
host    all             all             127.0.0.1/32            trust
# IPv6 local connections:
host    all             all             ::1/128                 trust
# Allow replication connections from localhost, by a user with the
# replication privilege.
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
host    replication     all             ::1/128                 trust
"""
POSTGRESQL_CONF = """# PostgreSQL configuration file (the image's, comments shortened)
listen_addresses = '*'
max_connections = 100
shared_buffers = 128MB
dynamic_shared_memory_type = posix
max_wal_size = 1GB
min_wal_size = 80MB
log_timezone = 'Etc/UTC'
datestyle = 'iso, mdy'
timezone = 'Etc/UTC'
lc_messages = 'en_US.utf8'
default_text_search_config = 'pg_catalog.english'
"""
DATA_DIRS = ("base", "base/1", "base/4", "base/5", "global", "pg_wal", "pg_wal/archive_status",
             "pg_xact", "pg_stat", "pg_tblspc", "pg_logical", "pg_multixact", "pg_subtrans",
             "pg_notify", "pg_replslot", "pg_snapshots", "pg_stat_tmp", "pg_twophase", "pg_commit_ts",
             "pg_dynshmem", "pg_serial")
INITDB_LINES = """The files belonging to this database system will be owned by user "postgres".
This user must also own the server process.

The database cluster will be initialized with locale "en_US.utf8".
The default database encoding has accordingly been set to "UTF8".
The default text search configuration will be set to "english".

Data page checksums are disabled.

fixing permissions on existing directory {pgdata} ... ok
creating subdirectories ... ok
selecting dynamic shared memory implementation ... posix
selecting default max_connections ... 100
selecting default shared_buffers ... 128MB
selecting default time zone ... Etc/UTC
creating configuration files ... ok
running bootstrap script ... ok
performing post-bootstrap initialization ... ok
syncing data to disk ... ok


Success. You can now start the database server using:

    pg_ctl -D {pgdata} -l logfile start

"""
POSTGRES_NO_PASSWORD = models.POSTGRES_NO_PASSWORD


def version_for(tag: str) -> str:
    """The server version an image tag runs: `16.4` -> 16.4, `16` -> its latest minor here."""
    tag = tag.split("-", 1)[0]
    if re.fullmatch(r"\d+\.\d+", tag):
        return tag
    return VERSIONS.get(tag.split(".", 1)[0], DEFAULT_VERSION)


def _os_user(ctx) -> str:
    """Who runs the command: the image's postgres user (uid 999) or root."""
    spec = (ctx.pod or {}).get("spec") or {}
    uid = ((ctx.container.get("securityContext") or {}).get("runAsUser")
           if (ctx.container.get("securityContext") or {}).get("runAsUser") is not None
           else (spec.get("securityContext") or {}).get("runAsUser"))
    return "root" if not uid else "postgres"


class PostgresImage(models.Postgres):
    """The postgres image: its process through the simulated shell, with its programs."""

    def __init__(self, argv: list[str] | None, flavour, version: str = DEFAULT_VERSION):
        super().__init__(argv, flavour, {
            "psql": psql, "pg_isready": pg_isready, "pg_basebackup": pg_basebackup,
            "pg_dumpall": pg_dumpall, "postgres": self._postgres, "docker-entrypoint.sh": self._entrypoint})
        self.version = version
        major = version.split(".", 1)[0]
        self.image_env = {"PG_MAJOR": major, "PG_VERSION": f"{version}-1.pgdg120+1",
                          "PGDATA": DEFAULT_PGDATA, "LANG": "en_US.utf8", "GOSU_VERSION": "1.17",
                          "PATH": f"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:"
                                  f"/usr/lib/postgresql/{major}/bin"}
        self.server: PostgresServer | None = None  # the postmaster of this container, while it runs

    async def _entrypoint(self, shell, argv, io, env) -> int:
        args = list(argv[1:])
        if not args or args[0].startswith("-"):
            args = ["postgres", *args]
        if args[0] != "postgres":
            return await shell.invoke(args, io)  # exec "$@"
        return await self._postgres(shell, args, io, env, entrypoint=True)

    async def _postgres(self, shell, argv, io, env, entrypoint: bool = False) -> int:
        options: dict[str, str] = {}
        pgdata = env.get("PGDATA") or DEFAULT_PGDATA
        args = list(argv[1:])
        while args:
            option = args.pop(0)
            if option in ("-V", "--version"):
                io.stdout.write(f"postgres (PostgreSQL) {self.version} (Debian {self.version}-1.pgdg120+1)\n")
                return 0
            if option in ("-c", "-D", "-p") and args:
                value = args.pop(0)
                if option == "-D":
                    pgdata = value
                elif option == "-p":
                    options["port"] = value
                else:
                    name, _, setting = value.partition("=")
                    options[name.strip().lower().replace("-", "_")] = setting.strip().strip("'")
            elif option.startswith("--") and "=" in option:
                name, _, setting = option[2:].partition("=")
                options[name.lower().replace("-", "_")] = setting
            else:
                io.stderr.write(f"postgres: invalid argument: \"{option}\"\n"
                                'Try "postgres --help" for more information.\n')
                return 1
        pgdata = shell.path(pgdata)
        files = shell.ctx.files
        marker = posixpath.join(pgdata, "PG_VERSION")
        ready_at = shell.clock.now() + STARTUP_SECONDS
        if entrypoint and not files.exists(marker):
            code = await self._initdb(shell, io, env, pgdata)
            if code:
                return code
            ready_at += INIT_SECONDS
        elif entrypoint:
            io.stdout.write("\nPostgreSQL Database directory appears to contain a database; "
                            "Skipping initialization\n\n")
        if not files.exists(marker):
            if files.is_dir(pgdata):
                io.stderr.write(f'postgres: "{pgdata}" is not a valid data directory\n'
                                'DETAIL:  File "PG_VERSION" is missing.\n')
            else:
                io.stderr.write(f'postgres: could not access directory "{pgdata}": No such file or directory\n'
                                "Run initdb or pg_basebackup to initialize a PostgreSQL data directory.\n")
            return 2
        data = directory_at(files, pgdata)
        if data is None:  # files made by hand: an empty cluster
            data = DataDirectory(now=shell.clock.now())
            keep_directory(files, pgdata, data)
        server = PostgresServer(self.version, shell.ctx, pgdata, data, options, io.stderr, dict(env))
        self.server = server
        try:
            return await server.serve(shell.stopping or shell.ctx.stopping, ready_at)
        finally:
            if self.server is server:
                self.server = None

    async def _initdb(self, shell, io, env, pgdata: str) -> int:
        trust = env.get("POSTGRES_HOST_AUTH_METHOD") == "trust"
        if not env.get("POSTGRES_PASSWORD") and not trust:
            io.stderr.write(POSTGRES_NO_PASSWORD + "\n")
            return 1
        files, clock = shell.ctx.files, shell.clock
        began = clock.now()
        if files.is_dir(pgdata) and files.listdir(pgdata):
            io.stderr.write(f'initdb: error: directory "{pgdata}" exists but is not empty\n'
                            f'initdb: hint: If you want to create a new database system, either remove or '
                            f'empty the directory "{pgdata}" or run initdb with an argument other than '
                            f'"{pgdata}".\n')
            return 1
        io.stdout.write(INITDB_LINES.format(pgdata=pgdata))
        if trust:
            io.stderr.write('initdb: warning: enabling "trust" authentication for local connections\n'
                            "initdb: hint: You can change this by editing pg_hba.conf or using the option "
                            "-A, or --auth-local and --auth-host, the next time you run initdb.\n")
        await clock.sleep_until(began + INIT_SECONDS)
        data = DataDirectory(now=clock.now())
        try:
            write_data_directory(files, pgdata, self.version, {
                "postgresql.conf": POSTGRESQL_CONF, "postgresql.auto.conf": AUTO_CONF_HEADER,
                "pg_hba.conf": PG_HBA + "\nhost all all all "
                               + ("trust" if trust else env.get("POSTGRES_HOST_AUTH_METHOD") or "scram-sha-256")
                               + "\n"})
        except OSError as error:
            io.stderr.write(f'initdb: error: could not create directory "{pgdata}": {error.strerror}\n')
            return 1
        keep_directory(files, pgdata, data)
        temporary = PostgresServer(self.version, shell.ctx, pgdata, data, {}, io.stdout, dict(env))
        io.stdout.write("waiting for server to start....")
        temporary.start_temporary()
        io.stdout.write(" done\nserver started\n\n")
        try:
            code = await self._initdb_scripts(shell, io, env, temporary)
        finally:
            io.stdout.write("waiting for server to shut down....")
            temporary.stop_temporary()
            io.stdout.write(" done\nserver stopped\n\n")
        if code:
            return code
        io.stdout.write("PostgreSQL init process complete; ready for start up.\n\n")
        return 0

    async def _initdb_scripts(self, shell, io, env, server: PostgresServer) -> int:
        from k8s_course.sim.images.shell import Shell

        files = shell.ctx.files
        if not files.is_dir(INITDB_DIR):
            return 0
        for name in sorted(files.listdir(INITDB_DIR)):
            path = posixpath.join(INITDB_DIR, name)
            if name.endswith(".sh"):
                io.stdout.write(f"{ENTRYPOINT}: running {path}\n")
                child = Shell(shell.ctx, shell.flavour, io, env=dict(env), commands=shell.commands,
                              stopping=shell.stopping)
                code = await child.run_argv([path])
                if code:
                    return code
            elif name.endswith(".sql"):
                io.stdout.write(f"{ENTRYPOINT}: running {path}\n")
                session = Session(server, None, "postgres", "postgres")
                try:
                    await session.execute(files.read(path))
                except SqlError as error:
                    io.stderr.write(f"psql:{path}: " + error.text())
                    return 3
            else:
                io.stdout.write(f"{ENTRYPOINT}: ignoring {path}\n")
        io.stdout.write("\n")
        return 0


def write_data_directory(files, pgdata: str, version: str, config: dict[str, str]) -> None:
    """The files of a data directory (PG_VERSION last: its presence says the directory is done)."""
    files.mkdir(pgdata, parents=True)
    for directory in DATA_DIRS:
        files.mkdir(posixpath.join(pgdata, directory), parents=True)
    for name, text in config.items():
        files.write(posixpath.join(pgdata, name), text)
    files.write(posixpath.join(pgdata, "PG_VERSION"), version.split(".", 1)[0] + "\n")


# the options of the client programs that take a value
_VALUE_OPTIONS = {"-U": "user", "--username": "user", "-d": "dbname", "--dbname": "dbname",
                  "-h": "host", "--host": "host", "-p": "port", "--port": "port", "-c": "command",
                  "--command": "command", "-v": "variable", "--set": "variable", "--variable": "variable",
                  "-f": "file", "--file": "file", "-D": "pgdata", "--pgdata": "pgdata", "-X": "wal",
                  "--wal-method": "wal", "-t": "timeout", "--timeout": "timeout", "-F": "format",
                  "--format": "format", "--checkpoint": "checkpoint", "-o": "output"}


def _client_options(program: str, argv: list[str], flags: dict[str, str], io) -> tuple[dict, list] | None:
    """Options and positional arguments of psql / pg_basebackup / ...; None after an error."""
    values: dict[str, list[str]] = {}
    positional: list[str] = []
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg.startswith("--") and "=" in arg:
            arg, value = arg.split("=", 1)
            args.insert(0, value)
        name = flags.get(arg)
        if name is not None:
            values.setdefault(name, []).append("1")
            continue
        key = arg if arg in _VALUE_OPTIONS else None
        if key is None and arg.startswith("-") and not arg.startswith("--") and arg[:2] in _VALUE_OPTIONS \
                and len(arg) > 2:
            key, value = arg[:2], arg[2:]
            args.insert(0, value)
        if key is not None:
            if program == "pg_basebackup" and key == "-c":
                key = "--checkpoint"
            if program == "pg_basebackup" and key == "-X":
                pass
            elif key == "-X" and program == "psql":
                values.setdefault("no_psqlrc", []).append("1")
                continue
            if not args:
                io.stderr.write(f"{program}: option requires an argument -- '{arg.lstrip('-')}'\n"
                                f'{program}: hint: Try "{program} --help" for more information.\n')
                return None
            values.setdefault(_VALUE_OPTIONS[key], []).append(args.pop(0))
            continue
        if arg.startswith("-") and arg != "-":
            letters = arg[1:]
            if not arg.startswith("--") and all(f"-{letter}" in flags for letter in letters):
                for letter in letters:
                    values.setdefault(flags[f"-{letter}"], []).append("1")
                continue
            shown = f"unrecognized option '{arg}'" if arg.startswith("--") else f"invalid option -- '{arg[1]}'"
            io.stderr.write(f"{program}: {shown}\n{program}: hint: Try \"{program} --help\" for more information.\n")
            return None
        positional.append(arg)
    return values, positional


def _last(values: dict, name: str, default=None):
    found = values.get(name)
    return found[-1] if found else default


def _target(values: dict, env: dict, positional: list[str], ctx) -> tuple[str | None, int, str, str]:
    host = _last(values, "host") or env.get("PGHOST") or None
    port_text = _last(values, "port") or env.get("PGPORT") or str(PORT)
    user = _last(values, "user") or (positional[1] if len(positional) > 1 else None) or \
        env.get("PGUSER") or _os_user(ctx)
    database = _last(values, "dbname") or (positional[0] if positional else None) or \
        env.get("PGDATABASE") or user
    return host, int(port_text) if port_text.isdigit() else PORT, user, database


PSQL_FLAGS = {"-X": "no_psqlrc", "--no-psqlrc": "no_psqlrc", "-q": "quiet", "--quiet": "quiet",
              "-t": "tuples_only", "--tuples-only": "tuples_only", "-A": "unaligned",
              "--no-align": "unaligned", "-w": "no_password", "--no-password": "no_password",
              "-W": "password", "-e": "echo", "-a": "echo_all", "-1": "single", "-b": "echo_errors"}


def format_result(result: Result, tuples_only: bool, unaligned: bool, quiet: bool) -> str:
    """What psql prints for one result."""
    if result.rows is None:
        return "" if quiet else result.tag + "\n"
    cells = [[render(value) for value in row] for row in result.rows]
    if unaligned:
        lines = [] if tuples_only else ["|".join(result.columns)]
        lines += ["|".join(row) for row in cells]
        if not tuples_only:
            lines.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
        return "".join(line + "\n" for line in lines)
    numeric = [any(_is_number(row[i]) for row in result.rows) for i in range(len(result.columns))]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(result.columns)]
    lines = []
    if not tuples_only:
        headers = []
        for name, width in zip(result.columns, widths, strict=True):
            left = (width - len(name)) // 2
            headers.append(" " * left + name + " " * (width - len(name) - left))
        lines.append(" " + " | ".join(headers) + " ")
        lines.append("-" + "-+-".join("-" * width for width in widths) + "-")
    for row in cells:
        parts = []
        for index, (text, width) in enumerate(zip(row, widths, strict=True)):
            if numeric[index]:
                parts.append(text.rjust(width))
            elif index == len(row) - 1:
                parts.append(text)
            else:
                parts.append(text.ljust(width))
        lines.append((" " + " | ".join(parts)).rstrip() if not parts[-1] else " " + " | ".join(parts))
    if not tuples_only:
        lines.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
    return "".join(line + "\n" for line in lines) + "\n"


async def psql(shell, argv, io, env) -> int:
    """`psql [-U user] [-d db] [-h host] [-p port] [-X] [-q] [-t] [-A] [-c SQL]... [-v x=y] [-f file]`."""
    parsed = _client_options("psql", argv, PSQL_FLAGS, io)
    if parsed is None:
        return 1
    values, positional = parsed
    if "--version" in argv[1:] or "-V" in argv[1:]:
        io.stdout.write(f"psql (PostgreSQL) {shell.vars.get('PG_VERSION', DEFAULT_VERSION).split('-')[0]}"
                        f" (Debian {shell.vars.get('PG_VERSION', DEFAULT_VERSION)})\n")
        return 0
    host, port, user, database = _target(values, env, positional, shell.ctx)
    variables = dict(item.partition("=")[::2] for item in values.get("variable", []))
    stop_on_error = variables.get("ON_ERROR_STOP", "").lower() in ("1", "on", "true", "yes")
    tuples_only, unaligned, quiet = "tuples_only" in values, "unaligned" in values, "quiet" in values
    queries = list(values.get("command", []))
    for script in values.get("file", []):
        try:
            queries.append(shell.files.read(shell.path(script)) if script != "-" else await io.stdin.read())
        except OSError:
            io.stderr.write(f"psql: error: {script}: No such file or directory\n")
            return 1
    if not queries:
        queries = [await io.stdin.read()]
    try:
        session = await connect(shell.ctx, host, port, user=user, database=database, env=env)
    except ConnectFailure as failure:
        io.stderr.write(f"psql: error: {failure}\n")
        return 2
    status = 0
    for query in queries:
        try:
            results = await session.execute(query)
            failure = None
        except SqlError as error:
            results, failure = error.results, error
        except ConnectionLost as lost:
            io.stderr.write(f"{lost}\n{LOST}\nconnection to server was lost\n")
            return 2
        for notice in session.notices:
            io.stderr.write(notice + "\n")
        session.notices.clear()
        for result in results:
            io.stdout.write(format_result(result, tuples_only, unaligned, quiet))
        status = 0
        if failure is not None:
            io.stderr.write(failure.text(query))
            status = 1
            if stop_on_error:
                return 3 if values.get("file") else 1
    return status


async def pg_isready(shell, argv, io, env) -> int:
    """`pg_isready [-h host] [-p port] [-U user] [-d db] [-t seconds] [-q]`: exit 0, 1, 2."""
    parsed = _client_options("pg_isready", argv, {"-q": "quiet", "--quiet": "quiet"}, io)
    if parsed is None:
        return 3
    values, positional = parsed
    host, port, _, _ = _target(values, env, positional, shell.ctx)
    timeout = float(_last(values, "timeout", "3") or 3)
    shown = f"{host}:{port}" if host else f"{SOCKET_DIR}:{port}"
    answer, code = "no response", 2
    try:
        server, _, _ = _find(shell.ctx, host, port)
        if _path_open(shell.ctx, server.ctx):
            if server.state in ("starting", "stopping", "stopped"):
                answer, code = "rejecting connections", 1
            else:
                answer, code = "accepting connections", 0
        elif timeout:
            await shell.clock.sleep(timeout)
    except ConnectFailure:
        pass
    if "quiet" not in values:
        io.stdout.write(f"{shown} - {answer}\n")
    return code


BASEBACKUP_FLAGS = {"-R": "recovery", "--write-recovery-conf": "recovery", "-P": "progress",
                    "--progress": "progress", "-v": "verbose", "--verbose": "verbose", "-w": "no_password",
                    "--no-password": "no_password", "-n": "no_clean", "-N": "no_sync"}


def _conninfo_line(user: str, host: str, port: int) -> str:
    conninfo = (f"user={user} passfile=''/var/lib/postgresql/.pgpass'' channel_binding=prefer "
                f"host={host} port={port} sslmode=prefer sslcompression=0 sslcertmode=allow sslsni=1 "
                "ssl_min_protocol_version=TLSv1.2 gssencmode=prefer krbsrvname=postgres gssdelegation=0 "
                "target_session_attrs=any load_balance_hosts=disable")
    return f"primary_conninfo = '{conninfo}'\n"


async def pg_basebackup(shell, argv, io, env) -> int:
    """`pg_basebackup -h HOST -D DIR [-U user] [-p port] [-R] [-X stream] [-c fast] [-P] [-v]`."""
    parsed = _client_options("pg_basebackup", argv, BASEBACKUP_FLAGS, io)
    if parsed is None:
        return 1
    values, positional = parsed
    target = _last(values, "pgdata")
    if not target:
        io.stderr.write("pg_basebackup: error: no target directory specified\n"
                        'pg_basebackup: hint: Try "pg_basebackup --help" for more information.\n')
        return 1
    files, clock, ctx = shell.ctx.files, shell.clock, shell.ctx
    target = shell.path(target)
    if files.exists(target) and (not files.is_dir(target) or files.listdir(target)):
        io.stderr.write(f'pg_basebackup: error: directory "{target}" exists but is not empty\n')
        return 1
    host, port, user, _ = _target(values, env, [], ctx)
    try:
        session = await connect(ctx, host, port, user=user, database="replication", replication=True, env=env)
    except ConnectFailure as failure:
        io.stderr.write(f"pg_basebackup: error: {failure}\n")
        return 1
    upstream = session.server
    verbose = "verbose" in values
    if verbose:
        io.stderr.write("pg_basebackup: initiating base backup, waiting for checkpoint to complete\n")
    if not upstream.in_recovery:
        upstream.log("LOG:  checkpoint starting: immediate force wait", pid=upstream.checkpointer_pid)
        upstream.data.checkpoint(clock.now())
        upstream.wal_written()
        upstream.log("LOG:  checkpoint complete: wrote 7 buffers (0.0%); 0 WAL file(s) added, 0 removed, "
                     "0 recycled", pid=upstream.checkpointer_pid)
    start = upstream.data.checkpoint_lsn
    if verbose:
        io.stderr.write(f"pg_basebackup: checkpoint completed\npg_basebackup: write-ahead log start point: "
                        f"{format_lsn(start)} on timeline {upstream.data.timeline}\n")
    await clock.sleep(BASEBACKUP_SECONDS)
    if upstream.state != "running" or not _path_open(ctx, upstream.ctx):
        io.stderr.write(f"pg_basebackup: error: could not read COPY data: {LOST}\n")
        return 1
    if not upstream.in_recovery:
        upstream.data.switch_segment()
        upstream.wal_written()
    backup = upstream.data.copy()
    backup.checkpoint_lsn, backup.checkpoint_timeline = start, upstream.data.checkpoint_timeline
    config = {name: upstream.read_file(name) for name in ("postgresql.conf", "pg_hba.conf")}
    auto = upstream.read_file("postgresql.auto.conf") or AUTO_CONF_HEADER
    if "recovery" in values:
        auto += _conninfo_line(user, host or "/var/run/postgresql", port)
        config["standby.signal"] = ""
    config["postgresql.auto.conf"] = auto
    config["backup_label.old"] = (f"START WAL LOCATION: {format_lsn(start)} (file "
                                  f"{wal_file_name(backup.timeline, start + 1)})\nBACKUP METHOD: streamed\n"
                                  f"BACKUP FROM: {'standby' if upstream.in_recovery else 'primary'}\n")
    try:
        keep_directory(files, target, backup)
        write_data_directory(files, target, upstream.version, config)
    except OSError as error:
        io.stderr.write(f'pg_basebackup: error: could not create directory "{target}": {error.strerror}\n')
        return 1
    if verbose:
        io.stderr.write(f"pg_basebackup: write-ahead log end point: {format_lsn(backup.lsn)}\n"
                        "pg_basebackup: syncing data to disk ...\npg_basebackup: base backup completed\n")
    return 0


async def pg_dumpall(shell, argv, io, env) -> int:
    """`pg_dumpall [-U user] [-h host] [-p port] [-f file]`: a plain SQL dump."""
    parsed = _client_options("pg_dumpall", argv, {"-w": "no_password", "-c": "clean"}, io)
    if parsed is None:
        return 1
    values, _ = parsed
    host, port, user, _ = _target(values, env, [], shell.ctx)
    try:
        session = await connect(shell.ctx, host, port, user=user, database="postgres", env=env)
    except ConnectFailure as failure:
        io.stderr.write(f"pg_dumpall: error: {failure}\n")
        return 1
    text = session.server.dump()
    output = _last(values, "file") or _last(values, "output")
    if not output:
        io.stdout.write(text)
        return 0
    try:
        shell.files.write(shell.path(output), text)
    except OSError as error:
        io.stderr.write(f'pg_dumpall: error: could not open output file "{output}": '
                        f"{error.strerror or 'No such file or directory'}\n")
        return 1
    return 0


def postgres_model(container: dict) -> base.ImageModel:
    """The registry's hook for the postgres image."""
    from k8s_course.sim.images import registry  # registry imports this module

    reference = registry.parse_reference(container.get("image") or "")
    flavour = BUSYBOX if "alpine" in reference.tag else DEBIAN
    entrypoint, cmd = registry.ENTRYPOINTS.get("postgres", (["docker-entrypoint.sh"], ["postgres"]))
    argv = registry.process_argv(container, entrypoint, cmd)
    return PostgresImage(argv, flavour, version_for(reference.tag))


# ---------------------------------------------------------------------------------------------
# python /app/pg_writer.py: the write-load generator's own core over simulated connections
# ---------------------------------------------------------------------------------------------


SQLSTATES = (("read-only transaction", "25006"), ("duplicate key", "23505"), ("does not exist", "42P01"),
             ("syntax error", "42601"), ("not-null constraint", "23502"))


class SimulatedConnection:
    """The writer's `Connection` over a simulated session: `await execute(sql)` -> command tag.

    Raises the writer module's DatabaseError for an SQL error and ConnectionResetError when the
    server went away; a server on a cut-off node never answers (the writer's timeout ends it)."""

    def __init__(self, session: Session, database_error):
        self.session = session
        self.database_error = database_error

    async def execute(self, sql: str) -> str:
        try:
            results = await self.session.execute(sql)
        except SqlError as error:
            code = next((state for words, state in SQLSTATES if words in error.message), "XX000")
            raise self.database_error(error.message, code, error.severity) from None
        except ConnectionLost:
            raise ConnectionResetError(104, "Connection reset by peer") from None
        return results[-1].tag if results else "EMPTY"

    async def close(self) -> None:
        return None


def _socket_error(failure: ConnectFailure, database_error) -> Exception:
    """What a socket client sees for a failed connection, as an exception."""
    import errno
    import socket

    text = str(failure)
    if "could not translate host name" in text:
        return socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if "Connection refused" in text:
        return ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    if "Connection timed out" in text:
        return TimeoutError(errno.ETIMEDOUT, "Connection timed out")
    if "FATAL:  " in text:
        return database_error(text.split("FATAL:  ", 1)[1].split("\n")[0], "57P03", "FATAL")
    return ConnectionError(text.split("\n")[0])


def writer_connect(ctx, database_error, split_target, user: str = "postgres", database: str = "postgres"):
    """`connect(target)` for the writer's core (`host:port`), from the container `ctx`."""

    async def connect_to(target: str) -> SimulatedConnection:
        host, port = split_target(target)
        try:
            session = await connect(ctx, host, port, user=user, database=database)
        except ConnectFailure as failure:
            raise _socket_error(failure, database_error) from None
        return SimulatedConnection(session, database_error)

    return connect_to


async def pg_writer_program(shell, argv: list[str], io, env: dict) -> int:
    """`python /app/pg_writer.py [options]`: the write-load generator's own loop
    (k8s_course.workloads.pg_writer.run_writer) on this cluster's simulated servers."""
    import contextlib
    import io as io_module

    from k8s_course.workloads import pg_writer as core

    ctx = shell.ctx
    captured = io_module.StringIO()
    try:
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
            settings = core.settings_from(list(argv[1:]), dict(env))
    except SystemExit as finished:
        code = finished.code if isinstance(finished.code, int) else 2
        (io.stdout if code == 0 else io.stderr).write(captured.getvalue())
        return code
    except ValueError as error:
        io.stderr.write(f"pg_writer: {error}\n")
        return 2

    def log(line: str) -> None:
        io.stdout.write(line + "\n")  # print(..., flush=True) in the real program

    log(f"pg_writer: writing to {settings.target} at {settings.rate:g}/s, timeout {settings.timeout:g} s")
    connect_to = writer_connect(ctx, core.DatabaseError, core.split_target, settings.user, settings.database)
    task = asyncio.ensure_future(core.run_writer(settings, connect_to, ctx.clock.now, ctx.clock.sleep, log))
    stopping = asyncio.ensure_future((shell.stopping or ctx.stopping).wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()  # SIGTERM: the real program's signal handler cancels the loop
        await asyncio.gather(task, return_exceptions=True)
    log("pg_writer: stopped")
    return 0


__all__ = [
    "ConnectFailure", "ConnectionLost", "DataDirectory", "Link", "Lsn", "PgServers", "PostgresImage",
    "PostgresServer", "Receiver", "Result", "Session", "SimulatedConnection", "SqlError", "connect",
    "directory_at", "format_lsn", "format_result", "keep_directory", "parse_conninfo", "parse_query",
    "parse_sync_names", "pg_basebackup", "pg_dumpall", "pg_isready", "pg_writer_program",
    "postgres_model", "psql", "read_config", "servers_for", "version_for", "writer_connect",
]
