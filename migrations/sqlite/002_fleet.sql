-- 002_fleet: which gateway holds a grant and wrote an audit row; admin requests to close a grant.
-- Rows written before this migration keep gateway NULL: they belong to this (only) host.
-- sequences.reply_meta is no longer written (nothing ever read it); it stays, NULL, for old rows.

ALTER TABLE grants ADD COLUMN gateway TEXT;
ALTER TABLE grants ADD COLUMN close_requested_at INTEGER;
ALTER TABLE audit ADD COLUMN gateway TEXT;

CREATE INDEX grants_close_requested ON grants(gateway) WHERE close_requested_at IS NOT NULL AND closed_at IS NULL;
