from .base import PersonQuery, RegistryClient, found, parse_date


class PersonClient(RegistryClient):
    """The person registry: does the person exist, and when were they born (for the age rule)."""

    name = "person"

    def interpret(self, body: dict, query: PersonQuery):
        if not found(body):
            return self.failed("person_not_found")
        person = body["person"]
        photo = person.get("photo", False)
        if not isinstance(photo, bool):
            raise TypeError("photo must be a boolean")
        return self.passed(birth_date=parse_date(person["birth_date"]).isoformat(), photo=photo)
