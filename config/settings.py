"""okcow settings: one module, driven by the environment.

With no environment set, the site runs on a SQLite file and the local-memory cache (the embedded
default). DATABASE_URL / REDIS_URL switch to MariaDB / Redis. DJANGO_ENV=production turns on the
production checks: a real SECRET_KEY and ALLOWED_HOSTS are required, cookies are secure, HSTS is on.
Every variable is listed in README.md.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OKCOW_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


ENVIRONMENT = os.environ.get("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

# --- Core ---------------------------------------------------------------------------------------

_DEV_SECRET_KEY = "django-insecure-okcow-development-only-key-do-not-use-in-production-0000"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

if PRODUCTION:
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs a real SECRET_KEY (50+ random characters)."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ENV=production needs ALLOWED_HOSTS (comma separated).")
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django_htmx",
    "django_prometheus",
    "config",  # the site-wide commands: demo_data, seed_scale
    "accounts",
    "board",
    "investments",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions: it records the primary's position after the session is saved.
    "config.replicas.ReadYourWritesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (a chosen language may live there), before common (which may redirect to
    # a URL it resolves in the request's language): Korean unless the person asks for English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: it tells the person why they were logged out.
    "accounts.middleware.AccountStateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.HtmxLoginRedirectMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# Form widgets and field groups may be overridden in templates/django/forms/.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- Database -------------------------------------------------------------------------------------


def _database(url: str, *, test_name: str | None = None) -> dict:
    config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
    config["CONN_HEALTH_CHECKS"] = True
    engine = config["ENGINE"]
    if engine == "django.db.backends.mysql":
        config["OPTIONS"] = {
            "charset": "utf8mb4",
            # READ COMMITTED: locking reads see the latest committed row, no gap locks on ranges.
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES', innodb_lock_wait_timeout=20",
        }
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    elif engine == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # IMMEDIATE: a write transaction takes the write lock at BEGIN, so two writers queue
            # instead of failing with "database is locked" when one upgrades from read to write.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
        # Tests use a file, not :memory:, so threads in transactional tests share one database.
        config["TEST"] = {"NAME": test_name or str(VAR_DIR / "test-db.sqlite3")}
    return config


VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'okcow.sqlite3'}"
DATABASES = {"default": _database(DATABASE_URL)}
# Read replicas (docs/operations.md): aliases "replica", "replica_2", ... Requests read one in
# rotation unless the person's last write is not on it yet (config/replicas.py).
for _n, _url in enumerate(
    env_list("DATABASE_REPLICA_URLS") or env_list("DATABASE_REPLICA_URL"), start=1
):
    _alias = "replica" if _n == 1 else f"replica_{_n}"
    DATABASES[_alias] = _database(_url, test_name=str(VAR_DIR / f"test-{_alias}.sqlite3"))
    DATABASES[_alias]["TEST"] = {"MIRROR": "default"}
    if DATABASES[_alias]["ENGINE"] == "django.db.backends.mysql":
        # A dead replica is noticed in a second, not after the operating system's TCP timeout.
        DATABASES[_alias]["OPTIONS"]["connect_timeout"] = 1
DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]
# A replica further behind than this (seconds) is out of rotation; checked this often per process.
DATABASE_REPLICA_MAX_LAG = env_int("DATABASE_REPLICA_MAX_LAG", 5)
DATABASE_REPLICA_CHECK_SECONDS = float(os.environ.get("DATABASE_REPLICA_CHECK_SECONDS", "1"))
# Read-your-writes: "gtid" (a replica that has applied the person's last write, else the primary)
# or "pin" (the primary for DATABASE_PIN_SECONDS after each write).
DATABASE_READ_YOUR_WRITES = os.environ.get("DATABASE_READ_YOUR_WRITES", "gtid")
if DATABASE_READ_YOUR_WRITES not in {"gtid", "pin"}:
    raise ImproperlyConfigured("DATABASE_READ_YOUR_WRITES must be 'gtid' or 'pin'.")
DATABASE_PIN_SECONDS = float(os.environ.get("DATABASE_PIN_SECONDS", "5"))
# How long MASTER_GTID_WAIT may wait for the replica to apply a person's write before their
# request reads the primary instead (0: only ask whether it has).
DATABASE_REPLICA_WAIT_SECONDS = float(os.environ.get("DATABASE_REPLICA_WAIT_SECONDS", "0"))
USING_MARIADB = DATABASES["default"]["ENGINE"] == "django.db.backends.mysql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions, locks -----------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "okcow")
# Redis Sentinel (docs/operations.md): REDIS_SENTINELS lists the sentinels (host:port, comma
# separated) and REDIS_URL names the service instead of a host, e.g. redis://okcow/0. Every use of
# Redis (cache, sessions' fast path, rate limits, locks, the matchers' streams) then asks the
# sentinels for the primary and follows it when they promote another.
REDIS_SENTINELS = [
    (host, int(port)) for host, _, port in (a.rpartition(":") for a in env_list("REDIS_SENTINELS"))
]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Redis is a fast path, never a single point of failure: a dead Redis makes cache
                # reads miss (pages come from the database) instead of raising.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    if REDIS_SENTINELS:
        # Only the primary, also for reads: a replica's copy may miss a key just invalidated.
        CACHES["default"]["OPTIONS"].update(
            CONNECTION_FACTORY="django_redis.pool.SentinelConnectionFactory",
            SENTINELS=REDIS_SENTINELS,
            SENTINEL_KWARGS={"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        )
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "okcow",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
# A market command waits (up to REDIS_WAIT_MS) until this many Redis replicas have it, so that a
# failover does not lose it (Redis replicates asynchronously). On by default with Sentinel.
REDIS_WAIT_REPLICAS = env_int("REDIS_WAIT_REPLICAS", 1 if REDIS_SENTINELS else 0)
REDIS_WAIT_MS = env_int("REDIS_WAIT_MS", 100)

# Sessions: read from the cache, written through to the database (a Redis restart logs no one out).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

# --- Accounts -------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed log-in limits: this many failures inside the window refuses further attempts.
LOGIN_FAILURE_LIMIT_PER_IP = env_int("LOGIN_FAILURE_LIMIT_PER_IP", 10)
LOGIN_FAILURE_LIMIT_PER_ACCOUNT = env_int("LOGIN_FAILURE_LIMIT_PER_ACCOUNT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
SIGNUP_LIMIT_PER_IP = env_int("SIGNUP_LIMIT_PER_IP", 10)
SIGNUP_WINDOW_SECONDS = env_int("SIGNUP_WINDOW_SECONDS", 60 * 60)
# Days a name someone stopped using (renamed, deleted) stays theirs: nobody else may take it, so
# an old post never seems to point at a different person.
USERNAME_REUSE_DAYS = env_int("USERNAME_REUSE_DAYS", 30)
# How many reverse proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Board ----------------------------------------------------------------------------------------

# Seconds a rendered page of a post list stays cached. Posts appearing, changing or going show at
# once (a new list version); only comment and vote counts in the rows may lag by this much.
BOARD_LIST_CACHE_SECONDS = int(os.environ.get("BOARD_LIST_CACHE_SECONDS", "30"))
# Seconds MariaDB may spend on one search statement; a broader search asks for another word.
BOARD_SEARCH_TIME_LIMIT = float(os.environ.get("BOARD_SEARCH_TIME_LIMIT", "2"))

# --- Market (investments) -------------------------------------------------------------------------

# What one person may deposit: at once, and in one day (Korea time), in won. A deposit past either
# is refused with the amount still allowed.
DEPOSIT_MAX_PER_DEPOSIT = env_int("DEPOSIT_MAX_PER_DEPOSIT", 10_000_000)
DEPOSIT_MAX_PER_DAY = env_int("DEPOSIT_MAX_PER_DAY", 50_000_000)
MARKET_TICK = env_int("MARKET_TICK", 100)  # price step, in cash
MARKET_FEE_RATE = os.environ.get("MARKET_FEE_RATE", "0.01")  # per side; fractions of a cash dropped
MARKET_PRICE_LIMIT = os.environ.get("MARKET_PRICE_LIMIT", "0.30")  # around the previous close
# (% fall of the MCPI against its previous close, halt minutes or None = closed for the day)
MARKET_CIRCUIT_BREAKER = [(8, 20), (15, 20), (20, None)]
# Who matches a fund's orders: "inline" (in the request that places the order; the embedded
# default) or "stream" (``manage.py run_matcher``, fed through Redis Streams; default with Redis).
MARKET_MATCHER = os.environ.get("MARKET_MATCHER", "stream" if REDIS_URL else "inline")
# Who writes the postings (time travel's index of the log, ``investments.postings``): "inline"
# (each command, in its own transaction; the embedded default) or "follower" (``manage.py
# run_postings``, behind the log, so the market's batches write none; default with the stream
# matcher). Readers get the same answers either way.
LEDGER_POSTINGS = os.environ.get(
    "LEDGER_POSTINGS", "follower" if MARKET_MATCHER == "stream" else "inline"
)
MATCHER_LEASE_SECONDS = env_int("MATCHER_LEASE_SECONDS", 5)
# The most commands one batch decides. A bigger batch writes fewer rows (an order placed and
# filled within one batch is written once, an investor's row once) and holds its rows' locks
# longer: 2,500 take about half a second when the queue is full, well inside the reply's wait.
MATCHER_BATCH = env_int("MATCHER_BATCH", 2_500)
# How long a request waits for its matcher's answer before saying "sent, not confirmed yet".
MATCHER_REPLY_SECONDS = float(os.environ.get("MATCHER_REPLY_SECONDS", "2"))

# --- Internationalisation -------------------------------------------------------------------------

# Korean first: the site speaks Korean unless the person picks English (the switch in the
# header, kept in a cookie) or their browser asks for it (Accept-Language). English is the source
# language of every string; locale/ko holds the translations (README: Languages).
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]  # Korean dates as Korean apps write them
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365  # the switch's choice outlives the browser session
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # `collectstatic` fills it in production; whitenoise expects it
WHITENOISE_USE_FINDERS = not PRODUCTION  # development and tests serve straight from static/
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security -------------------------------------------------------------------------------------

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Health checks and metrics are probed over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    if env_bool("SECURE_PROXY_SSL_HEADER", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Operations -----------------------------------------------------------------------------------

# /metrics answers only these client addresses, or a request with "Authorization: Bearer <token>".
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
PROMETHEUS_EXPORT_MIGRATIONS = False

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "config.logging.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "config.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT if LOG_FORMAT in {"json", "plain"} else "json",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # The request log line comes from config.middleware; Django's own would repeat it.
        "django.server": {"handlers": [], "propagate": False},
        "django.request": {"level": "ERROR"},
        "django_redis": {"level": "WARNING"},
    },
}

SITE_NAME = "okcow"

# `make bench` only: the ceiling views under /_bench/ (bench/ceiling.py). Never in production.
BENCH_VIEWS = env_bool("OKCOW_BENCH", False)
