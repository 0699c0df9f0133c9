"""`make bench`: the speed benchmark of SPEC §9 (operator tooling, not part of the site)."""
