-- Sessions of the network API: a workstation signs in once and carries a short-lived token.
-- Only the token's hash is kept (a copied database gives no live token); a session ends at its
-- expiry, at sign-out or when revoked.
CREATE TABLE api_sessions (
    token_hash TEXT PRIMARY KEY,
    login      TEXT NOT NULL,
    origin     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    expires_at TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_sessions_login ON api_sessions(login);
