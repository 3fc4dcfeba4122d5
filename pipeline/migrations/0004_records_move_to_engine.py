"""The transition, attempt and dead-letter records now belong to the engine (phantoms.engine).

State only: the tables stay where they are, under their old names, with every row in them.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0003_attempt_started_default'),
        ('engine', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.RemoveField(
            model_name='stageattempt',
            name='asset',
        ),
        migrations.RemoveField(
            model_name='stageattempt',
            name='publication',
        ),
        migrations.RemoveField(
            model_name='transitionlog',
            name='asset',
        ),
        migrations.RemoveField(
            model_name='transitionlog',
            name='by',
        ),
        migrations.RemoveField(
            model_name='transitionlog',
            name='publication',
        ),
        migrations.DeleteModel(
            name='DeadLetter',
        ),
        migrations.DeleteModel(
            name='StageAttempt',
        ),
        migrations.DeleteModel(
            name='TransitionLog',
        ),
            ],
            database_operations=[],
        ),
    ]
