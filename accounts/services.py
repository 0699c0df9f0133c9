"""Account actions: each one function that owns its transaction."""

import datetime

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_lazy

from . import metrics, roles
from .models import FreedUsername, LoginRecord, StateChange, User
from .utils import client_ip


class AccountError(Exception):
    """An action refused with a message for the person."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _taken(error: IntegrityError) -> AccountError:
    """The unique username or email another person took between the form's check and the save."""
    if "email" in str(error).lower():
        return AccountError(gettext("This email is already taken."), field="email")
    return AccountError(gettext("This username is already taken."), field="username")


def held_until(username: str, *, user: User | None = None, lock: bool = False):
    """When ``username`` may be taken again, if someone other than ``user`` stopped using it less
    than ``USERNAME_REUSE_DAYS`` ago; None when it is free (to ``user``). With ``lock``, read
    locked: the latest committed rename is seen, not the transaction's snapshot."""
    names = FreedUsername.objects.select_for_update() if lock else FreedUsername.objects
    freed = names.filter(key=username.lower()).first()
    if freed is None or (user is not None and freed.user_id == user.pk):
        return None
    return freed.reusable_at if freed.reusable_at > timezone.now() else None


def held_message(until) -> str:
    return gettext(
        "This username was in use until recently; it can be taken again after %(date)s."
    ) % {"date": formats.date_format(timezone.localtime(until), "DATE_FORMAT")}


def _refuse_held(username: str, user: User) -> None:
    """Checked after the save, locked: a rename away from this name that committed while this
    transaction waited on the name's unique index is seen, and the name stays its owner's."""
    until = held_until(username, user=user, lock=True)
    if until is not None:
        raise AccountError(held_message(until), field="username")


def _free(username: str, user: User) -> None:
    """``user`` stopped using ``username``: it stays theirs for ``USERNAME_REUSE_DAYS``."""
    FreedUsername.objects.update_or_create(
        key=username.lower(),
        defaults={"username": username, "user": user, "freed_at": timezone.now()},
    )


def register_user(*, username: str, email: str, password: str) -> User:
    """Create a member. Raises AccountError when the username or email was taken meanwhile, or
    the name was someone else's until recently."""
    try:
        with transaction.atomic():
            user = User(username=username, email=email, password=make_password(password))
            user.save()
            _refuse_held(username, user)
    except IntegrityError as error:
        raise _taken(error) from error
    metrics.signups.inc()
    return user


def update_profile(*, user: User, username: str, email: str, bio: str) -> User:
    """Edit a profile. A name given up is held for the person (``FreedUsername``); taking back
    one's own old name releases its hold."""
    try:
        with transaction.atomic():
            locked = User.objects.select_for_update().get(pk=user.pk)
            renamed(locked, old=locked.username, new=username)
            locked.username, locked.email, locked.bio = username, email, bio
            locked.save(update_fields=["username", "email", "bio"])
            _refuse_held(username, locked)
    except IntegrityError as error:
        raise _taken(error) from error
    user.refresh_from_db()
    return user


def renamed(user: User, *, old: str, new: str) -> None:
    """Record a change of name (here, and from the admin): the old one is held for ``user``."""
    if old.lower() == new.lower():
        return
    _free(old, user)
    FreedUsername.objects.filter(key=new.lower(), user=user).delete()


def removes_last_admin(
    user: User, *, role: str, state: str, active: bool = True, lock: bool = False
) -> bool:
    """Whether giving ``user`` this role, state and activity would leave no active admin. With
    ``lock``, every admin row is locked (ascending id) first, so two admins removing each other
    at once cannot both succeed."""
    if user.role != User.Role.ADMIN or (
        role == User.Role.ADMIN and state == User.State.ACTIVE and active
    ):
        return False
    admins = User.objects.filter(role=User.Role.ADMIN).order_by("pk")
    if lock:
        admins = admins.select_for_update()
    return not any(a.pk != user.pk and a.is_active and a.state == User.State.ACTIVE for a in admins)


LAST_ADMIN = gettext_lazy("The last admin cannot be removed: make someone else admin first.")


def _keep_an_admin(user: User, *, role: str, state: str, active: bool = True) -> None:
    if removes_last_admin(user, role=role, state=state, active=active, lock=True):
        raise AccountError(str(LAST_ADMIN))


def delete_account(*, user: User) -> None:
    """The person can no longer log in; their content stays and shows as "deleted user"."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_deleted:
            return
        _keep_an_admin(locked, role=locked.role, state=locked.state, active=False)
        renamed(locked, old=locked.username, new=f"deleted-{locked.pk}")
        locked.username = f"deleted-{locked.pk}"
        locked.email = None
        locked.first_name = locked.last_name = locked.bio = ""
        locked.is_active = False
        locked.deleted_at = timezone.now()
        # A new unusable password also changes the session hash: every other session ends.
        locked.set_unusable_password()
        locked.save()


def change_state(
    *,
    user_id: int,
    state: str,
    reason: str,
    by: User | None,
    until: datetime.datetime | None = None,
) -> User:
    """Activate, suspend (until a time) or block a person, and record it in their state history.
    ``by`` None is an operator's command; a person may act only on accounts of their role or
    lower, and never remove the last admin."""
    if state not in User.State.values:
        raise AccountError(gettext("Unknown state %(state)r.") % {"state": state})
    reason = reason.strip()
    if not reason:
        raise AccountError(gettext("Give a reason."), field="reason")
    if state == User.State.SUSPENDED:
        if until is None or until <= timezone.now():
            raise AccountError(gettext("A suspension needs an end in the future."), field="until")
    else:
        until = None
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if not roles.may_change_state(by, user):
            raise AccountError(
                gettext("You may not change the state of %(name)s.") % {"name": user.public_name}
            )
        _keep_an_admin(user, role=user.role, state=state)
        user.state, user.suspended_until, user.state_reason = state, until, reason
        user.save(update_fields=["state", "suspended_until", "state_reason"])
        StateChange.objects.create(user=user, state=state, until=until, reason=reason, set_by=by)
    return user


def change_role(*, user_id: int, role: str, by: User | None, reason: str = "") -> User:
    """Make a person a member, staff or admin (admins and operators' commands only), recorded in
    their state history. The last admin cannot be demoted."""
    if role not in User.Role.values:
        raise AccountError(gettext("Unknown role %(role)r.") % {"role": role}, field="role")
    if not roles.may_manage_accounts(by):
        raise AccountError(gettext("Only admins change roles."), field="role")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if user.role == role:
            return user
        try:
            _keep_an_admin(user, role=role, state=user.state)
        except AccountError as error:
            raise AccountError(error.message, field="role") from None
        previous, user.role = user.role, role
        user.save(update_fields=["role", "is_staff", "is_superuser"])
        StateChange.record_role(
            user, by=by, reason=reason.strip() or f"Role changed from {previous} to {role}."
        )
    return user


def record_login(*, user: User, request) -> LoginRecord:
    metrics.logins.inc()
    return LoginRecord.objects.create(
        user=user,
        ip=client_ip(request) or None,
        user_agent=request.headers.get("User-Agent", "")[:512],
    )
