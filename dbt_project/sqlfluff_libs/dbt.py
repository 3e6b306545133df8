"""Stand-ins for dbt's cross-database macros (dbt.dateadd, ...) so sqlfluff's plain
jinja templater can render the models. Lint only: dbt never imports this file."""


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: str, from_date_or_timestamp: str) -> str:
    return f"({from_date_or_timestamp} + {interval} * interval 1 {datepart})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def last_day(date: str, datepart: str) -> str:
    return f"last_day({date})"
