"""Log in with a username (any case) or an email address."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        User = get_user_model()
        login = username.strip()
        lookup = {"email": login.lower()} if "@" in login else {"username__iexact": login}
        try:
            user = User.objects.get(**lookup)
        except User.DoesNotExist:
            User().set_password(password)  # same work as a real check: no timing hint
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user):
        # Blocked or suspended people do authenticate; the log-in form then tells them why they
        # may not enter (accounts.forms.LoginForm.confirm_login_allowed).
        return super().user_can_authenticate(user) and not user.is_deleted
