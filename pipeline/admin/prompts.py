from django.contrib import admin

from pipeline.models import PromptTemplate
from pipeline.services.prompts import save_as_new_version


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "model", "temperature", "is_active", "created_at")
    list_filter = ("is_active", "name")
    search_fields = ("name", "system_prompt", "style_guide")
    readonly_fields = ("version", "created_at")

    def save_model(self, request, obj, form, change):
        save_as_new_version(obj)
