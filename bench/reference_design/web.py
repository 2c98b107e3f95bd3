"""The reference's Flask app: the todos table and the three calendar-job routes of the public contract.

`python -m bench.reference_design.web init-db` creates the table and inserts the todos given as a
JSON list of [title, description, deadline] on standard input (the benchmark's set-up step).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import Any

from celery.result import AsyncResult
from flask import Flask, jsonify, url_for
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

from bench.reference_design.tasks import celery, create_ical

db = SQLAlchemy()


class Todo(db.Model):
    __tablename__ = "todos"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(db.String(80))
    description: Mapped[str | None] = mapped_column(db.String(120))
    completed: Mapped[bool] = mapped_column(default=False)
    deadline_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)
    updated_at: Mapped[datetime] = mapped_column(default=datetime.now, onupdate=datetime.now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "completed": self.completed,
            "deadline_at": self.deadline_at.isoformat() if self.deadline_at else None,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("REFERENCE_DATABASE_URL", "sqlite:///reference.sqlite3")
    db.init_app(app)

    @app.post("/api/v1/todos/ical")
    def request_calendar():
        # The original's way: every todo travels inside the task message.
        todos = [todo.to_dict() for todo in db.session.scalars(db.select(Todo).order_by(Todo.id))]
        task = create_ical.delay(todos)
        return jsonify(task_id=task.id, task_url=url_for("calendar_status", task_id=task.id, _external=True)), 202

    @app.get("/api/v1/todos/ical/<task_id>/status")
    def calendar_status(task_id: str):
        result = AsyncResult(task_id, app=celery)
        return jsonify(
            task_id=task_id,
            task_status=result.status,
            result_url=url_for("calendar_result", task_id=task_id, _external=True),
        )

    @app.get("/api/v1/todos/ical/<task_id>/result")
    def calendar_result(task_id: str):
        result = AsyncResult(task_id, app=celery)
        if result.status != "SUCCESS":
            return jsonify(error=f"task {task_id} has no result"), 404
        return result.result, 200, {"Content-Type": "text/calendar; charset=utf-8"}

    return app


def init_db(rows: list[list[str | None]]) -> None:
    app = create_app()
    with app.app_context():
        db.create_all()
        db.session.add_all(
            Todo(
                title=title,
                description=description,
                deadline_at=datetime.fromisoformat(deadline) if deadline else None,
            )
            for title, description, deadline in rows
        )
        db.session.commit()


if __name__ == "__main__":
    if sys.argv[1:] != ["init-db"]:
        sys.exit("usage: python -m bench.reference_design.web init-db < todos.json")
    init_db(json.load(sys.stdin))
