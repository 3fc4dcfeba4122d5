"""Prompt templates are versioned: an edit is saved as the next version, never over the old one."""

from django.db import transaction
from django.db.models import Max

from pipeline.models import PromptTemplate


def save_as_new_version(template: PromptTemplate) -> PromptTemplate:
    """Save `template` (new, or an edited copy of an existing one) as the next version of its name.

    Assets record the version they were written with; editing it in place would rewrite that history.
    """
    with transaction.atomic():
        template.pk = None
        template._state.adding = True
        # Two editors saving at once collide on the (name, version) constraint rather than share a number.
        latest = PromptTemplate.objects.filter(name=template.name).aggregate(Max("version"))["version__max"]
        template.version = (latest or 0) + 1
        template.save()
    return template
