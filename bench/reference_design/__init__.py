"""The original design, kept only as a benchmark reference (it is not a service).

TaskOverflow's first calendar export, as the course built it: a Flask app on SQLAlchemy/SQLite
whose `POST /api/v1/todos/ical` loads every todo and enqueues one Celery task carrying them all;
a Celery worker (prefork) renders the calendar with the icalendar library and returns it as the
task's result, which the Redis result backend stores; `/status` reports the Celery state and
`/result` serves that stored text. Same public paths as our API, so one harness drives both.

    web.py      the Flask app (gunicorn serves `bench.reference_design.web:create_app()`)
    tasks.py    the Celery app and the rendering task (`celery -A bench.reference_design.tasks worker`)
    running.py  starts redis-server, gunicorn and the Celery worker on free ports for a benchmark
"""
