from .base import PersonQuery, RegistryClient, found, parse_date


class MedicalClient(RegistryClient):
    """Ministry of Health: a certificate 073/у valid today and covering every category asked for."""

    name = "medical"

    def interpret(self, body: dict, query: PersonQuery):
        certificate = body["certificate"] if found(body) else None
        if certificate is None:
            return self.failed("medical_certificate_missing")
        valid_until = parse_date(certificate["valid_until"])
        covered = {str(c) for c in certificate["categories"]}
        if valid_until < query.on or not set(query.categories) <= covered:
            return self.failed("medical_certificate_missing", valid_until=valid_until.isoformat())
        return self.passed(valid_until=valid_until.isoformat())
