from .. import gateway
from ..results import Unavailable
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

    def details(self, query: PersonQuery) -> dict | None:
        """What the card prints (fields 1, 2, 3 and 8): names, birth date and place, address; None while the
        registry does not answer (the caller tries again later). Asked under the same consent as the checks."""
        try:
            body = gateway.post(self.name, "query", {"iin": query.iin, "consent_request": query.consent_request,
                                                     "purpose": "licence_printing", "categories": []})
            if not found(body):
                return None
            person = body["person"]
            return {"surname": str(person["surname"]), "given_names": str(person["given_names"]),
                    "patronymic": str(person.get("patronymic") or ""), "birth_date": person["birth_date"],
                    "birth_place": str(person.get("birth_place") or ""), "address": str(person.get("address") or "")}
        except (Unavailable, KeyError, TypeError, ValueError):
            return None
