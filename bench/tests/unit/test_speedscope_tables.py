"""Self and total shares read from a small speedscope document shaped as py-spy writes it."""

from __future__ import annotations

from bench.speedscope_tables import Function, function_times, functions_table, short_path

PROCESS = {"name": 'process 812:"gunicorn todo_api"', "file": "", "line": 0, "col": None}
HANDLE = {"name": "handle", "file": "/repo/services/todo-api/src/todo_api/handlers.py", "line": 10, "col": None}
DUMPS = {"name": "dumps", "file": "/usr/lib/python3.11/json/__init__.py", "line": 183, "col": None}
SEND = {"name": "send", "file": "/repo/.venv/lib/python3.11/site-packages/botocore/endpoint.py", "line": 40}
WALK = {"name": "walk", "file": "/repo/tools/walk.py", "line": 1}

# Frame indices as listed below: 0 process, 1 handle, 2 dumps, 3 send, 4 walk.
SPEEDSCOPE = {
    "shared": {"frames": [PROCESS, HANDLE, DUMPS, SEND, WALK]},
    "profiles": [
        {
            "type": "sampled",
            "name": "Process 812 Thread 812",
            "unit": "seconds",
            "samples": [[0, 1, 2], [0, 1, 2], [0, 1], [0, 1, 3]],
            "weights": [0.01, 0.01, 0.01, 0.01],
        },
        {
            # Another thread: a recursive walk counts once in total, its innermost call in self.
            "type": "sampled",
            "name": "Process 813 Thread 820",
            "unit": "seconds",
            "samples": [[0, 4, 4, 4], [0, 3], [], [0]],
            "weights": [0.01, 0.01, 0.01, 0.01],
        },
    ],
}

handle, dumps, send, walk = (Function(f["name"], f["file"]) for f in (HANDLE, DUMPS, SEND, WALK))


def shares(rows: list[tuple[Function, float, float]]) -> list[tuple[str, float, float]]:
    return [(function.name, round(own, 4), round(total, 4)) for function, own, total in rows]


def test_self_share_is_the_leaf_and_total_share_is_anywhere_on_the_stack_across_threads():
    times = function_times(SPEEDSCOPE)
    assert round(times.samples, 4) == 0.06  # the empty stack and the bare process frame are no samples
    assert shares(times.top_by_self(10)) == [
        ("dumps", 0.3333, 0.3333),
        ("send", 0.3333, 0.3333),
        ("handle", 0.1667, 0.6667),
        ("walk", 0.1667, 0.1667),
    ]
    assert shares(times.top_by_total(2)) == [("handle", 0.1667, 0.6667), ("dumps", 0.3333, 0.3333)]


def test_the_process_frame_of_subprocess_recording_is_no_function():
    times = function_times(SPEEDSCOPE)
    assert set(times.total_samples) == {handle, dumps, send, walk}


def test_a_function_run_at_different_lines_is_one_function():
    by_line = {
        "shared": {"frames": [dict(HANDLE, line=10), dict(HANDLE, line=12)]},
        "profiles": [{"type": "sampled", "samples": [[0], [1]], "weights": [1, 1]}],
    }
    assert shares(function_times(by_line).top_by_self(10)) == [("handle", 1.0, 1.0)]


def test_paths_keep_the_part_a_reader_recognises():
    assert short_path(SEND["file"]) == "botocore/endpoint.py"
    assert short_path(HANDLE["file"]) == "todo_api/handlers.py"
    assert short_path(DUMPS["file"]) == "json/__init__.py"
    assert short_path("/repo/tools/walk.py") == "/repo/tools/walk.py"


def test_the_table_lists_each_function_with_its_file_and_percentages():
    table = functions_table(function_times(SPEEDSCOPE).top_by_total(1))
    assert table.splitlines() == [
        "| function                      |  self | total |",
        "|-------------------------------|------:|------:|",
        "| handle (todo_api/handlers.py) | 16.7% | 66.7% |",
    ]


def test_a_profile_without_samples_says_so():
    empty = function_times({"shared": {"frames": []}, "profiles": []})
    assert empty.top_by_self(10) == []
    assert functions_table([]).startswith("(no samples")
