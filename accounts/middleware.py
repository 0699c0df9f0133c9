"""End the session of a person who was blocked or suspended while logged in."""

from django.contrib import messages
from django.contrib.auth import logout


class AccountStateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        # request.user is read from the database on every request, so a block set a moment ago
        # in the admin is seen here at this person's very next request.
        if user.is_authenticated and (restriction := user.restriction):
            logout(request)
            messages.error(request, f"You have been logged out. {restriction}")
        return self.get_response(request)
