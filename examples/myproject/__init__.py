"""An example project: its tasks in an importable module, a worker process and the processes that dispatch.

Run from the ``examples`` folder::

    evertask worker myproject.tasks:app     # the worker, in its own terminal
    python -m myproject.dispatch            # an async producer
    python -m myproject.script              # a plain synchronous script
    flask --app myproject.flask_app run     # a Flask web app
"""
