from django.apps import AppConfig


class FruitsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "fruits"
