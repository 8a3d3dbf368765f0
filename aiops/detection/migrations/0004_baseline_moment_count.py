from django.db import migrations, models
from django.db.models import F


def judged_by_requests(apps, schema_editor):
    # Baselines learned before moments were counted keep being judged as they
    # were: by their requests.
    baseline = apps.get_model("detection", "EndpointBaseline")
    baseline.objects.update(moment_count=F("sample_count"))


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0003_anomaly_call_change"),
    ]

    operations = [
        migrations.AddField(
            model_name="endpointbaseline",
            name="moment_count",
            field=models.BigIntegerField(
                default=0, help_text="Distinct seconds the learned requests arrived in."
            ),
        ),
        migrations.RunPython(judged_by_requests, migrations.RunPython.noop),
    ]
