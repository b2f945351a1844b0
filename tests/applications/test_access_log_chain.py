"""The access log is append-only in the database (triggers) and chained by hashes that `verify_access_log` checks.

Tampering is done as the database's owner would: with the trigger switched off for the statement (pgtrigger.ignore),
which on SQLite, where there is no trigger, changes nothing.
"""

import threading

import pgtrigger
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError

from applications.models import GENESIS_HASH, AccessLogHead, Application, PersonalDataAccess, StatusChange
from applications.services import access_chain, log_staff_read
from applications.tasks import seal_access_log
from tests.factories import ApplicationFactory, StaffFactory

UPDATE_TRIGGER = "applications.PersonalDataAccess:append_only_update"
DELETE_TRIGGER = "applications.PersonalDataAccess:append_only_delete"
HEAD_TRIGGER = "applications.AccessLogHead:head_forward"


def write_reads(application, count):
    officer = StaffFactory()
    return [log_staff_read(application=application, user=officer, purpose=PersonalDataAccess.Purpose.CASE_HANDLING,
                           what="application") for _ in range(count)]


def verify(*args):
    """The command's output (in English: it speaks the site's language, Kazakh by default), and its exit status as
    manage.py would give it."""
    from io import StringIO

    from django.utils import translation

    out = StringIO()
    try:
        with translation.override("en"):
            call_command("verify_access_log", *args, stdout=out)
    except CommandError as error:
        return out.getvalue() + str(error), error.returncode
    return out.getvalue(), 0


def as_owner_edit(row_id, **changes):
    with pgtrigger.ignore(UPDATE_TRIGGER):
        PersonalDataAccess.objects.filter(pk=row_id).update(**changes)


def as_owner_delete(*row_ids):
    with pgtrigger.ignore(DELETE_TRIGGER):
        PersonalDataAccess.objects.filter(pk__in=row_ids).delete()


def refused(action):
    """The database refused the statement (pgtrigger raises from PL/pgSQL); the test's transaction goes on."""
    try:
        with transaction.atomic():
            action()
    except DatabaseError as error:
        return "pgtrigger" in str(error)
    return False


# --- the triggers (PostgreSQL) ----------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_updating_an_access_log_row_through_the_orm_and_raw_sql():
    row = write_reads(ApplicationFactory(), 1)[0]
    table = PersonalDataAccess._meta.db_table
    assert refused(lambda: PersonalDataAccess.objects.filter(pk=row.pk).update(what="photo"))

    def raw_update():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET role = 'admin' WHERE id = %s", [row.pk])

    assert refused(raw_update)
    row.refresh_from_db()
    assert (row.what, row.role) == ("application", "tson_operator")


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_deleting_an_access_log_row_through_the_orm_and_raw_sql():
    row = write_reads(ApplicationFactory(), 1)[0]
    table = PersonalDataAccess._meta.db_table
    assert refused(lambda: PersonalDataAccess.objects.filter(pk=row.pk).delete())

    def raw_delete():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row.pk])

    assert refused(raw_delete)
    assert PersonalDataAccess.objects.filter(pk=row.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_changing_or_deleting_status_history():
    change = ApplicationFactory().history.get()
    assert refused(lambda: StatusChange.objects.filter(pk=change.pk).update(to_status="issued"))
    assert refused(lambda: StatusChange.objects.filter(pk=change.pk).delete())
    assert StatusChange.objects.get(pk=change.pk).to_status == change.to_status


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_seal_is_set_once_and_nothing_else_changes_with_it():
    first, second = write_reads(ApplicationFactory(), 2)
    sealed = PersonalDataAccess.objects.filter(pk=first.pk)
    unsealed = PersonalDataAccess.objects.filter(pk=second.pk)
    # Sealing a row together with another column is refused, as is a seal without its hashes.
    assert refused(lambda: unsealed.update(seal_position=99, previous_hash="a" * 64, row_hash="b" * 64, what="x"))
    assert refused(lambda: unsealed.update(seal_position=99))
    assert access_chain.seal_access_log() == 2
    # Once sealed, the seal is fixed: not cleared, not replaced.
    assert refused(lambda: sealed.update(seal_position=None, previous_hash=None, row_hash=None))
    assert refused(lambda: sealed.update(row_hash="c" * 64))
    assert refused(lambda: AccessLogHead.objects.update(last_position=0))
    assert refused(lambda: AccessLogHead.objects.all().delete())
    assert verify()[1] == 0


# --- an application with a log or a history is never deleted ----------------------------------------------------


@pytest.mark.django_db
def test_an_application_whose_data_was_read_cannot_be_deleted():
    application = ApplicationFactory()
    write_reads(application, 1)
    with pytest.raises(ProtectedError):
        application.delete()
    assert Application.objects.filter(pk=application.pk).exists()


# --- the chain (both databases) ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sealing_gives_every_row_the_next_position_and_a_valid_chain():
    application = ApplicationFactory()
    rows = write_reads(application, 7)
    assert access_chain.seal_access_log(batch_size=3) == 7
    assert access_chain.seal_access_log() == 0
    sealed = list(PersonalDataAccess.objects.order_by("seal_position")
                  .values_list("id", "seal_position", "previous_hash", "row_hash"))
    assert [row_id for row_id, *_ in sealed] == [row.pk for row in rows]
    assert [position for _, position, *_ in sealed] == list(range(1, 8))
    assert sealed[0][2] == GENESIS_HASH
    assert all(sealed[i][2] == sealed[i - 1][3] for i in range(1, 7))
    head = AccessLogHead.objects.get()
    assert (head.last_position, head.last_hash) == (7, sealed[-1][3])
    report = access_chain.verify_access_log(batch_size=2)
    assert report.intact and report.checked == 7 and report.unsealed == 0


@pytest.mark.django_db
def test_rows_written_after_a_seal_are_reported_unsealed_then_sealed_on_the_next_round():
    application = ApplicationFactory()
    write_reads(application, 2)
    access_chain.seal_access_log()
    later = write_reads(application, 3)
    report = access_chain.verify_access_log()
    assert (report.intact, report.checked, report.unsealed) == (True, 2, 3)
    assert report.oldest_unsealed == later[0].at
    assert seal_access_log.apply().get() == 3
    assert access_chain.verify_access_log().checked == 5


@pytest.mark.django_db
def test_an_edited_row_is_found_with_its_position():
    rows = write_reads(ApplicationFactory(), 5)
    access_chain.seal_access_log()
    as_owner_edit(rows[2].pk, purpose=PersonalDataAccess.Purpose.SUPPORT)
    output, status = verify()
    assert status == 1
    assert f"Position 3 (row {rows[2].pk}): the row was changed after it was sealed." in output
    assert "Checked 2 sealed rows of 5." in output


@pytest.mark.django_db
def test_an_edited_row_whose_hash_was_recomputed_breaks_the_next_link():
    rows = write_reads(ApplicationFactory(), 4)
    access_chain.seal_access_log()
    row = PersonalDataAccess.objects.get(pk=rows[1].pk)
    forged = access_chain.row_hash(row.previous_hash, (row.id, row.application_id, row.at, row.actor_kind,
                                                       row.actor_user_id, row.actor_organisation_id, "police_officer",
                                                       row.registry, row.purpose, row.what))
    as_owner_edit(row.pk, role="police_officer", row_hash=forged)
    report = access_chain.verify_access_log()
    assert (report.broken_position, report.broken_row_id, report.problem) == (3, rows[2].pk,
                                                                               "previous_hash_mismatch")


@pytest.mark.django_db
def test_a_row_deleted_from_the_middle_is_found():
    rows = write_reads(ApplicationFactory(), 5)
    access_chain.seal_access_log()
    as_owner_delete(rows[1].pk)
    output, status = verify()
    assert status == 1
    assert "Position 2 is missing: a row was deleted." in output


@pytest.mark.django_db
def test_a_deleted_tail_is_found_against_the_head():
    rows = write_reads(ApplicationFactory(), 5)
    access_chain.seal_access_log()
    as_owner_delete(rows[3].pk, rows[4].pk)
    output, status = verify()
    assert status == 1
    assert "the rows from position 4 on were deleted" in output


@pytest.mark.django_db
def test_a_chain_rewritten_to_the_head_is_found_only_against_a_head_kept_elsewhere():
    rows = write_reads(ApplicationFactory(), 4)
    access_chain.seal_access_log()
    recorded = AccessLogHead.objects.get()
    kept = f"{recorded.last_position}:{recorded.last_hash}"
    # The owner edits row 2, clears the seals from there on, winds the head back and seals again.
    as_owner_edit(rows[1].pk, what="photo")
    with pgtrigger.ignore(UPDATE_TRIGGER, HEAD_TRIGGER):
        PersonalDataAccess.objects.filter(seal_position__gte=2).update(seal_position=None, previous_hash=None,
                                                                        row_hash=None)
        AccessLogHead.objects.update(last_position=1, last_hash=PersonalDataAccess.objects.get(pk=rows[0].pk).row_hash)
    access_chain.seal_access_log()
    assert verify()[1] == 0
    output, status = verify("--expect-head", kept)
    assert status == 1
    assert f"Position 4 (row {rows[3].pk}) differs from the recorded head" in output


def test_the_command_refuses_a_head_it_cannot_read():
    with pytest.raises(CommandError):
        call_command("verify_access_log", "--expect-head", "4:not-a-hash")


@pytest.mark.django_db
def test_the_command_seals_first_and_exits_0_on_an_intact_chain():
    write_reads(ApplicationFactory(), 3)
    output, status = verify("--seal")
    assert status == 0
    assert "Sealed 3 rows." in output
    assert "Checked 3 sealed rows of 3." in output
    assert "Not sealed yet: none." in output
    head = AccessLogHead.objects.get()
    assert f"Head: 3:{head.last_hash}" in output
    assert "The access log chain is intact." in output
    assert verify("--expect-head", f"3:{head.last_hash}")[1] == 0


def test_beat_seals_the_access_log_every_minute(settings):
    entry = next(entry for entry in settings.CELERY_BEAT_SCHEDULE.values()
                 if entry["task"] == "applications.tasks.seal_access_log")
    assert entry["schedule"] == 60.0


# --- writers and sealers at once (PostgreSQL, real threads) -----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_and_sealers_give_one_valid_chain_with_every_row_sealed_once():
    applications = [ApplicationFactory() for _ in range(4)]
    officer = StaffFactory()
    writers_done = threading.Event()
    errors = []

    def writer(application):
        try:
            for _ in range(25):
                with transaction.atomic():
                    # As the registry checks write: in bulk, under the application's row lock.
                    Application.objects.select_for_update().get(pk=application.pk)
                    PersonalDataAccess.objects.bulk_create(
                        PersonalDataAccess(application=application, actor_kind=PersonalDataAccess.ActorKind.STAFF,
                                           actor_user=officer, role=officer.role, what="application",
                                           purpose=PersonalDataAccess.Purpose.CASE_HANDLING) for _ in range(8))
        except Exception as error:  # noqa: BLE001 -- reported by the test
            errors.append(error)
        finally:
            connection.close()

    def sealer(wait):
        try:
            while not writers_done.is_set():
                access_chain.seal_access_log(batch_size=37, wait=wait)
        except Exception as error:  # noqa: BLE001 -- reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(application,)) for application in applications]
    sealers = [threading.Thread(target=sealer, args=(wait,)) for wait in (True, False)]
    for thread in sealers + threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    writers_done.set()
    for thread in sealers:
        thread.join(timeout=120)
    assert not errors, errors
    access_chain.seal_access_log()
    total = PersonalDataAccess.objects.count()
    assert total == 4 * 25 * 8
    positions = sorted(PersonalDataAccess.objects.values_list("seal_position", flat=True))
    assert positions == list(range(1, total + 1))
    report = access_chain.verify_access_log(batch_size=97)
    assert report.intact and report.checked == total and report.unsealed == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_unique_position_stops_a_sealer_that_skips_the_head_lock():
    write_reads(ApplicationFactory(), 2)
    access_chain.seal_access_log()
    row = write_reads(Application.objects.first(), 1)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonalDataAccess.objects.filter(pk=row.pk).update(seal_position=1, previous_hash="a" * 64, row_hash="b" * 64)



def _with_lock_timeout():
    """Waiting on another transaction's lock fails the statement after 2 s instead of waiting."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '2s'")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_sealer_does_not_wait_for_a_writer_holding_an_application_lock():
    application = ApplicationFactory()
    write_reads(application, 3)
    officer = StaffFactory()
    inserted, sealed = threading.Event(), threading.Event()
    open_row = []

    def writer():
        # As a registry check writes: the application's row lock and a log row, still open while the sealer runs.
        try:
            with transaction.atomic():
                Application.objects.select_for_update().get(pk=application.pk)
                open_row.append(log_staff_read(application=application, user=officer, what="application",
                                               purpose=PersonalDataAccess.Purpose.CASE_HANDLING).pk)
                inserted.set()
                sealed.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert inserted.wait(10)
        with transaction.atomic():
            _with_lock_timeout()
            assert access_chain.seal_access_log() == 3
    finally:
        sealed.set()
        thread.join(timeout=30)
    assert PersonalDataAccess.objects.get(pk=open_row[0]).seal_position is None
    assert access_chain.seal_access_log() == 1
    assert PersonalDataAccess.objects.get(pk=open_row[0]).seal_position == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_writer_does_not_wait_for_a_sealer_holding_the_head():
    application, officer = ApplicationFactory(), StaffFactory()
    written = []

    def writer():
        try:
            with transaction.atomic():
                _with_lock_timeout()
                Application.objects.select_for_update().get(pk=application.pk)
                written.append(log_staff_read(application=application, user=officer, what="application",
                                              purpose=PersonalDataAccess.Purpose.CASE_HANDLING).pk)
        except Exception as error:  # noqa: BLE001 -- reported by the test
            written.append(error)
        finally:
            connection.close()

    with transaction.atomic():
        assert access_chain._head_for_update(wait=True) is not None  # the sealer's lock, held
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(timeout=30)
    assert len(written) == 1 and isinstance(written[0], int), written
