from .base import PersonQuery, RegistryClient, found


class DrivingSchoolClient(RegistryClient):
    """Avtoshkola: a graduation certificate for every category asked for."""

    name = "driving_school"

    def interpret(self, body: dict, query: PersonQuery):
        certificates = body["certificates"] if found(body) else []
        if not isinstance(certificates, list):
            raise TypeError("certificates must be a list")
        held = {str(certificate["category"]) for certificate in certificates}
        if not set(query.categories) <= held:
            return self.failed("driving_school_certificate_missing")
        return self.passed()
