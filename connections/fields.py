"""A model field whose column holds ciphertext and whose attribute holds a `Secret` (phantoms.encryption)."""

from django.db import models

from phantoms.encryption import Secret, decrypt, encrypt


class EncryptedTextField(models.TextField):
    """Encrypted on the way into the database, a `Secret` on the way out: never plaintext at rest.

    Not searchable and not shown: the admin never lists it and `Secret` hides itself in reprs.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        return decrypt(value or "")

    def to_python(self, value):
        if isinstance(value, Secret):
            return value
        return Secret(value or "")

    def get_prep_value(self, value):
        if value is None:
            return ""
        return encrypt(value)

    def value_to_string(self, obj):
        # Serialisers (dumpdata) get the ciphertext, never the token.
        return self.get_prep_value(self.value_from_object(obj))
