"""Answering SELECTs and expressions: the `Evaluator` one session uses on one server.

Part of the PostgreSQL model (overview in `postgres_models`). The parser (`postgres_sql`)
gives expression trees; this module evaluates them over a server's tables and its views
(pg_stat_replication, pg_stat_wal_receiver, pg_control_checkpoint(), pg_database,
pg_settings; their columns are VIEW_COLUMNS), with PostgreSQL's casts (`coerce`), type names
(`type_of`), comparisons, aggregates and NULL ordering. The rows of the views and the
functions (`pg_current_wal_lsn()`, `pg_promote()`, ...) come from the server
(`PostgresServer.replication_rows`, `.function`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from k8s_course.sim.images import postgres_connections, postgres_sql

if TYPE_CHECKING:  # annotations only: the server module imports this one
    from k8s_course.sim.images import postgres_server




# ---------------------------------------------------------------------------------------------
# Running statements
# ---------------------------------------------------------------------------------------------


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
    return any(part[0] == "fn" and part[1] in postgres_sql.AGGREGATES for part in _walk(node))


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


def type_of(value) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, postgres_sql.Lsn):
        return "pg_lsn"
    if isinstance(value, postgres_sql.Stamp):
        return "timestamp with time zone"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "numeric"
    return "unknown" if not isinstance(value, postgres_sql.Bits) else "bit"


def coerce(value, type_name: str):
    """A value into a column's (or a cast's) type, or the error PostgreSQL gives."""
    if value is None:
        return None
    if type_name in postgres_sql.INTEGER_TYPES:
        if isinstance(value, postgres_sql.Bits):
            number = int(value, 2) if value else 0
            width = len(value)
            return number - (1 << width) if width and number >> (width - 1) else number
        if isinstance(value, bool):
            raise postgres_sql.SqlError(f"cannot cast type boolean to {type_name}")
        if isinstance(value, (int, float)) and not isinstance(value, postgres_sql.Stamp):
            return int(round(value))
        try:
            return int(str(value).strip())
        except ValueError:
            raise postgres_sql.SqlError(f'invalid input syntax for type {type_name}: "{value}"') from None
    if type_name == "text":
        return postgres_sql.render(value)
    if type_name == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("t", "true", "yes", "on", "1", "y"):
            return True
        if text in ("f", "false", "no", "off", "0", "n"):
            return False
        raise postgres_sql.SqlError(f'invalid input syntax for type boolean: "{value}"')
    if type_name in ("timestamp with time zone", "timestamp without time zone"):
        if isinstance(value, postgres_sql.Stamp):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip().replace(" ", "T").replace("+00", "+00:00"))
        except ValueError:
            raise postgres_sql.SqlError(f'invalid input syntax for type timestamp with time zone: "{value}"') from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return postgres_sql.Stamp(moment.timestamp())
    if type_name == "bit":
        text = str(value)
        if text[:1] in ("x", "X"):
            try:
                return postgres_sql.Bits("".join(f"{int(digit, 16):04b}" for digit in text[1:]))
            except ValueError:
                raise postgres_sql.SqlError(f'"{text[1:]}" is not a valid hexadecimal digit') from None
        if set(text) - {"0", "1"}:
            raise postgres_sql.SqlError(f'"{text}" is not a valid binary digit')
        return postgres_sql.Bits(text)
    if type_name == "pg_lsn":
        return value if isinstance(value, postgres_sql.Lsn) else postgres_sql.Lsn(postgres_sql.parse_lsn(str(value)))
    if type_name in ("numeric", "real", "double precision"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise postgres_sql.SqlError(f'invalid input syntax for type {type_name}: "{value}"') from None
        return int(number) if number.is_integer() and type_name == "numeric" else number
    return value


def _compare(op: str, left, right):
    if left is None or right is None:
        return None
    if isinstance(left, str) != isinstance(right, str):
        try:
            if isinstance(left, str):
                left = coerce(left, type_of(right)) if type_of(right) != "unknown" else left
            else:
                right = coerce(right, type_of(left)) if type_of(left) != "unknown" else right
        except postgres_sql.SqlError:
            raise postgres_sql.SqlError(f"operator does not exist: {type_of(left)} {op} {type_of(right)}") from None
    return {"=": left == right, "<>": left != right, "!=": left != right, "<": left < right,
            ">": left > right, "<=": left <= right, ">=": left >= right}[op]


class Evaluator:
    """Evaluates expressions and SELECTs for one session on one server."""

    def __init__(self, server: postgres_server.PostgresServer, session: postgres_connections.Session):
        self.server = server
        self.session = session

    async def select(self, query: postgres_sql.Select) -> postgres_sql.Result:
        rows, source_columns = self.source(query.source)
        if query.where is not None:
            rows = [row for row in rows if await self.value(query.where, row) is True]
        items = []
        for node, alias in query.items:
            if node == ("star",):
                if query.source is None:
                    raise postgres_sql.SqlError("SELECT * with no tables specified is not valid")
                items.extend((("col", name, 0), None) for name in source_columns)
            else:
                items.append((node, alias))
        names = [_column_name(node, alias) for node, alias in items]
        if any(_contains_aggregate(node) for node, _ in items):
            for node, _ in items:
                if not _contains_aggregate(node):
                    column = _first_column(node)
                    if column is not None:
                        raise postgres_sql.SqlError(f'column "{column[1]}" must appear in the GROUP BY clause or be '
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
        return postgres_sql.Result(names, output, f"SELECT {len(output)}")

    async def _order_key(self, node, row, values, names):
        if node[0] == "lit" and isinstance(node[1], int) and not isinstance(node[1], bool):
            if not 1 <= node[1] <= len(values):
                raise postgres_sql.SqlError(f"ORDER BY position {node[1]} is not in select list")
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
            raise postgres_sql.SqlError(f"function {name}() does not exist", position=position,
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
        raise postgres_sql.SqlError(f'relation "{name}" does not exist', position=position)

    async def value(self, node, row: dict, group: list[dict] | None = None):
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "col":
            if row is not None and node[1] in row:
                return row[node[1]]
            raise postgres_sql.SqlError(f'column "{node[1]}" does not exist', position=node[2])
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
                raise postgres_sql.SqlError("subquery must return only one column")
            if len(result.rows) > 1:
                raise postgres_sql.SqlError("more than one row returned by a subquery used as an expression")
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
            return None if left is None or right is None else postgres_sql.render(left) + postgres_sql.render(right)
        if kind == "arith":
            left, right = await self.value(node[2], row, group), await self.value(node[3], row, group)
            if left is None or right is None:
                return None
            if isinstance(left, str) or isinstance(right, str):
                left, right = coerce(left, "numeric"), coerce(right, "numeric")
            op = node[1]
            if op in ("/", "%") and right == 0:
                raise postgres_sql.SqlError("division by zero")
            if op == "/":
                return left // right if isinstance(left, int) and isinstance(right, int) else left / right
            return {"+": left + right, "-": left - right, "*": left * right, "%": left % right}[op] \
                if op != "-" or not isinstance(left, postgres_sql.Lsn) else int(left) - int(right)
        if kind == "cast":
            return coerce(await self.value(node[1], row, group), node[2])
        if kind == "star":
            raise postgres_sql.SqlError('syntax error at or near "*"')
        raise postgres_sql.SqlError(f"cannot evaluate {kind}")

    async def call(self, node, row, group):
        _, name, args, position = node
        server = self.server
        if name in postgres_sql.AGGREGATES:
            if group is None:
                raise postgres_sql.SqlError("aggregate functions are not allowed in WHERE", position=position)
            if name == "count" and args == [("star",)]:
                return len(group)
            if len(args) != 1:
                raise postgres_sql.SqlError(f"function {name}() does not exist", position=position)
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
