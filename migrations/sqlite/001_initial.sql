-- 001_initial: the tumblerd state store (users, devices, one-time sequences, grants, audit).
-- Forward-only. Applied by server/store/migrate.ts inside one transaction, which then sets
-- PRAGMA user_version = 1. Times: *_at columns are Unix milliseconds; last_ts is the knock's
-- own timestamp in seconds. Secrets: devices.key is the scrypt-derived device key (never a
-- password); no other column holds key material.

CREATE TABLE schema_history (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,
  enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  services   TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(services) AND json_type(services) = 'array'),
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name       TEXT    NOT NULL,
  key        BLOB    NOT NULL CHECK (length(key) = 16),
  kdf        TEXT    NOT NULL CHECK (json_valid(kdf)),
  enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  UNIQUE (user_id, name)
) STRICT;

-- One row per issued sequence. A device has at most one 'live' sequence in normal operation;
-- its predecessor stays 'consumed' (with the sealed reply, for retransmits and lost-reply
-- recovery) until the live one is used, then both move on: the consumed one is 'retired'.
-- parent_id is the sequence whose accepted knock issued this one (NULL for enrollment).
CREATE TABLE sequences (
  id           INTEGER PRIMARY KEY,
  device_id    INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  seq_key      BLOB    NOT NULL CHECK (length(seq_key) = 9),
  parent_id    INTEGER,
  state        TEXT    NOT NULL CHECK (state IN ('live', 'consumed', 'retired')),
  issued_at    INTEGER NOT NULL,
  consumed_at  INTEGER,
  retired_at   INTEGER,
  last_ts      INTEGER,
  last_isns    BLOB    CHECK (last_isns IS NULL OR length(last_isns) = 12),
  last_address TEXT,
  reply        BLOB,
  reply_meta   TEXT    CHECK (reply_meta IS NULL OR json_valid(reply_meta))
) STRICT;

-- The knock lookup: one index probe by the 9-byte key. Unique among sequences still in play,
-- so a knock maps to at most one device; retired keys may be issued again.
CREATE UNIQUE INDEX sequences_key_active ON sequences(seq_key) WHERE state IN ('live', 'consumed');
-- Successor check (parent_id = ? AND state = 'live') and per-device retirement / cascades.
CREATE INDEX sequences_parent ON sequences(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX sequences_device ON sequences(device_id, state);

-- Firewall grants. device_id is NULL for an admin (break-glass) grant, or once the device is
-- deleted; user_name / device_name keep the history readable after that.
CREATE TABLE grants (
  id           INTEGER PRIMARY KEY,
  device_id    INTEGER REFERENCES devices(id) ON DELETE SET NULL,
  user_name    TEXT,
  device_name  TEXT,
  family       INTEGER NOT NULL CHECK (family IN (4, 6)),
  address      TEXT    NOT NULL,
  port         INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  service      TEXT    NOT NULL,
  opened_at    INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  closed_at    INTEGER,
  close_reason TEXT
) STRICT;

CREATE INDEX grants_open ON grants(expires_at) WHERE closed_at IS NULL;
CREATE INDEX grants_device ON grants(device_id) WHERE device_id IS NOT NULL;
CREATE INDEX grants_user ON grants(user_name, opened_at);

-- Who opened what, from where, when, with what result. Never secrets.
CREATE TABLE audit (
  id      INTEGER PRIMARY KEY,
  at      INTEGER NOT NULL,
  event   TEXT    NOT NULL,
  user    TEXT,
  device  TEXT,
  address TEXT,
  service TEXT,
  port    INTEGER,
  result  TEXT    NOT NULL,
  reason  TEXT
) STRICT;

CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_user ON audit(user, at);
