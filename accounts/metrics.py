"""Business counters for accounts, exported on /metrics."""

from prometheus_client import Counter

signups = Counter("okcow_signups_total", "People who signed up")
logins = Counter("okcow_logins_total", "Successful log-ins")
failed_logins = Counter("okcow_failed_logins_total", "Refused log-in attempts", ["reason"])
