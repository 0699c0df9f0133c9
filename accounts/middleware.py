"""End the session of a person who was blocked or suspended while logged in."""

from django.contrib import messages
from django.contrib.auth import logout
from django.utils.translation import gettext


class AccountStateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        # request.user is read from the database on every request, so a block set a moment ago
        # in the admin is seen here at this person's very next request.
        if user.is_authenticated and (restriction := user.restriction):
            logout(request)
            text = gettext("You have been logged out. %(why)s") % {"why": restriction}
            messages.error(request, text)
        return self.get_response(request)
