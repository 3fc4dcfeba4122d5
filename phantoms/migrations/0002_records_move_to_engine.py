"""Breaker events (and the breakers page's placeholder) now belong to the engine (phantoms.engine).

State only: the table keeps its name and its rows.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('phantoms', '0001_initial'),
        ('engine', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.DeleteModel(
            name='BreakerEvent',
        ),
        migrations.DeleteModel(
            name='Breaker',
        ),
            ],
            database_operations=[],
        ),
    ]
