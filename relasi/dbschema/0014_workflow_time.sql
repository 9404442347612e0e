-- The time-based parts of workflows: the workspace's time zone (schedules run in it, a date
-- field's day starts in it) and the clock's mark.
--
-- THE CLOCK (resolvers/workflows/clock.py). A periodic tick looks at the window of time
-- (checked_until, now]: schedules whose cron times fall in it, records whose relative-time or
-- SLA moment falls in it, waiting runs whose time has come. It starts the runs and moves the
-- mark in one transaction, holding the mark's row lock, so two workers never scan one window
-- and a crash leaves the window to be scanned again (the runs' dedupe keys make that
-- harmless). After a stop the first tick scans the whole gap, so nothing due meanwhile is lost.

-- IANA name, checked against both Python's zoneinfo and this server's time zones when set
ALTER TABLE workspaces ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC'
    CHECK (length(time_zone) BETWEEN 1 AND 64);

-- One row per scan the clock makes; system work only (it spans every workspace).
CREATE TABLE workflow_clock (
    name           text PRIMARY KEY,
    checked_until  timestamptz NOT NULL
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'relasi_app') THEN
        REVOKE ALL ON workflow_clock FROM relasi_app;
    END IF;
END $$;
