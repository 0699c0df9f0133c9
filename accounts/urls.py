from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.me, name="me"),
    path("me/edit/", views.edit_profile, name="edit_profile"),
    path("me/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("me/delete/", views.delete_account, name="delete"),
    path("u/<str:username>/", views.profile, name="profile"),
]
