"""Assets belong to a team (existing ones to the first team); approve and reject become two permissions;
Idempotency-Keys get their own table, scoped to who sent them (0008 moves them, 0009 drops the column)."""

import accounts.teams
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('pipeline', '0006_failing_since_due_index'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='asset',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('approve_asset', 'Can approve assets awaiting review'), ('reject_asset', 'Can reject assets or send them back to scripting')]},
        ),
        migrations.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(help_text='"user:<id>" (a person or a token\'s principal) or "system".', max_length=40)),
                ('key', models.CharField(max_length=200)),
                ('fingerprint', models.CharField(max_length=64)),
                ('request', models.JSONField(default=dict, help_text='The normalised request, to name what differs on a reuse.')),
                ('state', models.CharField(choices=[('processing', 'Processing'), ('done', 'Done')], default='processing', max_length=20)),
                ('created_at', models.DateTimeField(db_index=True)),
                ('locked_at', models.DateTimeField()),
                ('asset', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='pipeline.asset')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('scope', 'key'), name='one_idempotency_key_per_scope')],
            },
        ),
        migrations.AddField(
            model_name='asset',
            name='team',
            field=models.ForeignKey(default=accounts.teams.default_team_pk, on_delete=django.db.models.deletion.PROTECT, related_name='assets', to='accounts.team'),
        ),
    ]
