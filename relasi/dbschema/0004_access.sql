-- Who may call: staff members with roles (signing in with JWTs), and API keys with scopes.

-- A member is a user's membership of one workspace: its role decides what the user may do
-- there. `subject` is the user's id at the identity provider (the JWT claim the workspace maps
-- to users), learned on first sign-in when the member was invited by email.
ALTER TABLE members
    ADD COLUMN role text NOT NULL DEFAULT 'VIEWER'
        CHECK (role IN ('ADMIN', 'SALES', 'SUPPORT', 'MARKETING', 'VIEWER')),
    ADD COLUMN status text NOT NULL DEFAULT 'ACTIVE'
        CHECK (status IN ('INVITED', 'ACTIVE', 'REMOVED')),
    ADD COLUMN subject text,
    ADD COLUMN invited_at timestamptz,
    ADD COLUMN joined_at timestamptz,
    ADD COLUMN removed_at timestamptz;
CREATE UNIQUE INDEX members_subject ON members (workspace_id, subject) WHERE subject IS NOT NULL;

-- API keys carry scopes instead of a role; the existing (admin) keys keep full access.
ALTER TABLE api_keys
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{admin}',
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN created_by_api_key_id uuid,
    ADD COLUMN created_by_member_id uuid;
ALTER TABLE api_keys DROP COLUMN role;

-- The secret a workspace's own backend signs HS256 staff tokens with (null: HS256 is off).
ALTER TABLE workspaces ADD COLUMN jwt_secret text;
