"""`relasi member`, `relasi key` and `relasi workspace jwt-secret`, run as an operator runs them."""

import json
from datetime import UTC, datetime, timedelta

import jwt

from tests.auth.conftest import ME, claims


def _workspace(relasi) -> dict:
    return json.loads(relasi("workspace", "create", "Access Co", "--json").stdout)


async def test_members_from_the_command_line(relasi, caller):
    ws = _workspace(relasi)["workspace_id"]
    invited = json.loads(
        relasi(
            "member",
            "invite",
            ws,
            "Boss@Relasi.co.id",
            "--name",
            "Boss",
            "--role",
            "admin",
            "--json",
        ).stdout
    )
    assert (invited["email"], invited["role"], invited["status"]) == (
        "boss@relasi.co.id",
        "ADMIN",
        "INVITED",
    )
    relasi("member", "invite", ws, "rina@relasi.co.id", "--role", "SALES")
    duplicate = relasi("member", "invite", ws, "rina@relasi.co.id", check=False)
    assert duplicate.returncode == 1 and "already a member" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr

    secret = json.loads(relasi("workspace", "jwt-secret", ws, "--json").stdout)["jwt_secret"]
    boss = jwt.encode(claims(ws, "boss@relasi.co.id"), secret, algorithm="HS256")
    assert (await caller.data(boss, ME))["me"]["member"]["status"] == "ACTIVE"

    listed = json.loads(relasi("member", "list", ws, "--json").stdout)
    assert [(m["email"], m["role"], m["status"]) for m in listed] == [
        ("boss@relasi.co.id", "ADMIN", "ACTIVE"),
        ("rina@relasi.co.id", "SALES", "INVITED"),
    ]
    assert "rina@relasi.co.id  rina  SALES  INVITED" in relasi("member", "list", ws).stdout

    # the last active admin can be neither demoted nor removed
    for args in (("role", ws, "boss@relasi.co.id", "viewer"), ("remove", ws, "boss@relasi.co.id")):
        refused = relasi("member", *args, check=False)
        assert refused.returncode == 1 and "last active admin" in refused.stderr
    assert relasi("member", "role", ws, "rina@relasi.co.id", "admin").stdout.strip() == (
        "rina@relasi.co.id: ADMIN"
    )
    rina = jwt.encode(claims(ws, "rina@relasi.co.id"), secret, algorithm="HS256")
    assert (await caller.data(rina, ME))["me"]["scopes"] == ["admin"]  # now an active admin
    relasi("member", "role", ws, "BOSS@relasi.co.id", "VIEWER")
    assert relasi("member", "remove", ws, "boss@relasi.co.id").stdout.strip() == (
        "removed boss@relasi.co.id"
    )
    await caller.refused(boss)
    gone = relasi("member", "remove", ws, "boss@relasi.co.id", check=False)
    assert gone.returncode == 1 and "no member" in gone.stderr
    bad_role = relasi("member", "role", ws, "rina@relasi.co.id", "OWNER", check=False)
    assert bad_role.returncode == 2 and "Traceback" not in bad_role.stderr


async def test_keys_from_the_command_line(relasi, caller):
    ws = _workspace(relasi)["workspace_id"]
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = json.loads(
        relasi(
            "key", "create", ws, "--name", "crm-sync", "--scope", "contacts:read",
            "--scope", "timeline:read", "--expires", expires, "--json",
        ).stdout
    )  # fmt: skip
    assert made["scopes"] == ["contacts:read", "timeline:read"]
    assert (await caller.data(made["api_key"], ME))["me"]["scopes"] == made["scopes"]

    listed = json.loads(relasi("key", "list", ws, "--json").stdout)
    sync = next(k for k in listed if k["name"] == "crm-sync")
    assert sync["scopes"] == ["contacts:read", "timeline:read"]
    assert sync["last_used_at"] is not None and sync["expires_at"].startswith(expires[:16])
    assert made["api_key"].split("_")[2] not in json.dumps(listed)
    text = relasi("key", "list", ws).stdout
    assert f"{sync['prefix']}  crm-sync  contacts:read,timeline:read  last_used=" in text

    for args, message in (
        (("--scope", "contacts:nuke"), "scopes.0: Unknown scope 'contacts:nuke'"),
        (("--expires", "2001-01-01T00:00:00+00:00"), "expiresAt: Must be in the future"),
        (("--expires", "soon"), "not an ISO 8601 time"),
    ):
        refused = relasi("key", "create", ws, *args, check=False)
        assert refused.returncode != 0 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr

    prefix = made["api_key"].split("_")[1]
    rotated = json.loads(relasi("key", "rotate", prefix, "--json").stdout)
    await caller.refused(made["api_key"])
    assert (await caller.data(rotated["api_key"], ME))["me"]["apiKey"]["name"] == "crm-sync"
    again = relasi("key", "rotate", prefix, check=False)
    assert again.returncode == 1 and "revoked" in again.stderr
    missing = relasi("key", "rotate", "000000000000", check=False)
    assert missing.returncode == 1 and "no key" in missing.stderr


async def test_jwt_secret_is_shown_once_and_rotated_on_request(relasi, caller):
    ws = _workspace(relasi)["workspace_id"]
    relasi("member", "invite", ws, "rina@relasi.co.id")
    first = relasi("workspace", "jwt-secret", ws).stdout.split("jwt_secret: ")[1].strip()
    token = jwt.encode(claims(ws, "rina@relasi.co.id"), first, algorithm="HS256")
    await caller.data(token, ME)
    shown = relasi("workspace", "jwt-secret", ws, check=False)
    assert shown.returncode == 1 and "--rotate" in shown.stderr and first not in shown.stderr
    second = json.loads(relasi("workspace", "jwt-secret", ws, "--rotate", "--json").stdout)
    await caller.refused(token)
    await caller.data(
        jwt.encode(claims(ws, "rina@relasi.co.id"), second["jwt_secret"], algorithm="HS256"), ME
    )
    unknown = relasi("workspace", "jwt-secret", "00000000-0000-0000-0000-000000000000", check=False)
    assert unknown.returncode != 0 and "no workspace" in unknown.stderr
