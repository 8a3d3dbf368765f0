from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from aiops.detection.models import AnalysisRun
from aiops.detection.schedule import ANALYSIS_SCHEDULE, cron_for_interval

pytestmark = pytest.mark.django_db


def test_setup_registers_the_30_second_schedule_once():
    call_command("aiops_setup", stdout=io.StringIO())
    call_command("aiops_setup", stdout=io.StringIO())

    schedule = Schedule.objects.get(name=ANALYSIS_SCHEDULE)
    assert schedule.schedule_type == Schedule.CRON
    assert schedule.cron == "* * * * * */30"  # croniter: seconds field LAST
    assert schedule.func == "aiops.detection.tasks.run_scheduled_analysis"
    assert sorted(Schedule.objects.values_list("name", flat=True)) == [
        "aiops-analysis",
        "aiops-notifications",
        "aiops-prune-telemetry",
    ]
    # The next run is at most 30 seconds away.
    assert schedule.next_run - timezone.now() <= timedelta(seconds=31)


def test_the_schedule_runs_the_analysis_task():
    call_command("aiops_setup", stdout=io.StringIO())
    Schedule.objects.filter(name=ANALYSIS_SCHEDULE).update(
        next_run=timezone.now() - timedelta(seconds=1)
    )

    scheduler()  # what the cluster does every ~30 s; tasks run inline (sync)

    run = AnalysisRun.objects.get()
    assert run.trigger == "schedule"
    assert run.skipped == ""


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [(30, "* * * * * */30"), (10, "* * * * * */10"), (60, "*/1 * * * *")],
)
def test_cron_for_interval(seconds, cron):
    assert cron_for_interval(seconds) == cron


@pytest.mark.parametrize("seconds", [7, 45, 0, 2.5])
def test_intervals_a_cron_cannot_express_are_refused(seconds):
    with pytest.raises(ImproperlyConfigured):
        cron_for_interval(seconds)


def test_run_analysis_command_runs_one_cycle():
    out = io.StringIO()

    call_command("run_analysis", stdout=out)

    assert '"trigger": "command"' in out.getvalue()
    assert AnalysisRun.objects.filter(trigger="command").count() == 1
