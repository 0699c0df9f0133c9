"""Staff tools for people: search, filters, state history, log-ins, and state-change actions."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from config.admin import BoundedAdmin
from config.validators import MomentField

from . import roles, services
from .forms import AdminLoginForm
from .models import FreedUsername, LoginRecord, StateChange, User

# The admin's log-in goes through the same limits and account-state rules as the site's.
admin.site.login_form = AdminLoginForm


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BoundedAdmin, DjangoGroupAdmin):
    pass


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StateChangeInline(ReadOnlyInline):
    model = StateChange
    fk_name = "user"
    fields = readonly_fields = ["created_at", "state", "role", "until", "reason", "set_by"]


class LoginRecordInline(ReadOnlyInline):
    model = LoginRecord
    fields = readonly_fields = ["at", "ip", "user_agent"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-at")


class StateChangeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    until = MomentField(
        label=_("Until"),
        required=False,
        help_text=_("Suspensions only: when the suspension ends (YYYY-MM-DD HH:MM)."),
    )


class PersonChangeForm(UserChangeForm):
    """An admin's edit of a person. The role goes through ``services.change_role`` (recorded, and
    never removing the last admin); it is checked here too, so the refusal shows on the field."""

    def clean_role(self):
        role = self.cleaned_data["role"]
        if services.removes_last_admin(self.instance, role=role, state=self.instance.state):
            raise forms.ValidationError(services.LAST_ADMIN)
        return role


STATE_TITLES = {
    "suspend": _("Suspend people"),
    "block": _("Block people"),
    "reactivate": _("Reactivate people"),
}


@admin.register(User)
class UserAdmin(BoundedAdmin, DjangoUserAdmin):
    """Staff see people and change their states (``roles.may_change_state``); only admins add
    people or edit an account's name, e-mail, password or role (staff hold only the view
    permissions of ``accounts``: ``roles.staff_may``). Accounts are never deleted here: deleting
    one is the soft delete that keeps their posts."""

    form = PersonChangeForm
    list_display = [
        "username",
        "email",
        "role",
        "state_now",
        "suspended_until",
        "date_joined",
        "last_login",
    ]
    list_filter = ["role", "state", "is_active", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["username", "email"]
    ordering = ["-date_joined"]
    readonly_fields = [
        "state",
        "suspended_until",
        "state_reason",
        "is_active",
        "deleted_at",
        "last_login",
        "date_joined",
    ]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Profile"), {"fields": ["email", "bio"]}),
        (_("Role"), {"fields": ["role"]}),
        (
            _("State (change with the actions on the list)"),
            {"fields": ["state", "suspended_until", "state_reason", "is_active", "deleted_at"]},
        ),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "email", "role", "password1", "password2"],
            },
        ),
    ]
    inlines = [StateChangeInline, LoginRecordInline]
    actions = ["suspend", "block", "reactivate"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        role = obj.role
        if change and "role" in form.changed_data:
            obj.role = form.initial["role"]  # the role changes through its service, below
        if change and "username" in form.changed_data:
            services.renamed(obj, old=form.initial["username"], new=obj.username)
        super().save_model(request, obj, form, change)
        if not change and obj.role != User.Role.MEMBER:
            StateChange.record_role(obj, by=request.user, reason=f"Created as {obj.role}.")
        elif obj.role != role:
            try:
                services.change_role(user_id=obj.pk, role=role, by=request.user)
            except services.AccountError as error:  # lost a race with another admin
                self.message_user(request, error.message, messages.ERROR)
            obj.refresh_from_db()

    @admin.display(description=_("state"), ordering="state")
    def state_now(self, obj):
        """A deleted account is Deleted, whatever state it was in when it was deleted."""
        return gettext("Deleted") if obj.is_deleted else obj.get_state_display()

    @admin.action(description=_("Suspend selected people (with a reason and an end)"))
    def suspend(self, request, queryset):
        return self._change_state(request, queryset, User.State.SUSPENDED, "suspend")

    @admin.action(description=_("Block selected people (with a reason)"))
    def block(self, request, queryset):
        return self._change_state(request, queryset, User.State.BLOCKED, "block")

    @admin.action(description=_("Reactivate selected people (with a reason)"))
    def reactivate(self, request, queryset):
        return self._change_state(request, queryset, User.State.ACTIVE, "reactivate")

    def _change_state(self, request, queryset, state, action):
        refused = [p for p in queryset if not roles.may_change_state(request.user, p)]
        if refused:
            names = ", ".join(p.public_name for p in refused)
            self.message_user(
                request,
                gettext("You may not change the state of: %(names)s. Nothing changed.")
                % {"names": names},
                messages.ERROR,
            )
            return None
        form = StateChangeForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            changed = 0
            for user in queryset.order_by("pk"):
                try:
                    services.change_state(
                        user_id=user.pk,
                        state=state,
                        until=form.cleaned_data["until"],
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                    )
                except services.AccountError as error:
                    if error.field in form.fields:
                        form.add_error(error.field, error.message)
                        break
                    self.message_user(
                        request, f"{user.public_name}: {error.message}", messages.ERROR
                    )
                else:
                    changed += 1
            else:
                if changed:
                    text = ngettext(
                        "%(changed)d of %(total)d person: %(state)s.",
                        "%(changed)d of %(total)d people: %(state)s.",
                        len(queryset),
                    ) % {
                        "changed": changed,
                        "total": len(queryset),
                        "state": User.State(state).label,
                    }
                    self.message_user(request, text, messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": STATE_TITLES[action],
            "form": form,
            "people": queryset,
            "action": action,
            "state": state,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/change_state.html", context)


@admin.register(LoginRecord)
class LoginRecordAdmin(BoundedAdmin, admin.ModelAdmin):
    list_display = ["at", "user", "ip", "user_agent"]
    list_filter = [("at", admin.DateFieldListFilter)]
    search_fields = ["user__username", "ip"]
    list_select_related = ["user"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StateChange)
class StateChangeAdmin(LoginRecordAdmin):
    list_display = ["created_at", "user", "state", "until", "reason", "set_by"]
    list_filter = ["state"]
    search_fields = ["user__username", "reason"]
    list_select_related = ["user", "set_by"]
    date_hierarchy = "created_at"


@admin.register(FreedUsername)
class FreedUsernameAdmin(LoginRecordAdmin):
    """Names people stopped using, held for them for ``USERNAME_REUSE_DAYS``. An admin may
    delete a row to release a name early."""

    list_display = ["username", "user", "freed_at", "reusable_at"]
    list_filter = [("freed_at", admin.DateFieldListFilter)]
    search_fields = ["username", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "freed_at"

    @admin.display(description=_("free for anyone from"))
    def reusable_at(self, obj):
        return obj.reusable_at
