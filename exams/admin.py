from django.contrib import admin

from .models import ExamRules


@admin.register(ExamRules)
class ExamRulesAdmin(admin.ModelAdmin):
    list_display = ("__str__", "theory_questions", "theory_pass_mark", "theory_minutes", "retake_wait_days",
                    "attempts_before_long_wait", "long_wait_months")

    def has_add_permission(self, request):
        return not ExamRules.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
