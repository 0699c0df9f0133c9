from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_save


def _categories_changed(**kwargs) -> None:
    from .services import lists_changed

    lists_changed()


def _person_saved(instance, created=False, update_fields=None, **kwargs) -> None:
    # A person's name is in the entries of what they wrote (and is taken out when they delete
    # their account) and on the cached pages that show it; saves of other fields (a log-in's
    # last_login) change nothing there.
    if created:  # nothing written yet
        return
    if update_fields is None or {"username", "deleted_at"} & set(update_fields):
        from .search import index
        from .services import author_renamed

        index.after_commit(authors=[instance.pk])
        author_renamed(instance.pk)


def _removed(sender, instance, **kwargs) -> None:
    # Posts and comments are soft-deleted; one removed for good (in the admin) leaves the index.
    from .search import index

    key = index.post_key if sender._meta.model_name == "post" else index.comment_key
    index.after_commit(keys=[key(instance.pk)])


class BoardConfig(AppConfig):
    name = "board"

    def ready(self):
        # Staff change categories in the admin: the menu and the lists' headings change with them.
        for signal in (post_save, post_delete):
            signal.connect(_categories_changed, sender="board.Category", dispatch_uid="board-lists")
        post_save.connect(_person_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="board-name")
        for model in ("board.Post", "board.Comment"):
            post_delete.connect(_removed, sender=model, dispatch_uid=f"board-search-{model}")
