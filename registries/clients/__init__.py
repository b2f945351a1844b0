"""One small client per registry, all behind the same interface (registries/PROTOCOL.md)."""

from .base import PersonQuery, RegistryClient
from .consent import ConsentAnswer, ConsentClient
from .driving_school import DrivingSchoolClient
from .erap import ErapClient
from .erdb import ErdbClient
from .exam_attempts import ExamAttemptsClient, ExamResultsClient
from .licence_registry import LicenceRecordsClient, LicenceRegistryClient
from .medical import MedicalClient
from .payment import PaymentClient
from .person import PersonClient
from .sms import SmsClient

PERSON_CLIENTS: dict[str, RegistryClient] = {
    client.name: client
    for client in (PersonClient(), LicenceRegistryClient(), ErapClient(), MedicalClient(), ErdbClient(),
                   DrivingSchoolClient(), ExamAttemptsClient())
}


def person_client(registry: str) -> RegistryClient:
    return PERSON_CLIENTS[registry]


consent_client = ConsentClient()
sms_client = SmsClient()
exam_results_client = ExamResultsClient()
licence_records_client = LicenceRecordsClient()
payment_client = PaymentClient()

__all__ = ["PERSON_CLIENTS", "ConsentAnswer", "PersonQuery", "RegistryClient", "consent_client", "exam_results_client",
           "licence_records_client", "payment_client", "person_client", "sms_client"]
