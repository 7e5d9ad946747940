"""The postgres extra alone: one task dispatched and run on the real PostgreSQL server, in a schema of its own
that is dropped afterwards."""

from __future__ import annotations

import os
import uuid

from smoke import on_server

from evertask.storage.sql import SqlStorage

URL = os.environ.get("EVERTASK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = f"evertask_smoke_{uuid.uuid4().hex[:12]}"

on_server("PostgreSQL", URL, lambda: SqlStorage(URL, schema=SCHEMA), f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
