"""FastAPI (and Starlette): the app in request handlers.

Start the app with the web app, ``FastAPI(lifespan=app.lifespan)``, then ask for it in a route::

    from evertask.contrib.fastapi import EverTaskApp

    @web.post("/signup")
    async def signup(email: str, tasks: EverTaskApp) -> dict[str, str]:
        task_id = await tasks.dispatch(SendWelcomeEmail(email=email))
        return {"task": str(task_id)}

In tests, ``web.dependency_overrides[get_evertask] = lambda: other_app`` swaps it. A Starlette endpoint calls
``get_evertask(request)`` itself. Needs FastAPI (the ``web`` extra) installed; see docs/fastapi.md.
"""

from __future__ import annotations

from typing import Annotated

from evertask._extras import require

require("fastapi", "web", needed_by="evertask.contrib.fastapi")

from fastapi import Depends  # noqa: E402  (after the check that names the extra)
from starlette.requests import Request  # noqa: E402

from evertask.app import EverTask  # noqa: E402
from evertask.errors import ConfigurationError  # noqa: E402

__all__ = ["EverTaskApp", "get_evertask"]


def get_evertask(request: Request) -> EverTask:
    """The EverTask app the web app's lifespan started (``lifespan=app.lifespan``, which puts it in the
    lifespan state). Raises :class:`~evertask.errors.ConfigurationError` when that lifespan did not run."""
    app = getattr(request.state, "evertask", None)
    if not isinstance(app, EverTask):
        raise ConfigurationError(
            "no EverTask app in this request's state: create the web app with lifespan=app.lifespan "
            "(or, in a lifespan of your own, `async with app.lifespan() as state: yield state`)"
        )
    return app


EverTaskApp = Annotated[EverTask, Depends(get_evertask)]
"""A route parameter annotated ``EverTaskApp`` receives the app (see :func:`get_evertask`)."""
