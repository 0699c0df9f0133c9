"""Log in with a username (any case) or an email address, within the failed-log-in limits."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from . import login_limits


class UsernameOrEmailBackend(ModelBackend):
    """The only authentication backend, so every way in (site, admin, ``authenticate()``) passes
    the same limits (``accounts.login_limits``)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user = self.find(username)
        login_limits.check(request, user.pk if user else None)
        if user is None:
            get_user_model()().set_password(password)  # same work as a real check: no timing hint
        elif user.check_password(password) and self.user_can_authenticate(user):
            login_limits.succeeded(user.pk)
            return user
        login_limits.failed(request, user.pk if user else None)
        return None

    @staticmethod
    def find(login: str):
        """The account ``login`` names: an e-mail address, or a username in any case (usernames may
        hold an ``@`` too: a login that is no one's e-mail is tried as a username)."""
        login = login.strip()
        people = get_user_model().objects
        by_email = people.filter(email=login.lower()).first() if "@" in login else None
        return by_email or people.filter(username__iexact=login).first()

    def user_can_authenticate(self, user):
        # Blocked or suspended people do authenticate; the log-in form then tells them why they
        # may not enter (accounts.forms.LoginRulesMixin.confirm_login_allowed).
        return super().user_can_authenticate(user) and not user.is_deleted
