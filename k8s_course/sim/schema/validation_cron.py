"""CronJob schedules: the standard 5-field cron syntax and the @hourly-style descriptors.

Kubernetes parses schedules with robfig/cron's standard parser; `schedule_error` returns
that parser's message for a schedule it would refuse (the API server reports it as
`spec.schedule: Invalid value: "...": <message>`), or None for a good schedule.
"""

from __future__ import annotations

import re

_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DAYS = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# (minimum, maximum, names) for minute, hour, day of month, month, day of week.
_FIELD_BOUNDS = ((0, 59, None), (0, 23, None), (1, 31, None), (1, 12, _MONTHS), (0, 6, _DAYS))
_DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$")


class _CronError(Exception):
    pass


def _must_parse_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise _CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    number = int(text)
    if number < 0:
        raise _CronError(f"negative number ({number}) not allowed: {text}")
    return number


def _int_or_name(text: str, names: dict | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    return _must_parse_int(text)


def _check_range(expression: str, minimum: int, maximum: int, names: dict | None) -> None:
    range_and_step = expression.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = minimum, maximum
    else:
        start = _int_or_name(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], names)
        else:
            raise _CronError(f"too many hyphens: {expression}")
    step = 1
    if len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = maximum
    elif len(range_and_step) > 2:
        raise _CronError(f"too many slashes: {expression}")
    if start < minimum:
        raise _CronError(f"beginning of range ({start}) below minimum ({minimum}): {expression}")
    if end > maximum:
        raise _CronError(f"end of range ({end}) above maximum ({maximum}): {expression}")
    if start > end:
        raise _CronError(f"beginning of range ({start}) beyond end of range ({end}): {expression}")
    if step == 0:
        raise _CronError(f"step of range should be a positive number: {expression}")


def _check(schedule: str) -> None:
    if not schedule:
        raise _CronError("empty spec string")
    if schedule.startswith(("TZ=", "CRON_TZ=")):
        _zone, _, schedule = schedule.partition(" ")
        schedule = schedule.strip()
    if schedule.startswith("@"):
        if schedule in _DESCRIPTORS:
            return
        if schedule.startswith("@every "):
            duration = schedule[len("@every "):]
            if not _GO_DURATION.match(duration):
                raise _CronError(f'failed to parse duration {schedule}: time: invalid duration "{duration}"')
            return
        raise _CronError(f"unrecognized descriptor: {schedule}")
    fields = schedule.split()
    if len(fields) != 5:
        raise _CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for text, (minimum, maximum, names) in zip(fields, _FIELD_BOUNDS, strict=True):
        for expression in text.split(","):
            _check_range(expression, minimum, maximum, names)


def schedule_error(schedule: str) -> str | None:
    """The cron parser's complaint about a schedule, or None if it parses."""
    try:
        _check(schedule)
    except _CronError as error:
        return str(error)
    return None
