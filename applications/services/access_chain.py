"""The access log's hash chain: sealing rows into it, and walking it to find a broken link.

Why sealing is separate from writing. Every read of personal data in the country writes a log row (registry checks
in bulk inside transactions that hold an application's row lock, staff lists, channel and citizen reads). Chaining
at insert would make each writer read and update one head row, so every such transaction would queue behind the
others on that one lock until it commits. Instead writers only INSERT, exactly as before, and a sealer (the beat
task `seal_access_log`, every minute, or `manage.py verify_access_log --seal`) appends the committed, unsealed rows
to the chain afterwards: it locks the one `AccessLogHead` row (no writer ever touches it), reads a batch of unsealed
rows in id order, gives each the next position, `previous_hash` = the hash before it and `row_hash` =
sha256(previous_hash + the row's canonical form), writes the batch back in one UPDATE and moves the head, all in one
short transaction per batch. A second sealer waits on the head (or, from beat, skips the round).

What the sealer does not need: a settling delay. A position is given when a row is sealed, never derived from its
id, so a row whose transaction commits late (a lower id than rows already sealed) is simply sealed in a later round.
Sealing UPDATEs only the seal columns, so PostgreSQL runs no foreign-key check and takes no lock on the
application rows the registry checks hold; writers and readers never wait for it.

What the chain adds to the triggers. The triggers refuse UPDATE and DELETE from every session that does not switch
them off; the table's owner can. The chain then finds the change: an edited row's hash no longer matches (its
position is reported), a row deleted from the middle leaves a gap and a `previous_hash` that matches nothing, and a
deleted tail falls short of the head. What it cannot find is a whole chain rewritten from some row to the head;
against that, keep the head (`position hash`, printed by every verification) somewhere the database's owner cannot
write, and pass it back with `--expect-head`.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from ..models import GENESIS_HASH, SEALED_FIELDS, AccessLogHead, PersonalDataAccess

SEAL_BATCH_SIZE = 5000
VERIFY_BATCH_SIZE = 5000

# The columns a row's hash covers, in this order: id, application_id, at, actor_kind, actor_user_id,
# actor_organisation_id, role, registry, purpose, what (the same list the update trigger keeps unchanged).
_COLUMNS = tuple(PersonalDataAccess._meta.get_field(name).attname for name in SEALED_FIELDS)


def canonical_form(row: tuple) -> str:
    """One row's immutable columns (in `_COLUMNS` order) as one unambiguous string: JSON, the time in UTC with
    microseconds, the application's UUID in its hyphenated form."""
    row_id, application_id, at, *rest = row
    return json.dumps([row_id, str(application_id), at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), *rest],
                      ensure_ascii=False, separators=(",", ":"))


def row_hash(previous_hash: str, row: tuple) -> str:
    return hashlib.sha256((previous_hash + canonical_form(row)).encode()).hexdigest()


def _head_for_update(*, wait: bool) -> AccessLogHead | None:
    AccessLogHead.objects.bulk_create([AccessLogHead(id=1)], ignore_conflicts=True)
    heads = AccessLogHead.objects.select_for_update(skip_locked=not wait).filter(id=1)
    return heads.first()


def _write_seals(seals: list[tuple[int, int, str, str]]) -> None:
    """(id, position, previous_hash, row_hash) for each row, in one statement on PostgreSQL."""
    table = PersonalDataAccess._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, positions, previous, hashes = (list(column) for column in zip(*seals, strict=True))
            cursor.execute(
                f"UPDATE {table} AS log SET seal_position = seal.position, previous_hash = seal.previous_hash, "
                f"row_hash = seal.row_hash FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[]) "
                f"AS seal(id, position, previous_hash, row_hash) "
                f"WHERE log.id = seal.id AND log.seal_position IS NULL",
                [ids, positions, previous, hashes])
        else:
            cursor.executemany(
                f"UPDATE {table} SET seal_position = %s, previous_hash = %s, row_hash = %s "
                f"WHERE id = %s AND seal_position IS NULL",
                [(position, previous_hash, hash_, row_id) for row_id, position, previous_hash, hash_ in seals])
        if cursor.rowcount != len(seals):
            raise RuntimeError(f"sealed {cursor.rowcount} rows of {len(seals)}: another sealer without the head lock?")


def seal_access_log(*, batch_size: int = SEAL_BATCH_SIZE, wait: bool = True, limit: int | None = None) -> int:
    """Append every committed, unsealed access-log row to the chain, a batch per transaction; how many were sealed.
    With wait=False a round that finds another sealer at work seals nothing."""
    sealed = 0
    while limit is None or sealed < limit:
        size = batch_size if limit is None else min(batch_size, limit - sealed)
        with transaction.atomic():
            head = _head_for_update(wait=wait)
            if head is None:
                return sealed
            rows = list(PersonalDataAccess.objects.filter(seal_position__isnull=True).order_by("id")
                        .values_list(*_COLUMNS)[:size])
            if not rows:
                return sealed
            position, previous_hash, seals = head.last_position, head.last_hash, []
            for row in rows:
                position += 1
                hash_ = row_hash(previous_hash, row)
                seals.append((row[0], position, previous_hash, hash_))
                previous_hash = hash_
            _write_seals(seals)
            AccessLogHead.objects.filter(id=1).update(last_position=position, last_hash=previous_hash,
                                                      sealed_at=timezone.now())
        sealed += len(rows)
        if len(rows) < size:
            return sealed
    return sealed


@dataclass
class ChainReport:
    """What a walk of the chain found: the rows checked, the first broken link (if any), the head, the unsealed."""

    checked: int
    head_position: int
    head_hash: str
    unsealed: int
    oldest_unsealed: datetime | None
    broken_position: int | None = None
    broken_row_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_position is None


def verify_access_log(*, batch_size: int = VERIFY_BATCH_SIZE, expect_head: tuple[int, str] | None = None
                      ) -> ChainReport:
    """Walk the chain in seal order, a batch at a time (constant memory), recompute every hash and stop at the first
    broken link. The head is read first, so rows a sealer adds meanwhile are left for the next walk."""
    head = AccessLogHead.objects.filter(id=1).first() or AccessLogHead(id=1)
    unsealed = PersonalDataAccess.objects.filter(seal_position__isnull=True)
    report = ChainReport(checked=0, head_position=head.last_position, head_hash=head.last_hash,
                         unsealed=unsealed.count(),
                         oldest_unsealed=unsealed.order_by("at").values_list("at", flat=True).first())

    def broken(position: int, row_id: int | None, problem: str) -> ChainReport:
        report.broken_position, report.broken_row_id, report.problem = position, row_id, problem
        return report

    if expect_head is not None and expect_head[0] > head.last_position:
        return broken(expect_head[0], None, "head_behind_record")
    position, previous_hash = 0, GENESIS_HASH
    while position < head.last_position:
        batch = list(PersonalDataAccess.objects
                     .filter(seal_position__gt=position, seal_position__lte=head.last_position)
                     .order_by("seal_position")
                     .values_list("seal_position", "previous_hash", "row_hash", *_COLUMNS)[:batch_size])
        if not batch:
            return broken(position + 1, None, "missing_tail")
        for seal_position, recorded_previous, recorded_hash, *row in batch:
            if seal_position != position + 1:
                return broken(position + 1, None, "missing_row")
            if recorded_previous != previous_hash:
                return broken(seal_position, row[0], "previous_hash_mismatch")
            if row_hash(previous_hash, tuple(row)) != recorded_hash:
                return broken(seal_position, row[0], "row_hash_mismatch")
            if expect_head is not None and seal_position == expect_head[0] and recorded_hash != expect_head[1]:
                return broken(seal_position, row[0], "head_differs_from_record")
            position, previous_hash = seal_position, recorded_hash
            report.checked += 1
    if previous_hash != head.last_hash:
        return broken(position, None, "head_hash_mismatch")
    return report
