from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from . import views

admin.site.site_header = format_lazy(_("{site} administration"), site=settings.SITE_NAME)
admin.site.site_title = settings.SITE_NAME

handler500 = "config.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("board/", include("board.urls")),
    path("investments/", include("investments.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's switch
    path("healthz", views.liveness, name="liveness"),
    path("readyz", views.readiness, name="readiness"),
    path("metrics", views.metrics, name="metrics"),
]

if settings.BENCH_VIEWS:  # the benchmark's ceiling views (`make bench`), never in production
    urlpatterns.append(path("_bench/", include("bench.ceiling")))
