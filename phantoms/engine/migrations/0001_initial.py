"""The engine's records, taken over from `pipeline` and `phantoms` without touching their tables.

The models are created in the migration state only (their tables exist, with their rows, under the
names the Meta keeps); then the content types (and so every permission granted on them) are
renamed to the engine's label.
"""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models

MOVED = {"pipeline": ["transitionlog", "stageattempt", "deadletter"], "phantoms": ["breakerevent", "breaker"]}


def adopt_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old_label, models in MOVED.items():
        for model in models:
            if not ContentType.objects.filter(app_label="engine", model=model).exists():
                ContentType.objects.filter(app_label=old_label, model=model).update(app_label="engine")


def return_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old_label, models in MOVED.items():
        ContentType.objects.filter(app_label="engine", model__in=models).update(app_label=old_label)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('pipeline', '0003_attempt_started_default'),
        ('phantoms', '0001_initial'),
        ('publishing', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='Breaker',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
            options={
                'verbose_name': 'circuit breaker',
                'permissions': [('manage_breakers', 'Can open, close and reset circuit breakers')],
                'managed': False,
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='BreakerEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(db_index=True, max_length=40)),
                ('from_state', models.CharField(max_length=20)),
                ('to_state', models.CharField(max_length=20)),
                ('error', models.TextField(blank=True)),
                ('actor', models.CharField(blank=True, help_text='Set when a person forced the change.', max_length=150)),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={
                'db_table': 'phantoms_breakerevent',
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='DeadLetter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stage', models.CharField(db_index=True, max_length=20)),
                ('queue', models.CharField(db_index=True, max_length=40)),
                ('platform', models.CharField(blank=True, db_index=True, max_length=20)),
                ('job_id', models.CharField(blank=True, max_length=64)),
                ('error_class', models.CharField(db_index=True, max_length=40)),
                ('error_message', models.TextField()),
                ('traceback', models.TextField(blank=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('first_failed_at', models.DateTimeField()),
                ('last_failed_at', models.DateTimeField(db_index=True)),
                ('status', models.CharField(choices=[('open', 'Open'), ('requeued', 'Requeued'), ('discarded', 'Discarded')], db_index=True, default='open', max_length=20)),
                ('requeued_at', models.DateTimeField(blank=True, null=True)),
                ('requeued_by', models.CharField(blank=True, max_length=150)),
                ('token', models.UUIDField(default=uuid.uuid4, editable=False)),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='dead_letters', to='pipeline.asset')),
                ('publication', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='dead_letters', to='publishing.publication')),
            ],
            options={
                'db_table': 'pipeline_deadletter',
                'ordering': ['-last_failed_at', '-id'],
                'permissions': [('requeue_deadletter', 'Can requeue or discard dead letters')],
            },
        ),
        migrations.CreateModel(
            name='StageAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stage', models.CharField(db_index=True, max_length=20)),
                ('provider', models.CharField(blank=True, max_length=40)),
                ('number', models.PositiveIntegerField(help_text='Which attempt at this stage (deferrals do not count).')),
                ('job_id', models.CharField(blank=True, max_length=64)),
                ('worker', models.CharField(blank=True, max_length=120)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('duration_ms', models.PositiveIntegerField(blank=True, null=True)),
                ('outcome', models.CharField(choices=[('running', 'Running'), ('succeeded', 'Succeeded'), ('transient', 'Transient'), ('rate_limited', 'Rate Limited'), ('not_ready', 'Not Ready'), ('breaker_open', 'Breaker Open'), ('permanent', 'Permanent'), ('unknown_outcome', 'Unknown Outcome'), ('superseded', 'Superseded'), ('error', 'Error')], db_index=True, default='running', max_length=20)),
                ('error', models.TextField(blank=True)),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stage_attempts', to='pipeline.asset')),
                ('publication', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='stage_attempts', to='publishing.publication')),
            ],
            options={
                'db_table': 'pipeline_stageattempt',
                'ordering': ['started_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='TransitionLog',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_state', models.CharField(max_length=30)),
                ('to_state', models.CharField(max_length=30)),
                ('actor', models.CharField(blank=True, help_text='The person or process that made it.', max_length=150)),
                ('reason', models.TextField(blank=True)),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='transitions', to='pipeline.asset')),
                ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('publication', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='transitions', to='publishing.publication')),
            ],
            options={
                'db_table': 'pipeline_transitionlog',
                'ordering': ['at', 'id'],
            },
        ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(adopt_content_types, return_content_types),
    ]
