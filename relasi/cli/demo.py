"""The demo workspace: built by `relasi seed --demo`, and by `relasi serve --demo` once per
data directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from uuid import UUID

DEMO_FILE = "demo-workspace.json"


async def ensure_demo_workspace(conn, data_dir: Path) -> dict[str, str]:
    """The demo workspace of this data directory, created and seeded on first use.

    Its key is kept in the data directory (mode 0600) so later starts can print it again.
    """
    marker = data_dir / DEMO_FILE
    if marker.exists():
        info = json.loads(marker.read_text())
        if await conn.fetchval(
            "SELECT 1 FROM workspaces WHERE id = $1", UUID(info["workspace_id"])
        ):
            return info
    info = await seed_demo_workspace(conn)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(info))
    os.chmod(marker, 0o600)
    return info


async def seed_demo_workspace(conn) -> dict[str, str]:
    from relasi.resolvers.workspaces import create_workspace
    from relasi.seed import seed_demo

    workspace_id, api_key = await create_workspace(conn, "Relasi Demo")
    await seed_demo(conn, workspace_id)
    return {"workspace_id": str(workspace_id), "api_key": api_key}
