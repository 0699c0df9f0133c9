"""How a person's name shows on a page: a link to their profile, or plain text once deleted."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def person(user) -> str:
    """``{% person post.author %}``: the name linking to the profile; a deleted person (whose
    profile is gone) is the plain words "deleted user". ``{% person x as name %}`` to put it in
    a translated sentence."""
    if user.is_deleted:
        return format_html('<span class="person">{}</span>', user.public_name)
    url = reverse("accounts:profile", args=[user.username])
    return format_html('<a class="person" href="{}">{}</a>', url, user.username)
