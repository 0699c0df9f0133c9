"""Staff tools for people: search, filters, state history, log-ins, and state-change actions."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse
from django.utils import timezone

from . import services
from .models import LoginRecord, StateChange, User


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
    fields = readonly_fields = ["created_at", "state", "until", "reason", "set_by"]


class LoginRecordInline(ReadOnlyInline):
    model = LoginRecord
    fields = readonly_fields = ["at", "ip", "user_agent"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-at")


class StateChangeForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    until = forms.DateTimeField(
        required=False,
        help_text="Suspensions only: when the suspension ends (YYYY-MM-DD HH:MM).",
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username",
        "email",
        "role",
        "state",
        "suspended_until",
        "date_joined",
        "last_login",
        "is_deleted",
    ]
    list_filter = ["role", "state", "is_active", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["username", "email"]
    ordering = ["-date_joined"]
    readonly_fields = [
        "state",
        "suspended_until",
        "state_reason",
        "deleted_at",
        "last_login",
        "date_joined",
    ]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["email", "bio"]}),
        ("Role", {"fields": ["role"]}),
        (
            "State (change with the actions on the list)",
            {"fields": ["state", "suspended_until", "state_reason", "is_active", "deleted_at"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
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

    @admin.display(boolean=True, description="deleted")
    def is_deleted(self, obj):
        return obj.is_deleted

    @admin.action(description="Suspend selected people (with a reason and an end)")
    def suspend(self, request, queryset):
        return self._change_state(request, queryset, User.State.SUSPENDED, "suspend")

    @admin.action(description="Block selected people (with a reason)")
    def block(self, request, queryset):
        return self._change_state(request, queryset, User.State.BLOCKED, "block")

    @admin.action(description="Reactivate selected people (with a reason)")
    def reactivate(self, request, queryset):
        return self._change_state(request, queryset, User.State.ACTIVE, "reactivate")

    def _change_state(self, request, queryset, state, action):
        form = StateChangeForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            until = form.cleaned_data["until"]
            if state == User.State.SUSPENDED and (until is None or until <= timezone.now()):
                form.add_error("until", "A suspension needs an end in the future.")
            else:
                for user in queryset.order_by("pk"):
                    services.change_state(
                        user_id=user.pk,
                        state=state,
                        until=until,
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                    )
                self.message_user(request, f"{queryset.count()} people: {state}.", messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.capitalize()} people",
            "form": form,
            "people": queryset,
            "action": action,
            "state": state,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/change_state.html", context)


@admin.register(LoginRecord)
class LoginRecordAdmin(admin.ModelAdmin):
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
