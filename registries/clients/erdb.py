from .base import PersonQuery, RegistryClient, found


class ErdbClient(RegistryClient):
    """ERDB: registration at a narcological or psychiatric dispensary refuses; which one is not kept."""

    name = "erdb"

    def interpret(self, body: dict, query: PersonQuery):
        if not found(body):
            return self.passed()
        narcological, psychiatric = body["narcological"], body["psychiatric"]
        if not isinstance(narcological, bool) or not isinstance(psychiatric, bool):
            raise TypeError("ERDB flags must be booleans")
        return self.failed("medical_registry") if narcological or psychiatric else self.passed()
