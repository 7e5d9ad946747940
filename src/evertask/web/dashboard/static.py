"""The dashboard's static files (its stylesheet and script, and the vendored htmx and uPlot): read once from
the package, served with a content hash in their URL so that browsers keep them."""

from __future__ import annotations

import hashlib
from importlib import resources

from fastapi import Request
from fastapi.responses import Response

_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}


class StaticFiles:
    """The files under ``evertask/web/static``, read once; served to anyone (they hold no data)."""

    def __init__(self) -> None:
        root = resources.files("evertask.web") / "static"
        self.files: dict[str, tuple[bytes, str, str]] = {}
        stack = [(root, "")]
        while stack:
            folder, prefix = stack.pop()
            for entry in folder.iterdir():
                name = f"{prefix}{entry.name}"
                if entry.is_dir():
                    stack.append((entry, f"{name}/"))
                    continue
                kind = _TYPES.get("." + entry.name.rsplit(".", 1)[-1])
                if kind is not None:
                    data = entry.read_bytes()
                    self.files[name] = (data, kind, hashlib.sha256(data).hexdigest()[:16])

    def url(self, name: str) -> str:
        """The URL of a static file, versioned by its content (so browsers may keep it)."""
        return f"/static/{name}?v={self.files[name][2]}"

    def response(self, request: Request, name: str) -> Response:
        """The file, or 404."""
        found = self.files.get(name)
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        data, kind, tag = found
        etag = f'"{tag}"'
        cache = {"ETag": etag, "Cache-Control": "public, max-age=604800" if request.url.query else "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=cache)
        return Response(data, media_type=kind, headers=cache)
