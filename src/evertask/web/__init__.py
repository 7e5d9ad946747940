"""The web face of evertask: the REST API (and, later, the dashboard) as one FastAPI app.

Needs the ``web`` extra (fastapi, uvicorn). ``create_app(source)`` builds it; ``evertask web APP_OR_URL``
serves it. See docs/operations.md.
"""

from evertask.web.app import create_app
from evertask.web.auth import ApiToken, AuthSettings, Principal, Role, WebUser

__all__ = ["ApiToken", "AuthSettings", "Principal", "Role", "WebUser", "create_app"]
