from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _categories_changed(**kwargs) -> None:
    from .services import lists_changed

    lists_changed()


class BoardConfig(AppConfig):
    name = "board"

    def ready(self):
        # Staff change categories in the admin: the menu and the lists' headings change with them.
        for signal in (post_save, post_delete):
            signal.connect(_categories_changed, sender="board.Category", dispatch_uid="board-lists")
