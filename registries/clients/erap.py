from .base import PersonQuery, RegistryClient, found, parse_date

ARTICLES = {"608-6", "608-7", "613-9", "613-10"}


class ErapClient(RegistryClient):
    """ERAP: an exam ban (CAO 608 p.6-7, 613 p.9-10) or a deprivation of the right to drive still in force."""

    name = "erap"

    def interpret(self, body: dict, query: PersonQuery):
        if not found(body):
            return self.passed()
        ban, deprivation = body["exam_ban"], body["deprivation"]
        if ban is not None:
            if ban["article"] not in ARTICLES:
                raise ValueError(f"unknown article {ban['article']!r}")
            until = parse_date(ban["until"])
            if until >= query.on:
                return self.failed("exam_ban", until=until.isoformat())
        if deprivation is not None:
            until = parse_date(deprivation["until"])
            if until >= query.on:
                return self.failed("licence_deprived", until=until.isoformat())
        return self.passed()
