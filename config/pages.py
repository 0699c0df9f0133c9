"""Page numbers from a query string, the same on every list: a page that does not exist is a 404."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _

# No list is this long; a larger number is no page rather than a huge offset for the database.
MAX_PAGE = 1_000_000


class NoSuchPage(Http404):
    """A page number past the last page, or not a page number at all (abc, 0, -1)."""

    def __init__(self):
        super().__init__(_("There is no such page."))


def parse_page(value: str | None) -> int:
    """``?page=``: missing or empty is page 1; anything but a whole number from 1 is NoSuchPage
    (answered with the site's 404 page) — never quietly page 1."""
    if value is None or value == "":
        return 1
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE:
        raise NoSuchPage
    return int(value)


def check_page(number: int, pages: int) -> None:
    """NoSuchPage when ``number`` is past the last of ``pages`` (page 1 always exists, empty)."""
    if number > max(pages, 1):
        raise NoSuchPage
