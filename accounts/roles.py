"""Who may do what to whose account: the one copy of the role rules, for the admin, the site and
the management commands alike.

Members use the site; staff moderate content and people's states; admins also change roles,
credentials and permissions. Nobody acts on an account of a higher role, and the last admin stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import User

RANK = {"member": 0, "staff": 1, "admin": 2}

# The apps staff see in the admin. They run the board and the funds; people they only see (their
# states change through the admin's actions, under ``may_change_state``).
STAFF_APPS = frozenset({"accounts", "board", "investments"})


def staff_may(perm: str) -> bool:
    """A Django permission (``app.codename``) that the staff role holds."""
    app, _, codename = perm.partition(".")
    if app == "accounts":
        return codename.startswith("view_")
    return app in STAFF_APPS


def is_admin(actor: User | None) -> bool:
    return actor is not None and actor.is_active and actor.role == "admin"


def may_change_state(actor: User | None, target: User) -> bool:
    """Suspend, block or reactivate ``target``. ``actor`` None is an operator's command."""
    if actor is None:
        return True
    return (
        actor.is_active
        and actor.role in ("staff", "admin")
        and RANK[actor.role] >= RANK[target.role]
    )


def may_manage_accounts(actor: User | None) -> bool:
    """Add people, change roles, superuser and staff flags, groups, permissions, and other
    people's names, e-mail or password: admins only (or an operator's command)."""
    return actor is None or is_admin(actor)
