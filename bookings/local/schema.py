"""The local engine's schema as versioned, forward-only migrations (see bookings/sqlite.py).

Version 1 is the schema the engine had before migrations existed; its `IF NOT EXISTS` adopts a file
an earlier version created. A released migration is never edited: add a new one at the end.
"""

from __future__ import annotations

from wix_meetings_mcp.bookings.sqlite import Migration

COMPONENT = "engine"

_V1_INITIAL: Migration = (
    """CREATE TABLE IF NOT EXISTS business (
        id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, time_zone TEXT NOT NULL,
        plan TEXT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS hosts (host_id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT)",
    """CREATE TABLE IF NOT EXISTS links (
        link_id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts, name TEXT NOT NULL,
        slug TEXT NOT NULL UNIQUE, active INTEGER NOT NULL, redirect_url TEXT,
        durations_minutes TEXT NOT NULL, buffer_minutes INTEGER NOT NULL,
        location_kind TEXT NOT NULL, location_address TEXT,
        price_amount TEXT, price_currency TEXT, price_deposit TEXT, booking_url TEXT,
        requires_approval INTEGER NOT NULL, phone_only_allowed INTEGER NOT NULL,
        cancellation_window_minutes INTEGER, min_notice_minutes INTEGER, max_advance_minutes INTEGER)""",
    """CREATE TABLE IF NOT EXISTS working_hours (
        host_id TEXT NOT NULL REFERENCES hosts, weekday INTEGER NOT NULL,
        start_minute INTEGER NOT NULL, end_minute INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS working_hours_host ON working_hours (host_id)",
    """CREATE TABLE IF NOT EXISTS meetings (
        meeting_id TEXT PRIMARY KEY, link_id TEXT NOT NULL REFERENCES links, link_name TEXT NOT NULL,
        host_id TEXT NOT NULL REFERENCES hosts, host_name TEXT NOT NULL, host_email TEXT,
        status TEXT NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL,
        location_kind TEXT NOT NULL, location_address TEXT,
        attendee_name TEXT NOT NULL, attendee_email TEXT, attendee_phone TEXT,
        attendee_time_zone TEXT, attendee_language TEXT, guest_emails TEXT NOT NULL,
        notes TEXT NOT NULL, invite_title TEXT, invite_description TEXT,
        join_url TEXT, payment_url TEXT, cancel_reason TEXT, created_at INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS meetings_host_start ON meetings (host_id, start_ts)",
    "CREATE INDEX IF NOT EXISTS meetings_start ON meetings (start_ts, meeting_id)",
    """CREATE TABLE IF NOT EXISTS calendar_connections (
        connection_id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts,
        provider TEXT NOT NULL, status TEXT NOT NULL, ics_url TEXT NOT NULL,
        import_enabled INTEGER NOT NULL, export_enabled INTEGER NOT NULL,
        imported_at INTEGER NOT NULL, account_email TEXT,
        UNIQUE (host_id, provider, ics_url))""",
    """CREATE TABLE IF NOT EXISTS busy (
        connection_id TEXT NOT NULL REFERENCES calendar_connections, host_id TEXT NOT NULL,
        start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS busy_host_start ON busy (host_id, start_ts)",
    "CREATE INDEX IF NOT EXISTS busy_connection ON busy (connection_id)",
)

# Flat with history: a maintained count of live meetings for the plan limit (no scan of every
# meeting ever booked), and an index for the attendee filter of list_meetings.
_V2_LIVE_COUNT: Migration = (
    "CREATE TABLE meeting_count (id INTEGER PRIMARY KEY CHECK (id = 1), live INTEGER NOT NULL)",
    "INSERT INTO meeting_count VALUES (1, (SELECT COUNT(*) FROM meetings WHERE status != 'cancelled'))",
    """CREATE TRIGGER meeting_count_insert AFTER INSERT ON meetings WHEN NEW.status != 'cancelled'
        BEGIN UPDATE meeting_count SET live = live + 1; END""",
    """CREATE TRIGGER meeting_count_delete AFTER DELETE ON meetings WHEN OLD.status != 'cancelled'
        BEGIN UPDATE meeting_count SET live = live - 1; END""",
    """CREATE TRIGGER meeting_count_update AFTER UPDATE OF status ON meetings
        WHEN (OLD.status = 'cancelled') != (NEW.status = 'cancelled')
        BEGIN UPDATE meeting_count SET live = live + (CASE WHEN NEW.status = 'cancelled' THEN -1 ELSE 1 END); END""",
    "CREATE INDEX meetings_attendee_email ON meetings (lower(attendee_email), start_ts)",
)

# Video-conferencing accounts: '' is the business default, else a host's own.
_V3_VIDEO_ACCOUNTS: Migration = (
    """CREATE TABLE video_accounts (
        host_id TEXT PRIMARY KEY, url TEXT NOT NULL, password TEXT, description TEXT,
        unique_rooms INTEGER NOT NULL)""",
    "ALTER TABLE meetings ADD COLUMN location_password TEXT",
    "ALTER TABLE meetings ADD COLUMN location_description TEXT",
)

# A calendar whose refresh failed keeps its last good busy times and says why, with one reason from
# a fixed list (outbound.Reason), never the underlying error.
_V4_CONNECTION_ERROR: Migration = ("ALTER TABLE calendar_connections ADD COLUMN error_reason TEXT",)

# Invitations: the iCalendar SEQUENCE of each meeting (raised by every change) and a transactional
# outbox, written in the meeting's own transaction and drained by a sender (see local/outbox.py).
# Times are epoch seconds as REAL: a claim's lease and a retry's backoff need sub-second order.
_V5_OUTBOX: Migration = (
    "ALTER TABLE meetings ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0",
    """CREATE TABLE outbox (
        row_id INTEGER PRIMARY KEY AUTOINCREMENT, message_key TEXT NOT NULL UNIQUE,
        meeting_id TEXT NOT NULL, payload TEXT NOT NULL, created_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
        next_attempt_at REAL NOT NULL, claimed_until REAL NOT NULL DEFAULT 0, claim_token TEXT,
        attempts INTEGER NOT NULL DEFAULT 0, sent_at REAL, last_error TEXT)""",
    "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending'",
)

# Calendar refresh and export: the feed's validators (ETag / Last-Modified) for conditional
# requests, when a refresh was last tried, a lease so that one process refreshes a connection at a
# time; and each host's secret for the feed of their meetings (rotating it replaces the row).
_V6_CALENDAR_SYNC: Migration = (
    "ALTER TABLE calendar_connections ADD COLUMN etag TEXT",
    "ALTER TABLE calendar_connections ADD COLUMN last_modified TEXT",
    "ALTER TABLE calendar_connections ADD COLUMN refreshed_at INTEGER",
    "ALTER TABLE calendar_connections ADD COLUMN refresh_until REAL NOT NULL DEFAULT 0",
    "ALTER TABLE calendar_connections ADD COLUMN refresh_token TEXT",
    """CREATE TABLE export_feeds (
        host_id TEXT PRIMARY KEY REFERENCES hosts, secret TEXT NOT NULL UNIQUE)""",
)

# CalDAV accounts (Apple, any CalDAV server): the credentials a refresh signs in with, per
# connection. Never read back into a result; the connection row keeps the calendar home's URL.
_V7_CALDAV_ACCOUNTS: Migration = (
    """CREATE TABLE caldav_accounts (
        connection_id TEXT PRIMARY KEY, url TEXT NOT NULL, username TEXT NOT NULL, password TEXT NOT NULL)""",
)

# Export of meetings into hosts' own calendars (see local/exports.py): one queue row per connection
# and meeting, written in the meeting's own transaction; `version` rises with every change queued,
# so a job finishing an older version leaves the row pending. No foreign keys: a reconnect replaces
# the connection row under the same id. Where each connection's events go (a CalDAV calendar URL,
# found or made on the first export) is kept per connection.
_V8_CALENDAR_EXPORTS: Migration = (
    """CREATE TABLE calendar_exports (
        connection_id TEXT NOT NULL, meeting_id TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
        next_attempt_at REAL NOT NULL DEFAULT 0, claimed_until REAL NOT NULL DEFAULT 0,
        claim_token TEXT, claimed_version INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, last_error_at REAL, done_at REAL,
        PRIMARY KEY (connection_id, meeting_id))""",
    "CREATE INDEX calendar_exports_due ON calendar_exports (next_attempt_at) WHERE state = 'pending'",
    "CREATE TABLE calendar_export_targets (connection_id TEXT PRIMARY KEY, target TEXT NOT NULL)",
)

# Google and Microsoft calendars by OAuth: per connection, the pending authorization (one-time
# state nonce, PKCE verifier, its expiry) until the callback, then the tokens (never read back into
# a result) and the sync cursor (Google's sync token, Graph's delta link); and the provider's busy
# events by id, which incremental rounds change one by one and the connection's busy rows mirror.
_V9_OAUTH_CALENDARS: Migration = (
    """CREATE TABLE oauth_accounts (
        connection_id TEXT PRIMARY KEY REFERENCES calendar_connections, calendar_id TEXT,
        redirect_url TEXT, state_nonce TEXT, code_verifier TEXT, pending_until REAL NOT NULL DEFAULT 0,
        refresh_token TEXT, access_token TEXT, access_expires REAL NOT NULL DEFAULT 0,
        sync_cursor TEXT, full_sync_at REAL NOT NULL DEFAULT 0)""",
    """CREATE TABLE oauth_events (
        connection_id TEXT NOT NULL REFERENCES calendar_connections, event_id TEXT NOT NULL,
        start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL, PRIMARY KEY (connection_id, event_id))""",
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
