from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from solo.admin import SingletonModelAdmin

from .models import (
    Application,
    ApplicationNumberCounter,
    Category,
    Centre,
    ForeignLicenceCountry,
    MonthlyCalculationIndex,
    Notice,
    Payment,
    PersonalDataAccess,
    Photo,
    RefusalReason,
    ServicePolicy,
    StatusChange,
)
from .services import log_staff_read


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "minimum_age", "prerequisite", "is_issued", "position")
    list_filter = ("is_issued", "minimum_age")
    list_editable = ("minimum_age", "is_issued", "position")
    search_fields = ("code",)


@admin.register(MonthlyCalculationIndex)
class MonthlyCalculationIndexAdmin(admin.ModelAdmin):
    list_display = ("year", "amount_kzt")


@admin.register(ServicePolicy)
class ServicePolicyAdmin(SingletonModelAdmin):
    """The one policy row: the admin opens it straight away and offers no add or delete (django-solo)."""


@admin.register(ForeignLicenceCountry)
class ForeignLicenceCountryAdmin(admin.ModelAdmin):
    list_display = ("country", "theory_exam_required")
    list_filter = ("theory_exam_required",)
    search_fields = ("country",)


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_ru", "name_en", "city", "offers_tson", "offers_exams", "is_active")
    list_filter = ("city", "offers_tson", "offers_exams", "is_active")
    search_fields = ("code", "name", "name_ru", "name_en", "city", "address", "address_ru", "address_en")
    fieldsets = [
        (None, {"fields": ["code", "offers_tson", "offers_exams", "is_active"]}),
        (_("Kazakh"), {"fields": ["name", "city", "address"]}),
        (_("Russian"), {"fields": ["name_ru", "city_ru", "address_ru"]}),
        (_("English"), {"fields": ["name_en", "city_en", "address_en"]}),
    ]


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "actor_kind", "actor_user", "actor_organisation")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Read-only: status changes only through the workflow's services, never by hand in the admin."""

    list_display = ("number", "id", "service", "channel", "status", "created_at")
    list_filter = ("status", "service", "channel", "replacement_reason", "pickup_tson")
    search_fields = ("=number", "=iin", "=id")
    date_hierarchy = "created_at"
    list_select_related = ("pickup_tson",)
    inlines = [StatusChangeInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        application = self.get_object(request, object_id)
        if application is not None and response.status_code == 200:
            log_staff_read(application=application, user=request.user,
                           purpose=PersonalDataAccess.Purpose.ADMINISTRATION,
                           what="application:admin")
        return response


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: read in the admin, changed only by the services (every app's records)."""

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields or [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    """Append-only: nobody edits or deletes the log, administrators included."""

    list_display = ("at", "application", "actor_kind", "role", "registry", "purpose")
    list_filter = ("actor_kind", "registry", "purpose")
    search_fields = ("=application__number", "=application__iin")
    date_hierarchy = "at"
    list_select_related = ("application",)


@admin.register(ApplicationNumberCounter)
class ApplicationNumberCounterAdmin(admin.ModelAdmin):
    list_display = ("year", "last_value")
    readonly_fields = ("year", "last_value")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "application", "amount_kzt", "method", "status", "receipt", "decided_at")
    list_filter = ("method", "status")
    search_fields = ("=application__number", "=provider_reference", "=receipt")
    date_hierarchy = "created_at"
    list_select_related = ("application",)


@admin.register(Photo)
class PhotoAdmin(ReadOnlyAdmin):
    """What was taken, when and by whom; the image itself is seen only on the staff pages, where each view is
    logged."""

    list_display = ("taken_at", "application", "source", "width", "height", "taken_by")
    list_filter = ("source",)
    search_fields = ("=application__number",)
    exclude = ("file",)
    list_select_related = ("application", "taken_by")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if field.name != "file"]


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("sent_at", "application", "event", "channel", "language", "status")
    list_filter = ("channel", "event", "status", "language")
    search_fields = ("=application__number",)
    date_hierarchy = "sent_at"
    list_select_related = ("application",)


@admin.register(RefusalReason)
class RefusalReasonAdmin(admin.ModelAdmin):
    """The catalogue police officers refuse with: the citizen reads the title in their language."""

    list_display = ("code", "title_kk", "title_ru", "title_en", "is_active", "position")
    list_editable = ("is_active", "position")
    list_filter = ("is_active",)
    search_fields = ("code", "title_kk", "title_ru", "title_en")
