"""The mysql extra alone: one task dispatched and run on the real MySQL/MariaDB server, in a database of its own
that is dropped afterwards."""

from __future__ import annotations

import os
import uuid

from smoke import on_server

from evertask.storage.sql import SqlStorage

URL = os.environ.get("EVERTASK_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
DATABASE = f"evertask_smoke_{uuid.uuid4().hex[:12]}"

on_server("MariaDB/MySQL", URL, lambda: SqlStorage(URL, schema=DATABASE), f"DROP DATABASE IF EXISTS {DATABASE}")
