"""`easy_oww.parallel.ordered_map`: the one pool map (order, bounded window, one error policy)."""

from __future__ import annotations

import os

import pytest

from easy_oww.parallel import ordered_map, worker_count

_state: dict[str, int] = {}


def square(x: int) -> int:
    return x * x


def pid_and_offset(x: int) -> tuple[int, int]:
    return os.getpid(), x + _state["offset"]


def set_offset(offset: int) -> None:
    _state["offset"] = offset


def fail_at_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"task {x} failed")
    return x


def bad_init() -> None:
    raise RuntimeError("initializer broke")


def killed_at_two(x: int) -> int:
    if x == 2:  # as the out-of-memory killer does
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return x


def test_results_come_in_task_order_from_workers() -> None:
    out = list(ordered_map(pid_and_offset, range(20), workers=2, initializer=set_offset,
                           initargs=(100,), in_flight_per_worker=1))
    assert [v for _, v in out] == [x + 100 for x in range(20)]
    assert os.getpid() not in {p for p, _ in out}


def test_one_worker_runs_here_with_initializer_and_cleanup() -> None:
    cleaned: list[bool] = []
    out = list(ordered_map(pid_and_offset, [1, 2], workers=1, initializer=set_offset,
                           initargs=(5,), cleanup=lambda: cleaned.append(True)))
    assert out == [(os.getpid(), 6), (os.getpid(), 7)]
    assert cleaned == [True]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_first_failing_task_raises_in_the_caller(workers: int) -> None:
    seen: list[int] = []
    with pytest.raises(ValueError, match="task 3 failed"):
        for v in ordered_map(fail_at_three, range(10), workers=workers):
            seen.append(v)  # noqa: PERF402 - the values before the error
    assert seen == [0, 1, 2]


def test_a_failing_initializer_raises_instead_of_respawning() -> None:
    with pytest.raises(RuntimeError, match="initializer broke"):
        list(ordered_map(square, range(4), workers=2, initializer=bad_init))


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_worker_killed_in_a_task_is_an_error_not_a_hang() -> None:
    """multiprocessing.Pool starts another worker and waits for the lost result forever."""
    from easy_oww.errors import WorkerDied

    seen: list[int] = []
    with pytest.raises(WorkerDied, match="killed by signal 9"):
        for v in ordered_map(killed_at_two, range(6), workers=2, in_flight_per_worker=1):
            seen.append(v)  # noqa: PERF402 - the values before the error
    assert seen == [0, 1]


def test_tasks_are_consumed_lazily() -> None:
    pulled: list[int] = []

    def tasks():  # type: ignore[no-untyped-def]
        for x in range(1000):
            pulled.append(x)
            yield x

    gen = ordered_map(square, tasks(), workers=2, in_flight_per_worker=2)
    assert next(gen) == 0
    gen.close()
    assert len(pulled) <= 2 * 2 + 1


def test_worker_count() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert worker_count(3, 10) == 3
    assert worker_count(8, 2) == 2
    assert worker_count(0, 1000) == cores
    assert worker_count(0, 5, tasks_per_worker=100) == 1
    assert worker_count(0, 0) == 1
