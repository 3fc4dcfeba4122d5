from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("pipeline", "0008_idempotency_keys_scoped")]

    operations = [
        migrations.RemoveField(model_name="asset", name="idempotency_key"),
    ]
