"""Model fields of bento-stripe."""

from __future__ import annotations

from django.db import models
from django.views.decorators.debug import sensitive_variables

from . import crypto


class EncryptedTextField(models.TextField):
    """A text field stored as a Fernet token; Python code only ever sees plain text.

    Lookups other than ``isnull`` and exact ``""`` are meaningless on ciphertext.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        label = f"{self.model.__name__}.{self.name}" if hasattr(self, "model") else "a secret"
        return crypto.decrypt(value, label=label)

    @sensitive_variables("value")
    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)
