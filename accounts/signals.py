"""Record every successful log-in."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import services


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    services.record_login(user=user, request=request)
