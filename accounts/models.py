"""People: the user model with role and state, the history of states, log-in records, and the
names people stopped using."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from . import roles, useragent

DELETED_USER_NAME = _("deleted user")


class UserManager(DjangoUserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", User.Role.ADMIN)
        user = super().create_superuser(username, email, password, **extra_fields)
        StateChange.record_role(user, by=None, reason="Created as admin.")
        return user

    def get_by_natural_key(self, username):
        # Usernames are unique case-insensitively; log in with any case.
        return self.get(username__iexact=username)


class User(AbstractUser):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        STAFF = "staff", _("Staff")
        ADMIN = "admin", pgettext_lazy("role", "Admin")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        BLOCKED = "blocked", _("Blocked")

    # Stored lower-cased, so uniqueness is case-insensitive on every database. Null once deleted.
    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    bio = models.TextField(_("about"), blank=True, max_length=500)
    role = models.CharField(_("role"), max_length=10, choices=Role, default=Role.MEMBER)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.ACTIVE)
    suspended_until = models.DateTimeField(_("suspended until"), null=True, blank=True)
    state_reason = models.CharField(_("reason for the state"), max_length=500, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="suspended") | models.Q(suspended_until__isnull=False),
                name="user_suspension_has_end",
            )
        ]

    def save(self, *args, **kwargs):
        # Django's permission flags follow the role, so the role is the one thing staff change.
        self.is_staff = self.role in (self.Role.STAFF, self.Role.ADMIN)
        self.is_superuser = self.role == self.Role.ADMIN
        if self.email:
            self.email = self.email.strip().lower()
        else:
            self.email = None
        super().save(*args, **kwargs)

    def __str__(self):
        return self.public_name

    def has_perm(self, perm, obj=None):
        if self.is_active and self.role == self.Role.STAFF and roles.staff_may(perm):
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label):
        if self.is_active and self.role == self.Role.STAFF and app_label in roles.STAFF_APPS:
            return True
        return super().has_module_perms(app_label)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def public_name(self) -> str:
        return str(DELETED_USER_NAME) if self.is_deleted else self.username

    @property
    def restriction(self) -> str | None:
        """Why this person may not log in or write right now, or None when they may."""
        if self.state == self.State.BLOCKED:
            if self.state_reason:
                return gettext("This account is blocked: %(reason)s") % {
                    "reason": self.state_reason
                }
            return gettext("This account is blocked.")
        if self.state == self.State.SUSPENDED and self.suspended_until > timezone.now():
            until = formats.date_format(
                timezone.localtime(self.suspended_until), "SHORT_DATETIME_FORMAT"
            )
            text = gettext("This account is suspended until %(until)s.") % {"until": until}
            if self.state_reason:
                text += " " + gettext("Reason: %(reason)s") % {"reason": self.state_reason}
            return text
        return None

    @property
    def can_write(self) -> bool:
        return self.is_active and not self.is_deleted and self.restriction is None


class StateChange(models.Model):
    """One change of a person's state or role: what it became, why, until when and who decided."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="state_changes", verbose_name=_("user")
    )
    state = models.CharField(_("state"), max_length=10, choices=User.State)
    # The role this entry gave the person; empty when only the state changed.
    role = models.CharField(_("role"), max_length=10, choices=User.Role, blank=True)
    until = models.DateTimeField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("set by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("state change")
        verbose_name_plural = _("state changes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self):
        return f"{self.user} → {self.role or self.state}"

    @classmethod
    def record_role(cls, user: User, *, by: User | None, reason: str) -> "StateChange":
        """Note in ``user``'s history the role they have now."""
        return cls.objects.create(
            user=user,
            state=user.state,
            until=user.suspended_until,
            role=user.role,
            reason=reason,
            set_by=by,
        )


class LoginRecord(models.Model):
    """One successful log-in."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="logins", verbose_name=_("user")
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=512, blank=True)

    class Meta:
        verbose_name = _("log-in record")
        verbose_name_plural = _("log-in records")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"])]

    def __str__(self):
        return f"{self.user} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def browser(self) -> str:
        """The browser, system and device in words ("Chrome 156 · Linux"), "" if unknown."""
        return useragent.describe(self.user_agent)


class FreedUsername(models.Model):
    """A name someone stopped using (a rename, a deleted account). For ``USERNAME_REUSE_DAYS``
    nobody else may take it — only the person who had it — so a cached page or a link in an old
    post never seems to point at somebody new."""

    key = models.CharField(_("name, lower-cased"), max_length=150, unique=True, editable=False)
    username = models.CharField(_("username"), max_length=150)
    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("used by"),
    )
    freed_at = models.DateTimeField(_("freed at"), default=timezone.now)

    class Meta:
        verbose_name = _("freed username")
        verbose_name_plural = _("freed usernames")
        ordering = ["-freed_at"]

    def __str__(self):
        return self.username

    @property
    def reusable_at(self):
        return self.freed_at + timedelta(days=settings.USERNAME_REUSE_DAYS)
