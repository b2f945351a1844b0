from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from . import services
from .models import STAFF_ROLES, ChannelApiKey, Organisation, User

# The package's own key model is unused: keys belong to organisations (ChannelApiKey).
admin.site.unregister(APIKey)


@admin.register(User)
class KualikUserAdmin(UserAdmin):
    list_display = ("username", "role", "iin", "first_name", "last_name", "is_active", "last_login")
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    search_fields = ("username", "iin", "first_name", "last_name", "email")
    fieldsets = UserAdmin.fieldsets + ((_("Role"), {"fields": ("role", "iin", "otp_enrolment_until")}),)
    add_fieldsets = UserAdmin.add_fieldsets + ((_("Role"), {"fields": ("role",)}),)
    readonly_fields = ("otp_enrolment_until",)
    actions = ["allow_authenticator_enrolment"]

    @admin.action(description=_("Allow setting up a new authenticator app (the current one stops working)"))
    def allow_authenticator_enrolment(self, request, queryset):
        staff = list(queryset.filter(role__in=STAFF_ROLES))
        for user in staff:
            services.allow_authenticator_enrolment(user=user)
        self.message_user(request, ngettext(
            "%(count)d staff member may now set up an authenticator app at sign-in.",
            "%(count)d staff members may now set up an authenticator app at sign-in.", len(staff),
        ) % {"count": len(staff)}, messages.SUCCESS)


class ChannelApiKeyInline(admin.TabularInline):
    model = ChannelApiKey
    extra = 0
    fields = ("name", "prefix", "created", "expiry_date", "revoked")
    readonly_fields = ("prefix", "created")
    can_delete = False
    show_change_link = True


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "is_active", "created_at")
    list_filter = ("channel", "is_active")
    search_fields = ("name",)
    inlines = [ChannelApiKeyInline]


@admin.register(ChannelApiKey)
class ChannelApiKeyAdmin(APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "organisation")
    list_filter = (*APIKeyModelAdmin.list_filter, "organisation__channel")
    search_fields = (*APIKeyModelAdmin.search_fields, "organisation__name")
    list_select_related = ("organisation",)
