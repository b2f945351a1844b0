"""SQL that the rollup and the selectors share, for PostgreSQL and SQLite alike."""


def seconds_between(connection, later: str, earlier: str) -> str:
    """SQL for the seconds between two timestamp expressions."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))::double precision"
    # julianday() is a float of days: rounded to the millisecond, 70 minutes is 4200 s, not 4200.0000001.
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


def compiled(queryset) -> tuple[str, tuple]:
    """A queryset's SQL and parameters, to be used as a subquery."""
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, tuple(params)
