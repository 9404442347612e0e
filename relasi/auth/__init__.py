"""Who is calling: API keys now; users, roles and JWT later (see the roles issue)."""
