"""The SQL the simulated PostgreSQL understands: its values, its errors, and the parser.

Part of the PostgreSQL model (overview in `postgres_models`). This module owns the text side
of SQL: `parse_query` turns a query string into `Statement`s (SELECT trees, CREATE TABLE,
INSERT, ALTER SYSTEM, ...); `SqlError` is an error worded as PostgreSQL words it (psql prints
`ERROR:  message` with LINE, DETAIL and HINT); `Result` is what a statement answers; `Lsn`,
`Stamp` and `Bits` are values that print as PostgreSQL prints them. Evaluating the trees is
`postgres_queries` (expressions, SELECT) and `postgres_server` (the other statements).

What is modelled (`Session.execute`): the statements of the chapter's contract (operator and
app), plus a small honest subset around them: SELECT with expressions, CASE, COALESCE, casts,
scalar subqueries, count/max/min/sum/avg, WHERE, ORDER BY, LIMIT over tables and
pg_stat_replication, pg_stat_wal_receiver, pg_control_checkpoint(), pg_database; CREATE
TABLE, INSERT, DROP TABLE, TRUNCATE, ALTER SYSTEM SET/RESET, SHOW, SET, CHECKPOINT,
BEGIN/COMMIT. Errors are worded as PostgreSQL words them; other SQL commands say they are not
modelled (NOT_MODELLED), and anything else is a syntax error at its first word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

TERMINATED = "FATAL:  terminating connection due to administrator command"
NOT_MODELLED = ('k8s-course simulator: "{what}" is not modelled by the simulated PostgreSQL '
                "(see docs); run this lesson on kind to use it")


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


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, (bool, Lsn, Stamp))


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


def read_only_error(command: str) -> SqlError:
    return SqlError(f"cannot execute {command} in a read-only transaction")


def not_modelled_error(what: str) -> SqlError:
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
            raise not_modelled_error(self.tokens[self.index - 1].upper)
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
            raise not_modelled_error("CREATE " + (parser.peek().text.upper() if parser.peek() else ""))
        parser.accept_word("UNLOGGED")
        statement.node = _create_table(parser)
    elif word == "DROP":
        parser.next()
        if not parser.accept_word("TABLE"):
            raise not_modelled_error("DROP " + (parser.peek().text.upper() if parser.peek() else ""))
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
            raise not_modelled_error("ALTER " + (parser.peek().text.upper() if parser.peek() else ""))
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
        raise not_modelled_error(word)
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
        raise not_modelled_error("INSERT ... " + parser.peek().text.upper())
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
        raise not_modelled_error("INSERT ... " + parser.peek().text.upper())
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


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple] | None  # None: a command (its tag is what psql prints)
    tag: str
