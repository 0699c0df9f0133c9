"""Account pages: HTTP only; the work is in forms and services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from board.selectors import recent_posts_by
from config.pages import check_page, parse_page
from config.ratelimit import RateLimit

from . import services
from .forms import DeleteAccountForm, LoginForm, ProfileForm, SignUpForm
from .models import User
from .utils import client_ip


def signup_limit() -> RateLimit:
    return RateLimit("signup-ip", settings.SIGNUP_LIMIT_PER_IP, settings.SIGNUP_WINDOW_SECONDS)


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:me")
    form = SignUpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        limit, ip = signup_limit(), client_ip(request)
        if limit.exceeded(ip):
            form.add_error(
                None, gettext("Too many sign-ups from your network. Please try again later.")
            )
            status = 429
        elif form.is_valid():
            try:
                user = services.register_user(
                    username=form.cleaned_data["username"],
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password1"],
                )
            except services.AccountError as error:
                form.add_error(error.field, error.message)
            else:
                limit.hit(ip)
                login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
                messages.success(
                    request, gettext("Welcome to okcow, %(name)s!") % {"name": user.username}
                )
                return redirect("accounts:me")
        if form.errors and status == 200:
            status = 400
    return render(
        request, "accounts/signup.html", {"form": form, "submit": _("Sign up")}, status=status
    )


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    extra_context = {"submit": _("Log in")}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 429 if form.rate_limited else 400
        return response


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:me")
    extra_context = {"submit": _("Change password")}

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, gettext("Your password has been changed."))
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


@login_required
def me(request):
    paginator = Paginator(request.user.logins.all(), 20)
    number = parse_page(request.GET.get("page"))
    check_page(number, paginator.num_pages)
    logins = paginator.page(number)
    states = request.user.state_changes.select_related("set_by")[:20]
    return render(request, "accounts/me.html", {"logins": logins, "state_changes": states})


@login_required
@require_http_methods(["GET", "POST"])
def edit_profile(request):
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(
                user=request.user,
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                bio=form.cleaned_data["bio"],
            )
        except services.AccountError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, gettext("Your profile has been saved."))
            return redirect("accounts:me")
    status = 400 if form.errors else 200
    return render(
        request,
        "accounts/profile_edit.html",
        {"form": form, "submit": _("Save profile")},
        status=status,
    )


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request):
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.delete_account(user=request.user)
        logout(request)
        messages.success(request, gettext("Your account has been deleted."))
        return redirect("home")
    status = 400 if form.errors else 200
    return render(
        request,
        "accounts/delete.html",
        {"form": form, "submit": _("Delete my account")},
        status=status,
    )


def profile(request, username):
    person = get_object_or_404(User, username=username, deleted_at__isnull=True)
    posts = recent_posts_by(person.pk)
    return render(request, "accounts/profile.html", {"person": person, "posts": posts})
