from django.urls import path, register_converter

from . import views


class IdConverter:
    # At most 18 digits: fits a 64-bit column, so a huge id is a 404, never an overflow.
    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(IdConverter, "id")

app_name = "board"

urlpatterns = [
    path("", views.index, name="index"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("new/", views.post_create, name="post_create"),
    path("p/<id:pk>/", views.post_detail, name="post"),
    path("p/<id:pk>/edit/", views.post_edit, name="post_edit"),
    path("p/<id:pk>/delete/", views.post_delete, name="post_delete"),
    path("p/<id:pk>/vote/", views.post_vote, name="post_vote"),
    path("p/<id:pk>/history/", views.post_history, name="post_history"),
    path("p/<id:pk>/history.csv", views.post_history_csv, name="post_history_csv"),
    path("p/<id:pk>/comment/", views.comment_create, name="comment_create"),
    path("p/<id:pk>/moderate/", views.post_moderate, name="post_moderate"),
    path("comments/<id:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<id:pk>/history/", views.comment_history, name="comment_history"),
    path("comments/<id:pk>/history.csv", views.comment_history_csv, name="comment_history_csv"),
    path("comments/<id:pk>/delete/", views.comment_delete, name="comment_delete"),
    path("comments/<id:pk>/vote/", views.comment_vote, name="comment_vote"),
    path("comments/<id:pk>/moderate/", views.comment_moderate, name="comment_moderate"),
    path("moderation/", views.moderation_log, name="moderation_log"),
]
