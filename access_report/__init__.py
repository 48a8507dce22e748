"""The "who accessed this secret" report: CloudTrail records (files, LookupEvents, Logs Insights) classified by the
same description the stack's alarms are built from (components.secret_audience). `python -m access_report`."""
