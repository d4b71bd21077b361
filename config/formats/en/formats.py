"""How the admin shows dates and times in English: "2026-12-03 14:05", not "Dec. 3, 2026, 2:05
p.m.". The short form keeps a list's date columns narrow enough for every column to fit beside
the navigation at 1280 px, and it is the form the rest of the oversight hub (task pages, audit
trail, emails) writes already. Input formats stay Django's. Only what is named here changes."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
