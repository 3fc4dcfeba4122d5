from django.apps import AppConfig


class PhantomsConfig(AppConfig):
    name = "phantoms"
    verbose_name = "Operations"
