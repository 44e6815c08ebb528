"""The local engine's schema in PostgreSQL's dialect, as versioned migrations (see bookings/postgres.py).

The versions match schema.py's one for one, so "engine schema 5" means the same tables on both
stores. Columns keep SQLite's encodings (epoch seconds, JSON text) so rows.py maps both; booleans
are BOOLEAN, and `seq` identity columns stand in for SQLite's rowid where order of creation counts.
Beyond SQLite, the database itself refuses two active meetings of one host that overlap (an
exclusion constraint); the buffer-aware check stays in the booking's transaction. A released
migration is never edited: add a new one at the end.
"""

from __future__ import annotations

from wix_meetings_mcp.bookings.postgres import Migration

COMPONENT = "engine"

_V1_INITIAL: Migration = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """CREATE TABLE business (
        id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, time_zone TEXT NOT NULL,
        plan TEXT NOT NULL)""",
    """CREATE TABLE hosts (
        seq BIGINT GENERATED ALWAYS AS IDENTITY, host_id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT)""",
    """CREATE TABLE links (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        link_id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts, name TEXT NOT NULL,
        slug TEXT NOT NULL UNIQUE, active BOOLEAN NOT NULL, redirect_url TEXT,
        durations_minutes TEXT NOT NULL, buffer_minutes INTEGER NOT NULL,
        location_kind TEXT NOT NULL, location_address TEXT,
        price_amount TEXT, price_currency TEXT, price_deposit TEXT, booking_url TEXT,
        requires_approval BOOLEAN NOT NULL, phone_only_allowed BOOLEAN NOT NULL,
        cancellation_window_minutes INTEGER, min_notice_minutes INTEGER, max_advance_minutes INTEGER)""",
    """CREATE TABLE working_hours (
        host_id TEXT NOT NULL REFERENCES hosts, weekday INTEGER NOT NULL,
        start_minute INTEGER NOT NULL, end_minute INTEGER NOT NULL)""",
    "CREATE INDEX working_hours_host ON working_hours (host_id)",
    """CREATE TABLE meetings (
        meeting_id TEXT PRIMARY KEY, link_id TEXT NOT NULL REFERENCES links, link_name TEXT NOT NULL,
        host_id TEXT NOT NULL REFERENCES hosts, host_name TEXT NOT NULL, host_email TEXT,
        status TEXT NOT NULL, start_ts BIGINT NOT NULL, end_ts BIGINT NOT NULL,
        location_kind TEXT NOT NULL, location_address TEXT,
        attendee_name TEXT NOT NULL, attendee_email TEXT, attendee_phone TEXT,
        attendee_time_zone TEXT, attendee_language TEXT, guest_emails TEXT NOT NULL,
        notes TEXT NOT NULL, invite_title TEXT, invite_description TEXT,
        join_url TEXT, payment_url TEXT, cancel_reason TEXT, created_at BIGINT NOT NULL,
        CONSTRAINT meetings_no_overlap EXCLUDE USING gist (
            host_id WITH =, tstzrange(to_timestamp(start_ts), to_timestamp(end_ts)) WITH &&
        ) WHERE (status != 'cancelled'))""",
    "CREATE INDEX meetings_host_start ON meetings (host_id, start_ts)",
    "CREATE INDEX meetings_start ON meetings (start_ts, meeting_id)",
    """CREATE TABLE calendar_connections (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        connection_id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts,
        provider TEXT NOT NULL, status TEXT NOT NULL, ics_url TEXT NOT NULL,
        import_enabled BOOLEAN NOT NULL, export_enabled BOOLEAN NOT NULL,
        imported_at BIGINT NOT NULL, account_email TEXT,
        UNIQUE (host_id, provider, ics_url))""",
    """CREATE TABLE busy (
        connection_id TEXT NOT NULL REFERENCES calendar_connections, host_id TEXT NOT NULL,
        start_ts BIGINT NOT NULL, end_ts BIGINT NOT NULL)""",
    "CREATE INDEX busy_host_start ON busy (host_id, start_ts)",
    "CREATE INDEX busy_connection ON busy (connection_id)",
)

# The count of live meetings the plan limit reads; a booking on a limited plan locks its row
# (SELECT ... FOR UPDATE) before it counts, so concurrent bookings on any replica take turns.
_V2_LIVE_COUNT: Migration = (
    "CREATE TABLE meeting_count (id INTEGER PRIMARY KEY CHECK (id = 1), live INTEGER NOT NULL)",
    "INSERT INTO meeting_count VALUES (1, (SELECT COUNT(*) FROM meetings WHERE status != 'cancelled'))",
    """CREATE FUNCTION meeting_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE meeting_count SET live = live
            + (CASE WHEN TG_OP != 'DELETE' AND NEW.status != 'cancelled' THEN 1 ELSE 0 END)
            - (CASE WHEN TG_OP != 'INSERT' AND OLD.status != 'cancelled' THEN 1 ELSE 0 END);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER meeting_count_insert AFTER INSERT ON meetings FOR EACH ROW
        WHEN (NEW.status != 'cancelled') EXECUTE FUNCTION meeting_count_change()""",
    """CREATE TRIGGER meeting_count_delete AFTER DELETE ON meetings FOR EACH ROW
        WHEN (OLD.status != 'cancelled') EXECUTE FUNCTION meeting_count_change()""",
    """CREATE TRIGGER meeting_count_update AFTER UPDATE OF status ON meetings FOR EACH ROW
        WHEN ((OLD.status = 'cancelled') != (NEW.status = 'cancelled')) EXECUTE FUNCTION meeting_count_change()""",
    "CREATE INDEX meetings_attendee_email ON meetings (lower(attendee_email), start_ts)",
)

_V3_VIDEO_ACCOUNTS: Migration = (
    """CREATE TABLE video_accounts (
        host_id TEXT PRIMARY KEY, url TEXT NOT NULL, password TEXT, description TEXT,
        unique_rooms BOOLEAN NOT NULL)""",
    "ALTER TABLE meetings ADD COLUMN location_password TEXT",
    "ALTER TABLE meetings ADD COLUMN location_description TEXT",
)

_V4_CONNECTION_ERROR: Migration = ("ALTER TABLE calendar_connections ADD COLUMN error_reason TEXT",)

_V5_OUTBOX: Migration = (
    "ALTER TABLE meetings ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0",
    """CREATE TABLE outbox (
        row_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_key TEXT NOT NULL UNIQUE,
        meeting_id TEXT NOT NULL, payload TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
        next_attempt_at DOUBLE PRECISION NOT NULL, claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0,
        claim_token TEXT, attempts INTEGER NOT NULL DEFAULT 0, sent_at DOUBLE PRECISION, last_error TEXT)""",
    "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending'",
)

# As the file's migration 6 (calendar refresh and export feeds), so "engine schema 6" means the same
# tables on both stores (the refresh's SQL is in pg_calendar_sync.py).
_V6_CALENDAR_SYNC: Migration = (
    "ALTER TABLE calendar_connections ADD COLUMN etag TEXT",
    "ALTER TABLE calendar_connections ADD COLUMN last_modified TEXT",
    "ALTER TABLE calendar_connections ADD COLUMN refreshed_at BIGINT",
    "ALTER TABLE calendar_connections ADD COLUMN refresh_until DOUBLE PRECISION NOT NULL DEFAULT 0",
    "ALTER TABLE calendar_connections ADD COLUMN refresh_token TEXT",
    """CREATE TABLE export_feeds (
        host_id TEXT PRIMARY KEY REFERENCES hosts, secret TEXT NOT NULL UNIQUE)""",
)

# As the file's migration 7 (CalDAV accounts).
_V7_CALDAV_ACCOUNTS: Migration = (
    """CREATE TABLE caldav_accounts (
        connection_id TEXT PRIMARY KEY, url TEXT NOT NULL, username TEXT NOT NULL, password TEXT NOT NULL)""",
)

# As the file's migration 8 (the calendar export queue and each connection's export target).
_V8_CALENDAR_EXPORTS: Migration = (
    """CREATE TABLE calendar_exports (
        connection_id TEXT NOT NULL, meeting_id TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
        next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0,
        claim_token TEXT, claimed_version INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, last_error_at DOUBLE PRECISION, done_at DOUBLE PRECISION,
        PRIMARY KEY (connection_id, meeting_id))""",
    "CREATE INDEX calendar_exports_due ON calendar_exports (next_attempt_at) WHERE state = 'pending'",
    "CREATE TABLE calendar_export_targets (connection_id TEXT PRIMARY KEY, target TEXT NOT NULL)",
)

# As the file's migration 9 (OAuth calendars), numbered and placed the same way.
_V9_OAUTH_CALENDARS: Migration = (
    """CREATE TABLE oauth_accounts (
        connection_id TEXT PRIMARY KEY REFERENCES calendar_connections, calendar_id TEXT,
        redirect_url TEXT, state_nonce TEXT, code_verifier TEXT,
        pending_until DOUBLE PRECISION NOT NULL DEFAULT 0, refresh_token TEXT, access_token TEXT,
        access_expires DOUBLE PRECISION NOT NULL DEFAULT 0, sync_cursor TEXT,
        full_sync_at DOUBLE PRECISION NOT NULL DEFAULT 0)""",
    """CREATE TABLE oauth_events (
        connection_id TEXT NOT NULL REFERENCES calendar_connections, event_id TEXT NOT NULL,
        start_ts BIGINT NOT NULL, end_ts BIGINT NOT NULL, PRIMARY KEY (connection_id, event_id))""",
)

MIGRATIONS: tuple[Migration, ...] = (
    _V1_INITIAL,
    _V2_LIVE_COUNT,
    _V3_VIDEO_ACCOUNTS,
    _V4_CONNECTION_ERROR,
    _V5_OUTBOX,
    _V6_CALENDAR_SYNC,
    _V7_CALDAV_ACCOUNTS,
    _V8_CALENDAR_EXPORTS,
    _V9_OAUTH_CALENDARS,
)
