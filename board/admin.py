"""Admin for staff: categories, posts and comments (with hide/restore actions), versions, log."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.validators import validate_moment

from . import services
from .models import Category, Comment, CommentVersion, ModerationAction, Post, PostVersion


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "slug", "position", "post_count"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["post_count"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "parent" in form.changed_data:
            services.rehome_category(category=obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _moderate(modeladmin, request, queryset, *, hide, fn, key):
    reason = request.POST.get("reason") or f"{'hidden' if hide else 'restored'} in admin"
    done = 0
    for obj in queryset:
        try:
            fn(moderator=request.user, **{key: obj.pk}, hide=hide, reason=reason)
            done += 1
        except (PermissionDenied, Http404, Post.DoesNotExist, Comment.DoesNotExist):
            pass
    modeladmin.message_user(
        request,
        ngettext("%(n)d changed.", "%(n)d changed.", done) % {"n": done},
        messages.SUCCESS,
    )


class BoundedMoments:
    """Times typed into a post's or comment's form stay within the years the site can convert
    (a year-1 moment in Seoul is before year 1 in UTC: a 500 instead of an error on the field)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField) and field is not None:
            field.validators = [*field.validators, validate_moment]
        return field


@admin.register(Post)
class PostAdmin(BoundedMoments, admin.ModelAdmin):
    list_display = [
        "title",
        "category",
        "author",
        "created_at",
        "is_active",
        "comment_count",
        "vote_count",
    ]
    list_filter = ["is_active", "category"]
    search_fields = ["title"]
    raw_id_fields = ["author"]
    readonly_fields = ["comment_count", "vote_count", "is_active", "hidden_reason"]
    actions = ["hide", "restore"]

    @admin.action(description=_("Hide selected posts (recorded)"))
    def hide(self, request, queryset):
        _moderate(self, request, queryset, hide=True, fn=services.moderate_post, key="post_id")

    @admin.action(description=_("Restore selected posts (recorded)"))
    def restore(self, request, queryset):
        _moderate(self, request, queryset, hide=False, fn=services.moderate_post, key="post_id")


@admin.register(Comment)
class CommentAdmin(BoundedMoments, admin.ModelAdmin):
    list_display = ["pk", "post", "author", "created_at", "is_active", "vote_count"]
    list_filter = ["is_active"]
    raw_id_fields = ["post", "author"]
    readonly_fields = ["vote_count", "is_active", "hidden_reason"]
    actions = ["hide", "restore"]

    @admin.action(description=_("Hide selected comments (recorded)"))
    def hide(self, request, queryset):
        _moderate(
            self, request, queryset, hide=True, fn=services.moderate_comment, key="comment_id"
        )

    @admin.action(description=_("Restore selected comments (recorded)"))
    def restore(self, request, queryset):
        _moderate(
            self, request, queryset, hide=False, fn=services.moderate_comment, key="comment_id"
        )


@admin.register(PostVersion)
class PostVersionAdmin(ReadOnlyAdmin):
    list_display = ["post", "version", "title", "editor", "created_at"]


@admin.register(CommentVersion)
class CommentVersionAdmin(ReadOnlyAdmin):
    list_display = ["comment", "version", "editor", "created_at"]


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "moderator", "action", "post", "comment", "reason"]
    list_filter = ["action"]
