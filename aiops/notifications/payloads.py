"""What each kind of channel receives: Alertmanager webhook, Slack, PagerDuty v2."""

from __future__ import annotations

from datetime import UTC

from aiops.conf import settings
from aiops.detection.models import Incident
from aiops.notifications.models import Channel, Notification

PAGERDUTY_SEVERITY = {
    "critical": "critical",
    "high": "error",
    "medium": "warning",
    "low": "info",
}
SLACK_EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":white_circle:",
}
NEVER = "0001-01-01T00:00:00Z"  # Alertmanager's "not ended"


def incident_url(incident: Incident) -> str:
    return f"{settings.AIOPS_BASE_URL.rstrip('/')}/aiops/incidents/{incident.public_id}"


def _iso(moment) -> str:
    return moment.astimezone(UTC).isoformat() if moment else NEVER


def _affected(incident: Incident) -> str:
    return ", ".join(f"{s}/{e}" for s, e in incident.affected) or "-"


def _change(incident: Incident) -> str:
    """The change blamed for the incident, in words ("" when none)."""
    change = (incident.evidence or {}).get("change")
    return change.get("summary", "") if isinstance(change, dict) else ""


def webhook(incident: Incident, notification: Notification, channel: Channel) -> dict:
    firing = notification.event != Notification.Event.RESOLVED
    labels = {
        "alertname": "AIOpsIncident",
        "incident": incident.public_id,
        "service": incident.root_service,
        "endpoint": incident.root_endpoint,
        "severity": notification.severity,
    }
    annotations = {
        "summary": incident.title,
        "description": incident.root_issue,
        "root_cause": f"{incident.root_service}/{incident.root_endpoint}",
        "affected": _affected(incident),
    }
    if _change(incident):
        annotations["change"] = _change(incident)
    return {
        "version": "4",
        "groupKey": incident.public_id,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": channel.name,
        "event": notification.event,
        "groupLabels": {"incident": incident.public_id},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": settings.AIOPS_BASE_URL,
        "alerts": [
            {
                "status": "firing" if firing else "resolved",
                "labels": labels,
                "annotations": annotations,
                "startsAt": _iso(incident.first_detected),
                "endsAt": NEVER if firing else _iso(incident.resolved_at),
                "generatorURL": incident_url(incident),
                "fingerprint": incident.fingerprint,
            }
        ],
    }


def slack_escape(text: str) -> str:
    """Text as Slack shows it literally: &, < and > are its control characters
    (``<!channel>`` pings everyone, ``<https://evil|text>`` disguises a link),
    and span names come from whoever sends spans."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(incident: Incident, notification: Notification, channel: Channel) -> dict:
    verb = {
        "opened": "New incident",
        "escalated": "Incident escalated",
        "repeated": "Still open",
        "acknowledged": "Acknowledged",
        "resolved": "Resolved",
    }[notification.event]
    emoji = (
        ":white_check_mark:"
        if notification.event == "resolved"
        else SLACK_EMOJI[notification.severity]
    )
    title = slack_escape(incident.title)
    text = f"{verb}: {incident.public_id} [{notification.severity}] {title}"
    root = slack_escape(
        f"{incident.root_service}/{incident.root_endpoint}: {incident.root_issue}"
    )
    link = f"<{incident_url(incident)}|Open the incident>"
    since = _iso(incident.first_detected)
    return {
        "text": text,
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": f"{verb}: {incident.public_id}"[:150],
                },
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{emoji} *{title}*"},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Severity*\n{notification.severity}"},
                    {"type": "mrkdwn", "text": f"*Status*\n{incident.status}"},
                    {
                        "type": "mrkdwn",
                        "text": f"*Root cause*\n{root}"[:1900],
                    },
                    {
                        "type": "mrkdwn",
                        "text": f"*Affected*\n{slack_escape(_affected(incident))}"[
                            :1900
                        ],
                    },
                    *(
                        [
                            {
                                "type": "mrkdwn",
                                "text": f"*Change*\n{slack_escape(_change(incident))}"[
                                    :1900
                                ],
                            }
                        ]
                        if _change(incident)
                        else []
                    ),
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{link} · first detected {since}",
                    }
                ],
            },
        ],
    }


def pagerduty(incident: Incident, notification: Notification, channel: Channel) -> dict:
    action = {"acknowledged": "acknowledge", "resolved": "resolve"}.get(
        notification.event, "trigger"
    )
    body = {
        "routing_key": channel.routing_key,
        "event_action": action,
        "dedup_key": incident.public_id,
    }
    if action == "trigger":
        body["payload"] = {
            "summary": incident.title[:1024],
            "source": incident.root_service,
            "severity": PAGERDUTY_SEVERITY[notification.severity],
            "component": incident.root_endpoint,
            "group": incident.root_service,
            "class": "aiops-incident",
            "timestamp": _iso(incident.first_detected),
            "custom_details": {
                "root_cause": incident.root_issue,
                "confidence": incident.confidence,
                "affected": _affected(incident),
                "event": notification.event,
                "change": _change(incident),
            },
        }
        body["links"] = [{"href": incident_url(incident), "text": incident.public_id}]
    return body


BUILDERS = {"webhook": webhook, "slack": slack, "pagerduty": pagerduty}


def build(notification: Notification) -> dict:
    channel = notification.channel
    return BUILDERS[channel.kind](notification.incident, notification, channel)
