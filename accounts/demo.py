"""Demo people for `manage.py demo_data`. Idempotent: existing people are left as they are."""

from .models import StateChange, User

DEMO_PASSWORD = "okcow-demo-2026"  # noqa: S105 - printed for people to try the demo

DEMO_USERS = [
    # username, email, role
    ("admin", "admin@okcow.example", User.Role.ADMIN),
    ("moderator", "moderator@okcow.example", User.Role.STAFF),
    ("alice", "alice@okcow.example", User.Role.MEMBER),
    ("bob", "bob@okcow.example", User.Role.MEMBER),
    ("김철수", "chulsoo@okcow.example", User.Role.MEMBER),
]


def load(stdout) -> dict[str, User]:
    people = {}
    for username, email, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": email, "role": role}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            if role != User.Role.MEMBER:
                StateChange.record_role(user, by=None, reason=f"Demo {role.label.lower()}.")
        people[username] = user
    stdout.write(f"Demo people ready: {', '.join(people)} (password: {DEMO_PASSWORD})")
    return people
