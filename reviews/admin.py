from django.contrib import admin

from .models import ReviewClaim


@admin.register(ReviewClaim)
class ReviewClaimAdmin(admin.ModelAdmin):
    """Who holds which application under review; an administrator may release a claim (delete it)."""

    list_display = ("application", "officer", "claimed_at", "expires_at")
    list_select_related = ("application", "officer")
    readonly_fields = ("application", "officer", "claimed_at", "expires_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
