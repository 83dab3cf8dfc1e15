"""The health check's parts, in the order of a run (health_check.py is the command line).

- measure: each reading of the machine, a plain number in base units; it decides nothing.
- judge: a limit and its words; a reading judged by it is a verdict.
- checks: the checks of the command line, read and judged.
- texts: every alert text (subject, body, reminder, recovery, late note), composed here only.
- state: what is remembered between runs (typed), kept in a small JSON file.
- alerts: what a run changes (debounce, silences, reminders, recoveries) and the mail it sends.
- nagios, metrics: the same verdicts told to a monitor: a plugin line, a Prometheus text file.
- flags: every flag, declared once; cron: the crontab entry built from those declarations.
- pipeline: one run wired together.
"""
