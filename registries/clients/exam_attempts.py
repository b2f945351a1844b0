from ..results import RegistryAnswer
from .base import PersonQuery, RegistryClient, found, parse_date, report


class ExamAttemptsClient(RegistryClient):
    """The exam system: earlier attempts. Never refuses; the counts feed the attempt rules."""

    name = "exam_attempts"

    def interpret(self, body: dict, query: PersonQuery):
        if not found(body):
            return self.passed(theory=0, practical=0, last_failed_on=None)
        theory, practical = int(body["theory"]), int(body["practical"])
        if theory < 0 or practical < 0:
            raise ValueError("attempt counts cannot be negative")
        last_failed_on = body["last_failed_on"]
        last = parse_date(last_failed_on).isoformat() if last_failed_on is not None else None
        return self.passed(theory=theory, practical=practical, last_failed_on=last)


class ExamResultsClient:
    """The exam system again: every result recorded here is reported back, so that its attempt counts stay true.

    The report carries the booking's reference, so a repeated report (a retried task) is recorded once there.
    """

    name = "exam_attempts"

    def report(self, *, iin: str, kind: str, passed: bool, score: int | None, at: str,
               reference: str) -> RegistryAnswer:
        return report(self.name, "results", {"iin": iin, "kind": kind, "passed": passed, "score": score, "at": at,
                                             "reference": reference})
