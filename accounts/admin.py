from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import ChannelApiKey, Organisation, User

# The package's own key model is unused: keys belong to organisations (ChannelApiKey).
admin.site.unregister(APIKey)


@admin.register(User)
class KualikUserAdmin(UserAdmin):
    list_display = ("username", "role", "iin", "first_name", "last_name", "is_active", "last_login")
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    search_fields = ("username", "iin", "first_name", "last_name", "email")
    fieldsets = UserAdmin.fieldsets + ((_("Role"), {"fields": ("role", "iin")}),)
    add_fieldsets = UserAdmin.add_fieldsets + ((_("Role"), {"fields": ("role",)}),)


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
