"""People: the user model with role and state, the history of states, and log-in records."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils import timezone

from . import roles

DELETED_USER_NAME = "deleted user"


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
        MEMBER = "member", "Member"
        STAFF = "staff", "Staff"
        ADMIN = "admin", "Admin"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        BLOCKED = "blocked", "Blocked"

    # Stored lower-cased, so uniqueness is case-insensitive on every database. Null once deleted.
    email = models.EmailField("email address", unique=True, null=True, blank=True)
    bio = models.TextField(blank=True, max_length=500)
    role = models.CharField(max_length=10, choices=Role, default=Role.MEMBER)
    state = models.CharField(max_length=10, choices=State, default=State.ACTIVE)
    suspended_until = models.DateTimeField(null=True, blank=True)
    state_reason = models.CharField(max_length=500, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    class Meta:
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
        return DELETED_USER_NAME if self.is_deleted else self.username

    @property
    def restriction(self) -> str | None:
        """Why this person may not log in or write right now, or None when they may."""
        if self.state == self.State.BLOCKED:
            return "This account is blocked" + (
                f": {self.state_reason}" if self.state_reason else "."
            )
        if self.state == self.State.SUSPENDED and self.suspended_until > timezone.now():
            until = timezone.localtime(self.suspended_until).strftime("%Y-%m-%d %H:%M")
            reason = f" Reason: {self.state_reason}" if self.state_reason else ""
            return f"This account is suspended until {until}.{reason}"
        return None

    @property
    def can_write(self) -> bool:
        return self.is_active and not self.is_deleted and self.restriction is None


class StateChange(models.Model):
    """One change of a person's state or role: what it became, why, until when and who decided."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="state_changes")
    state = models.CharField(max_length=10, choices=User.State)
    # The role this entry gave the person; empty when only the state changed.
    role = models.CharField(max_length=10, choices=User.Role, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
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

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="logins")
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"])]

    def __str__(self):
        return f"{self.user} at {self.at:%Y-%m-%d %H:%M}"
