"""The admin is where administrators keep the reference data: every model has a working page with search."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import Role
from applications.models import PersonalDataAccess
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root-admin", role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", MODELS, ids=[model._meta.label for model in MODELS])
def test_every_model_has_a_changelist_that_searches(admin_client, model):
    ApplicationFactory()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    if admin.site._registry[model].search_fields:
        assert admin_client.get(url, {"q": "871008401427"}).status_code == 200


def test_applications_cannot_be_added_or_edited_by_hand(admin_client):
    application = ApplicationFactory()
    url = reverse("admin:applications_application_change", args=[application.pk])
    admin_client.post(url, {"status": "issued"})
    application.refresh_from_db()
    assert application.status == "consent_pending"
    assert admin_client.get(reverse("admin:applications_application_add")).status_code == 403


def test_an_administrator_reading_an_application_lands_in_its_access_log(admin_client):
    application = ApplicationFactory()
    response = admin_client.get(reverse("admin:applications_application_change", args=[application.pk]))
    assert response.status_code == 200
    entry = PersonalDataAccess.objects.get(application=application)
    assert (entry.actor_kind, entry.role, entry.purpose) == ("staff", "admin", "administration")


def test_the_access_log_cannot_be_edited_or_deleted_in_the_admin(admin_client):
    application = ApplicationFactory()
    admin_client.get(reverse("admin:applications_application_change", args=[application.pk]))
    entry = PersonalDataAccess.objects.get()
    assert admin_client.post(
        reverse("admin:applications_personaldataaccess_delete", args=[entry.pk]), {"post": "yes"}
    ).status_code == 403
    assert PersonalDataAccess.objects.filter(pk=entry.pk).exists()
