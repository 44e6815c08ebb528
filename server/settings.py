"""One settings tree, read once from the environment (and a .env file), passed down.

Nothing else in the project reads os.environ. Secrets are SecretStr so they never print.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from ipaddress import ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wix_meetings_mcp.bookings.postgres import is_postgres_url
from wix_meetings_mcp.server.smtp import smtp_target
from wix_meetings_mcp.tools.confirm import ConfirmMode
from wix_meetings_mcp.tools.registry import DEFAULT_TOOLSETS, TOOLSETS
from wix_meetings_mcp.tools.spec import Toolset

# The providers' OAuth and calendar API addresses (Google: OAuth 2.0 for web server apps and
# Calendar API v3; Microsoft: identity platform v2.0 with the `common` tenant, so work, school and
# personal accounts sign in, and Graph v1.0).
GOOGLE_AUTHORIZATION_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_API_URL = "https://www.googleapis.com/calendar/v3"
MICROSOFT_AUTHORIZATION_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
MICROSOFT_API_URL = "https://graph.microsoft.com/v1.0"

EMAIL = re.compile(r"[^@\s<>,;]{1,64}@[^@\s<>,;]+\.[^@\s<>,;]+")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, frozen=True)

    backend: Literal["local", "wix", "meetergo"] = Field(
        "local", validation_alias=_env("backend", "MEETINGS_BACKEND")
    )
    # A file path (SQLite, the default) or a postgresql:// URL (several replicas on one database).
    db: Path | str | None = Field(None, validation_alias=_env("db", "MEETINGS_DB"))
    plan: Literal["free", "premium"] = Field("free", validation_alias=_env("plan", "MEETINGS_PLAN"))
    time_zone: str | None = Field(None, validation_alias=_env("time_zone", "MEETINGS_TIME_ZONE"))
    business_name: str | None = Field(None, validation_alias=_env("business_name", "MEETINGS_BUSINESS_NAME"))
    toolsets: str = Field(",".join(DEFAULT_TOOLSETS), validation_alias=_env("toolsets", "MEETINGS_TOOLSETS"))
    read_only: bool = Field(False, validation_alias=_env("read_only", "MEETINGS_READ_ONLY"))
    confirm: ConfirmMode = Field("auto", validation_alias=_env("confirm", "MEETINGS_CONFIRM"))
    http_token: SecretStr | None = Field(None, validation_alias=_env("http_token", "MEETINGS_HTTP_TOKEN"))
    # A brake on a runaway agent loop, not a quota: one token usually serves a whole chatbot or voice
    # front end, and one MCP tool call is one to three HTTP requests.
    http_rate_limit: int = Field(
        600, ge=0, validation_alias=_env("http_rate_limit", "MEETINGS_HTTP_RATE_LIMIT")
    )
    # Comma-separated host names (as written in URLs), addresses or CIDR ranges that caller-named
    # URLs (iCal feeds, CalDAV) may reach although they are not public; ports are ignored.
    allowed_private_hosts: str = Field(
        "", validation_alias=_env("allowed_private_hosts", "MEETINGS_ALLOWED_PRIVATE_HOSTS")
    )
    # How often imported calendars (secret iCal addresses) are refreshed, in the background.
    calendar_refresh_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        validation_alias=_env("calendar_refresh_minutes", "MEETINGS_CALENDAR_REFRESH_MINUTES"),
    )
    # Peers whose X-Forwarded-For is believed (addresses or CIDR ranges); everyone else is known by
    # the address they connect from.
    trusted_proxies: str = Field("", validation_alias=_env("trusted_proxies", "MEETINGS_TRUSTED_PROXIES"))

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        try:
            return ",".join(str(ip_network(n.strip(), strict=False)) for n in value.split(",") if n.strip())
        except ValueError as exc:
            raise ValueError(f"MEETINGS_TRUSTED_PROXIES takes IP addresses or CIDR ranges: {exc}") from exc

    # Where people reach the scheduling pages (the address a proxy serves them at); booking links are
    # made under it. Unset: the address HTTP is served on, when that is one a browser can use.
    public_url: str | None = Field(None, validation_alias=_env("public_url", "MEETINGS_PUBLIC_URL"))

    @field_validator("public_url")
    @classmethod
    def _public_base(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        base = value.strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("MEETINGS_PUBLIC_URL takes an http(s) address such as https://meet.example.com")
        return base

    transport: Literal["stdio", "http"] = Field(
        "stdio", validation_alias=_env("transport", "MEETINGS_TRANSPORT")
    )
    http_host: str = Field("127.0.0.1", validation_alias=_env("http_host", "MEETINGS_HTTP_HOST"))
    http_port: int = Field(8000, ge=1, le=65535, validation_alias=_env("http_port", "MEETINGS_HTTP_PORT"))
    log_format: Literal["text", "json"] = Field(
        "text", validation_alias=_env("log_format", "MEETINGS_LOG_FORMAT")
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias=_env("log_level", "MEETINGS_LOG_LEVEL")
    )
    audit_retention_days: int = Field(
        90, ge=1, validation_alias=_env("audit_retention_days", "MEETINGS_AUDIT_RETENTION_DAYS")
    )

    # Invitations (local backend). The URL is a secret as a whole: it may carry the password.
    smtp_url: SecretStr | None = Field(None, validation_alias=_env("smtp_url", "MEETINGS_SMTP_URL"))
    mail_from: str | None = Field(None, validation_alias=_env("mail_from", "MEETINGS_MAIL_FROM"))
    host_name: str | None = Field(
        None, min_length=1, max_length=200, validation_alias=_env("host_name", "MEETINGS_HOST_NAME")
    )
    host_email: str | None = Field(None, validation_alias=_env("host_email", "MEETINGS_HOST_EMAIL"))

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            smtp_target(value.get_secret_value())  # a ValueError that names no secret
            return value
        return None

    @field_validator("mail_from", "host_email")
    @classmethod
    def _address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not EMAIL.fullmatch(value):
            raise ValueError(f"MEETINGS_{str(info.field_name).upper()} must be one email address")
        return value or None

    @model_validator(mode="after")
    def _mail_sender(self) -> Settings:
        if self.smtp_url is not None and self.mail_sender is None:
            raise ValueError("MEETINGS_SMTP_URL needs MEETINGS_MAIL_FROM (the address invitations come from)")
        return self

    @property
    def mail_sender(self) -> str | None:
        """MEETINGS_MAIL_FROM, else the mail server's user name when it is an email address."""
        if self.mail_from:
            return self.mail_from
        if self.smtp_url is None:
            return None
        user = smtp_target(self.smtp_url.get_secret_value()).username
        return user if user and EMAIL.fullmatch(user) else None

    # Google and Microsoft calendars by OAuth (local backend): the OAuth clients the operator
    # registered, and the providers' addresses (the real ones; tests point them at fakes).
    google_client_id: str | None = Field(
        None, validation_alias=_env("google_client_id", "MEETINGS_GOOGLE_CLIENT_ID")
    )
    google_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("google_client_secret", "MEETINGS_GOOGLE_CLIENT_SECRET")
    )
    google_authorization_url: str = Field(
        GOOGLE_AUTHORIZATION_URL,
        validation_alias=_env("google_authorization_url", "MEETINGS_GOOGLE_AUTHORIZATION_URL"),
    )
    google_token_url: str = Field(
        GOOGLE_TOKEN_URL, validation_alias=_env("google_token_url", "MEETINGS_GOOGLE_TOKEN_URL")
    )
    google_api_url: str = Field(
        GOOGLE_API_URL, validation_alias=_env("google_api_url", "MEETINGS_GOOGLE_API_URL")
    )
    microsoft_client_id: str | None = Field(
        None, validation_alias=_env("microsoft_client_id", "MEETINGS_MICROSOFT_CLIENT_ID")
    )
    microsoft_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("microsoft_client_secret", "MEETINGS_MICROSOFT_CLIENT_SECRET")
    )
    microsoft_authorization_url: str = Field(
        MICROSOFT_AUTHORIZATION_URL,
        validation_alias=_env("microsoft_authorization_url", "MEETINGS_MICROSOFT_AUTHORIZATION_URL"),
    )
    microsoft_token_url: str = Field(
        MICROSOFT_TOKEN_URL, validation_alias=_env("microsoft_token_url", "MEETINGS_MICROSOFT_TOKEN_URL")
    )
    microsoft_api_url: str = Field(
        MICROSOFT_API_URL, validation_alias=_env("microsoft_api_url", "MEETINGS_MICROSOFT_API_URL")
    )

    @field_validator(
        "google_authorization_url",
        "google_token_url",
        "google_api_url",
        "microsoft_authorization_url",
        "microsoft_token_url",
        "microsoft_api_url",
    )
    @classmethod
    def _provider_url(cls, value: str, info: ValidationInfo) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
            raise ValueError(f"MEETINGS_{str(info.field_name).upper()} takes an http(s) address")
        return value.strip().rstrip("/")

    @field_validator(
        "google_client_id", "microsoft_client_id", "google_client_secret", "microsoft_client_secret"
    )
    @classmethod
    def _blank_is_unset(cls, value: str | SecretStr | None) -> str | SecretStr | None:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return value if text and text.strip() else None

    @model_validator(mode="after")
    def _oauth_pairs(self) -> Settings:
        for key in ("google", "microsoft"):
            if (getattr(self, f"{key}_client_id") is None) != (getattr(self, f"{key}_client_secret") is None):
                name = f"MEETINGS_{key.upper()}_CLIENT"
                raise ValueError(f"{name}_ID and {name}_SECRET go together: set both or neither")
        return self

    wix_api_key: SecretStr | None = None
    wix_site_id: str | None = None
    wix_api_base_url: str = "https://www.wixapis.com"
    meetergo_api_key: SecretStr | None = None
    meetergo_user_id: str | None = None
    meetergo_api_base_url: str = "https://api.meetergo.com"

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("toolsets")
    @classmethod
    def _known_toolsets(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = sorted(set(names) - {*TOOLSETS, "all"})
        if unknown:
            raise ValueError(f"unknown toolsets {unknown}; choose from {', '.join(TOOLSETS)} or all")
        return ",".join(names)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("db")
    @classmethod
    def _db_path_or_url(cls, value: Path | str | None) -> Path | str | None:
        return Path(value) if isinstance(value, str) and not is_postgres_url(value) else value

    @model_validator(mode="after")
    def _backend_credentials(self) -> Settings:
        needs = {"wix": ("wix_api_key", "wix_site_id"), "meetergo": ("meetergo_api_key",)}.get(
            self.backend, ()
        )
        missing = [name.upper() for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"MEETINGS_BACKEND={self.backend} needs {', '.join(missing)}")
        return self

    @property
    def toolset_names(self) -> tuple[Toolset, ...]:
        names = self.toolsets.split(",")
        return TOOLSETS if "all" in names else tuple(t for t in TOOLSETS if t in names)

    @property
    def business_zone(self) -> str:
        return self.time_zone or machine_zone()

    @property
    def db_url(self) -> str | None:
        """MEETINGS_DB when it is a PostgreSQL URL, else None."""
        return self.db if isinstance(self.db, str) else None

    @property
    def db_path(self) -> Path:
        """The SQLite file; refused when MEETINGS_DB is a URL, so nothing silently falls back to a file."""
        if isinstance(self.db, str):
            raise ValueError(POSTGRES_NOT_YET)
        return self.db or Path(platformdirs.user_data_dir("meetings-mcp")) / "meetings.db"


# Said by whatever asks for the SQLite file while MEETINGS_DB is a PostgreSQL URL (a bug if reached).
POSTGRES_NOT_YET = "this needs a SQLite file, and MEETINGS_DB is a PostgreSQL URL"


def machine_zone() -> str:
    """The machine's IANA zone if it can be named, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        try:
            if name:
                ZoneInfo(name)
                return name
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return "UTC"


MIN_HTTP_TOKEN = 32  # characters: a bearer token shorter than this can be guessed online


def unknown_meetings_variables(environ: Mapping[str, str | None]) -> list[str]:
    """MEETINGS_* variables this version does not know: almost always a typo worth stopping for."""
    known = {f"MEETINGS_{name.upper()}" for name in Settings.model_fields}
    return sorted(k for k in environ if k.upper().startswith("MEETINGS_") and k.upper() not in known)


def dotenv_file(path: Path = Path(".env")) -> dict[str, str | None]:
    """What the .env file in the working directory sets (the file Settings reads), or nothing."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # pydantic-settings' own .env reader

    return dict(dotenv_values(path))
