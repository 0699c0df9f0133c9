# okcow: multi-stage build; the final image runs gunicorn as a non-root user.
FROM python:3.13-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev gettext \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt
# The translations, compiled here (msgfmt stays out of the runtime image).
WORKDIR /src
COPY locale locale
RUN /venv/bin/python -m django compilemessages -v 0

FROM python:3.13-slim-bookworm AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 okcow
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=okcow:okcow . .
COPY --from=build --chown=okcow:okcow /src/locale /app/locale
ENV PATH="/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_ENV=production \
    OKCOW_VAR_DIR=/app/var \
    PROMETHEUS_MULTIPROC_DIR=/tmp/okcow-prometheus
# collectstatic needs settings that pass the production checks; these values exist only here.
RUN SECRET_KEY=build-only-not-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    ALLOWED_HOSTS=build python manage.py collectstatic --no-input -v 0 \
 && mkdir -p /app/var && chown okcow:okcow /app/var /app/staticfiles
USER okcow
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
