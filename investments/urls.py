from django.urls import path

from . import views

app_name = "investments"

urlpatterns = [
    path("", views.index, name="index"),
]
