"""The OAuth connection rules (oauth_store.py) on PostgreSQL: their SQL, on PgStore's transactions.

Writes run at READ COMMITTED, so the locks do what SQLite's write lock does there:
- a callback locks the pending account's row before it reads the nonce, so of two callbacks with
  the same state the second waits, then finds the nonce spent and takes nothing;
- a sync round's outcome first locks the host's row (as a booking and an iCal refresh do, so the
  host's busy-time cap and a booking's conflict check see whole imports) and the connection's
  row, and writes only while its refresh claim is still the one it holds.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from wix_meetings_mcp.bookings.local import exports
from wix_meetings_mcp.bookings.local.oauth_store import OAuthSql, OAuthStore
from wix_meetings_mcp.bookings.local.pg_calendar_sync import PgDatabase

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.pg_store import PgStore

POSTGRES = OAuthSql(
    expired_pending="SELECT c.connection_id FROM calendar_connections c JOIN oauth_accounts a"
    " ON a.connection_id = c.connection_id WHERE c.host_id = %(host)s AND c.provider = %(provider)s"
    " AND c.status = 'pending' AND a.pending_until < %(now)s FOR UPDATE OF c SKIP LOCKED",
    drop_account="DELETE FROM oauth_accounts WHERE connection_id = %(connection)s",
    drop_connection="DELETE FROM calendar_connections WHERE connection_id = %(connection)s",
    add_connection="INSERT INTO calendar_connections (connection_id, host_id, provider, status, ics_url,"
    " import_enabled, export_enabled, imported_at, refreshed_at) VALUES"
    " (%(connection)s, %(host)s, %(provider)s, 'pending', %(ics_url)s, TRUE, FALSE, %(now)s, %(now)s)",
    add_account="INSERT INTO oauth_accounts (connection_id, calendar_id, redirect_url, state_nonce,"
    " code_verifier, pending_until) VALUES"
    " (%(connection)s, %(calendar_id)s, %(redirect_url)s, %(nonce)s, %(verifier)s, %(until)s)",
    pending="SELECT c.host_id, c.provider, a.code_verifier, a.redirect_url FROM calendar_connections c"
    " JOIN oauth_accounts a ON a.connection_id = c.connection_id WHERE c.connection_id = %(connection)s"
    " AND c.provider = %(provider)s AND c.status = 'pending' AND a.state_nonce = %(nonce)s"
    " AND a.pending_until >= %(now)s FOR UPDATE OF a",
    spend="UPDATE oauth_accounts SET state_nonce = NULL, code_verifier = NULL"
    " WHERE connection_id = %(connection)s",
    grant="UPDATE oauth_accounts SET refresh_token = %(refresh)s, access_token = %(access)s,"
    " access_expires = %(expires)s WHERE connection_id = %(connection)s",
    authorized="UPDATE calendar_connections SET status = 'connected', error_reason = NULL, export_enabled = TRUE,"
    " imported_at = %(now)s, refreshed_at = %(now)s"
    " WHERE connection_id = %(connection)s AND status != 'disconnected'",
    account="SELECT a.*, c.host_id, c.provider FROM oauth_accounts a JOIN calendar_connections c"
    " ON c.connection_id = a.connection_id WHERE a.connection_id = %(connection)s",
    save_tokens="UPDATE oauth_accounts SET access_token = %(access)s, access_expires = %(expires)s,"
    " refresh_token = COALESCE(%(refresh)s, refresh_token) WHERE connection_id = %(connection)s",
    # The host's row and the connection's, hosts named first as PgStore locks them first; a deadlock
    # that happens anyway (a disconnect racing the round) is retried by PgStore._write.
    holder="SELECT h.host_id FROM hosts h JOIN calendar_connections c ON c.host_id = h.host_id"
    " WHERE c.connection_id = %(connection)s AND c.status != 'disconnected'"
    " AND (%(claim)s::text IS NULL OR c.refresh_token = %(claim)s) FOR NO KEY UPDATE",
    drop_events="DELETE FROM oauth_events WHERE connection_id = %(connection)s",
    drop_event="DELETE FROM oauth_events WHERE connection_id = %(connection)s AND event_id = %(event)s",
    put_event="INSERT INTO oauth_events VALUES (%(connection)s, %(event)s, %(start)s, %(end)s)"
    " ON CONFLICT (connection_id, event_id) DO UPDATE SET start_ts = EXCLUDED.start_ts, end_ts = EXCLUDED.end_ts",
    count_events="SELECT COUNT(*) AS n FROM oauth_events WHERE connection_id = %(connection)s",
    busy_elsewhere="SELECT COUNT(*) AS n FROM busy WHERE host_id = %(host)s AND connection_id != %(connection)s",
    drop_busy="DELETE FROM busy WHERE connection_id = %(connection)s",
    add_busy="INSERT INTO busy SELECT connection_id, %(host)s::text, start_ts, end_ts FROM oauth_events"
    " WHERE connection_id = %(connection)s AND start_ts < %(until)s AND end_ts > %(since)s",
    synced="UPDATE oauth_accounts SET sync_cursor = %(cursor)s,"
    " full_sync_at = COALESCE(%(full_at)s::double precision, full_sync_at) WHERE connection_id = %(connection)s",
    requeue_refused=re.sub(r":(\w+)", r"%(\1)s", exports.REQUEUE_REFUSED),
    imported="UPDATE calendar_connections SET status = 'connected', error_reason = NULL, imported_at = %(now)s,"
    " refreshed_at = %(now)s, refresh_until = 0, refresh_token = NULL WHERE connection_id = %(connection)s",
    forget_cursor="UPDATE oauth_accounts SET sync_cursor = NULL WHERE connection_id = %(connection)s",
    failed="UPDATE calendar_connections SET status = 'error', error_reason = %(reason)s, refreshed_at = %(now)s,"
    " refresh_until = 0, refresh_token = NULL WHERE connection_id = %(connection)s",
    connection="SELECT c.*, (SELECT COUNT(*) FROM busy b WHERE b.connection_id = c.connection_id)"
    " AS busy_count FROM calendar_connections c WHERE c.connection_id = %(connection)s",
)


def pg_oauth(store: PgStore) -> OAuthStore:
    """OAuth connections on a PostgreSQL database."""
    return OAuthStore(PgDatabase(store), POSTGRES)
