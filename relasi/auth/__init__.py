"""Who is calling: API keys with scopes, and staff members signed in with JWTs (their role's
scopes). `authenticate.authenticate` turns a bearer token into a Principal."""
