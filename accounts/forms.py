"""Account forms. Each reports every broken rule at once, next to its field."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import metrics, services
from .models import User


class UsernameEmailMixin:
    """Username and email rules shared by sign-up and profile editing."""

    instance_pk: int | None = None

    def clean_username(self):
        username = User.normalize_username(self.cleaned_data["username"].strip())
        taken = User.objects.filter(username__iexact=username).exclude(pk=self.instance_pk)
        if taken.exists():
            raise ValidationError(_("This username is already taken."), code="unique")
        owner = User(pk=self.instance_pk) if self.instance_pk else None
        if (until := services.held_until(username, user=owner)) is not None:
            raise ValidationError(services.held_message(until), code="held")
        return username

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exclude(pk=self.instance_pk).exists():
            raise ValidationError(_("An account with this email already exists."), code="unique")
        return email


def username_field() -> forms.CharField:
    return forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Up to 150 characters: letters (any language), digits and @ . + - _"),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )


class SignUpForm(UsernameEmailMixin, forms.Form):
    username = username_field()
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords do not match."))
        if password1:
            candidate = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginRulesMixin:
    """What every log-in form adds to Django's: the failed-log-in limits' message next to the
    field (the limits themselves are in the backend) and no entry while blocked or suspended."""

    rate_limited = False

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if refusal := getattr(self.request, "login_refusal", None):
                self.rate_limited = True
                raise ValidationError(refusal, code="too_many") from None
            raise

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if restriction := user.restriction:
            metrics.failed_logins.labels(reason="restricted").inc()
            raise ValidationError(restriction, code="restricted")


class LoginForm(LoginRulesMixin, AuthenticationForm):
    username = forms.CharField(
        label=_("Username or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong username or password."),
    }


class AdminLoginForm(LoginRulesMixin, AdminAuthenticationForm):
    pass


class ProfileForm(UsernameEmailMixin, forms.ModelForm):
    username = username_field()
    email = forms.EmailField(label=_("Email"), max_length=254)

    class Meta:
        model = User
        fields = ["username", "email", "bio"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance_pk = self.instance.pk


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=_("I understand: I cannot log in again, and my posts stay as “deleted user”.")
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("This is not your password."), code="wrong_password")
        return password
