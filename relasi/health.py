"""Probes for orchestrators: /healthz (the process answers) and /readyz (it can reach its
database and every migration is applied: until then, 503 with the reason)."""

from starlette.requests import Request
from starlette.responses import JSONResponse

from relasi import dbschema


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    try:
        async with request.app.state.db.pool.acquire() as conn:
            pending = await dbschema.pending_migrations(conn)
    except Exception as e:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "error": type(e).__name__}, status_code=503)
    if pending:
        return JSONResponse({"status": "migrating", "pending": pending}, status_code=503)
    return JSONResponse({"status": "ready"})
