"""`manage.py verify_access_log`: walk the access log's hash chain and report the first broken link (exit status 1)."""

import re

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from applications.services import access_chain


def _head(value: str) -> tuple[int, str]:
    match = re.fullmatch(r"(\d+):([0-9a-f]{64})", value)
    if not match:
        raise ValueError(value)
    return int(match[1]), match[2]


def _problem(report: access_chain.ChainReport) -> str:
    values = {"position": report.broken_position, "row": report.broken_row_id, "head": report.head_position}
    problems = {
        "missing_row": _("Position %(position)s is missing: a row was deleted."),
        "previous_hash_mismatch": _(
            "Position %(position)s (row %(row)s): its previous hash is not the hash of the row before it."),
        "row_hash_mismatch": _("Position %(position)s (row %(row)s): the row was changed after it was sealed."),
        "missing_tail": _(
            "The chain ends before the head's position %(head)s: the rows from position %(position)s on were "
            "deleted."),
        "head_hash_mismatch": _(
            "Position %(position)s: the last row's hash is not the head's; the head or the last row was changed."),
        "head_behind_record": _(
            "The head is at position %(head)s, behind the recorded position %(position)s: the chain's end was cut."),
        "head_differs_from_record": _(
            "Position %(position)s (row %(row)s) differs from the recorded head: the chain was rewritten."),
    }
    return problems[report.problem] % values


class Command(BaseCommand):
    help = ("Check the personal-data access log's hash chain: recompute every sealed row's hash in seal order and "
            "report the first broken link, the rows checked and the rows not sealed yet. Exit status 1 when broken.")

    def add_arguments(self, parser):
        parser.add_argument("--seal", action="store_true", help="seal the rows written since the last seal first")
        parser.add_argument("--expect-head", type=_head, metavar="POSITION:HASH",
                            help="a head recorded earlier outside the database; the chain must still contain it")
        parser.add_argument("--batch-size", type=int, default=access_chain.VERIFY_BATCH_SIZE)

    def handle(self, *args, seal, expect_head, batch_size, **options):
        if seal:
            sealed = access_chain.seal_access_log()
            self.stdout.write(ngettext("Sealed %(count)s row.", "Sealed %(count)s rows.", sealed) % {"count": sealed})
        report = access_chain.verify_access_log(batch_size=batch_size, expect_head=expect_head)
        self.stdout.write(ngettext("Checked %(checked)s sealed row of %(head)s.",
                                   "Checked %(checked)s sealed rows of %(head)s.", report.checked) % {
            "checked": report.checked, "head": report.head_position})
        self.stdout.write(_("Head: %(position)s:%(hash)s") % {
            "position": report.head_position, "hash": report.head_hash})
        if report.unsealed:
            self.stdout.write(ngettext("Not sealed yet: %(count)s row, written at %(at)s.",
                                       "Not sealed yet: %(count)s rows, the oldest written at %(at)s.",
                                       report.unsealed) % {
                "count": report.unsealed, "at": report.oldest_unsealed.isoformat()})
        else:
            self.stdout.write(_("Not sealed yet: none."))
        if not report.intact:
            raise CommandError(_("The access log chain is broken. %(problem)s") % {"problem": _problem(report)},
                               returncode=1)
        self.stdout.write(_("The access log chain is intact."))
