from ..results import RegistryAnswer
from .base import PersonQuery, RegistryClient, found, parse_date, report

STATUSES = {"valid", "expired", "revoked"}


class LicenceRegistryClient(RegistryClient):
    """The licence registry: a first licence needs none valid; a replacement needs the licence it replaces."""

    name = "licence_registry"

    def interpret(self, body: dict, query: PersonQuery):
        licence = body["licence"] if found(body) else None
        facts = {}
        if licence is not None:
            if licence["status"] not in STATUSES:
                raise ValueError(f"unknown licence status {licence['status']!r}")
            expires_on = parse_date(licence["expires_on"])
            status = licence["status"]
            if status == "valid" and expires_on < query.on:
                status = "expired"
            facts = {"number": str(licence["number"]), "categories": [str(c) for c in licence["categories"]],
                     "expires_on": expires_on.isoformat(), "status": status}
        if query.must_hold_licence:
            acceptable = {"valid", "expired"} if query.expired_licence_counts else {"valid"}
            if licence is None or facts["status"] not in acceptable:
                return self.failed("licence_not_found", **facts)
            if query.categories and not set(query.categories) <= set(facts["categories"]):
                return self.failed("licence_not_found", **facts)
            return self.passed(**facts)
        if licence is not None and facts["status"] == "valid":
            return self.failed("licence_exists")
        return self.passed()


class LicenceRecordsClient:
    """The licence registry told of a licence issued here (and of the one it replaces, which becomes replaced
    there), so that its next answer about the person is that licence. The number makes a repeated report one."""

    name = "licence_registry"

    def record(self, *, iin: str, number: str, categories: list[str], issued_on: str, expires_on: str,
               replaces: str = "") -> RegistryAnswer:
        return report(self.name, "licences", {"iin": iin, "number": number, "categories": categories,
                                              "issued_on": issued_on, "expires_on": expires_on, "replaces": replaces})
