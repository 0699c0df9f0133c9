"""Korean dates as Korean apps write them: the morning or afternoon before the time
("2026년 12월 2일 오후 3:05"), and short dates with dots ("2026.12.02 15:05"). What is not here
comes from Django's own Korean formats."""

DATE_FORMAT = "Y년 n월 j일"
DATETIME_FORMAT = "Y년 n월 j일 A g:i"
SHORT_DATE_FORMAT = "Y.m.d"
SHORT_DATETIME_FORMAT = "Y.m.d H:i"
