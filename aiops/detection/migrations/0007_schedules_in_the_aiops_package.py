"""The apps moved into the ``aiops`` package: point stored schedules at it."""

from django.db import migrations

MOVED = {
    "detection.tasks.run_scheduled_analysis": "aiops.detection.tasks.run_scheduled_analysis",
    "detection.tasks.prune_old_telemetry": "aiops.detection.tasks.prune_old_telemetry",
    "notifications.tasks.dispatch": "aiops.notifications.tasks.dispatch",
}


def forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED.items():
        Schedule.objects.filter(func=old).update(func=new)


def backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED.items():
        Schedule.objects.filter(func=new).update(func=old)


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0006_seasonal_slot_and_busy_cycles"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
