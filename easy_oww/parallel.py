"""Worker processes that die with their parent, and runs that stop cleanly on a signal.

Every process pool in easy-oww (feature extraction, TTS, negative audio, ensemble
members) is one call of `ordered_map`: cores counted by `worker_count`, results in task
order, a bounded number of tasks in flight, one error policy. Its workers start here,
with the spawn start method (shared/DESIGN.md, Contract 3), and each worker's initializer
first runs `worker_init`:

- it arms parent-death detection: on Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (the
  kernel kills the worker the moment its parent dies, even by ``kill -9``), and
  everywhere a watchdog thread that ends the worker when ``os.getppid()`` is no longer
  the parent that started it (within `PARENT_POLL_S`);
- it ignores SIGINT, which the terminal sends to the whole process group on Ctrl-C: the
  parent stops the pool, and the worker does not print a KeyboardInterrupt traceback;
- SIGTERM and SIGHUP keep their default action (end the process at once, silently): that
  is how a worker ends when a stop signal reaches the whole process group (``timeout``,
  systemd, a closed terminal); the parent ends its pools with SIGKILL (`_Pool`). A signal
  the run was started ignoring (``nohup``: SIGHUP) is ignored by its workers too, as by
  the parent (`stop_on_signals`).

Only the parent writes files (the training members write their own checkpoints
atomically, and a rerun sweeps their temporary files), so a worker may die at any point.

The parent side is `stop_on_signals`: while a command runs, SIGTERM and SIGHUP raise
`Stopped` in the main thread, which unwinds exactly like Ctrl-C (pools terminated, lock
released, finished work kept); the CLI turns it into one line and exit code 128 + signal.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.context
import multiprocessing.pool
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from easy_oww.errors import WorkerDied

PARENT_POLL_S = 0.5
"""How often the watchdog compares os.getppid() with the parent that started the worker."""
EXIT_ORPHANED = 70
"""Exit status of a worker that found its parent gone."""
PR_SET_PDEATHSIG = 1

Initializer = Callable[..., None]
T = TypeVar("T")
R = TypeVar("R")
IN_FLIGHT_PER_WORKER = 3
"""Tasks pending per worker in `ordered_map`: no worker idles, memory stays bounded."""


# -- cores and contexts -------------------------------------------------------------------
def usable_cores() -> int:
    """CPU cores this process may run on (affinity-aware where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def worker_count(requested: int, n_tasks: int, *, tasks_per_worker: int = 1) -> int:
    """Workers for `n_tasks` tasks: `requested`, or one per usable core when it is 0 or
    less, never more than there are tasks (or `n_tasks / tasks_per_worker`, for tasks too
    cheap to pay a worker's start-up), and at least 1."""
    wanted = requested if requested > 0 else usable_cores()
    worth = max(1, n_tasks // max(1, tasks_per_worker))
    return max(1, min(wanted, n_tasks if requested > 0 else worth))


def spawn_context() -> multiprocessing.context.SpawnContext:
    """The spawn context, with multiprocessing's resource tracker started immune to SIGHUP
    (a closed terminal would kill it, and the run would warn about leaked semaphores)."""
    _start_resource_tracker()
    return multiprocessing.get_context("spawn")


def _start_resource_tracker() -> None:
    if os.name != "posix":
        return
    from multiprocessing import resource_tracker

    hup = getattr(signal, "SIGHUP", None)
    if hup is None or not hasattr(signal, "pthread_sigmask"):
        resource_tracker.ensure_running()
        return
    # a blocked signal stays blocked across fork + exec; the tracker unblocks only
    # SIGINT and SIGTERM (which it ignores), so SIGHUP never reaches it
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {hup})
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# -- the worker side ----------------------------------------------------------------------
def worker_init(parent: int, init: Initializer | None, args: tuple[Any, ...]) -> None:
    """Pool initializer: die with `parent`, leave Ctrl-C to it, then run `init(*args)`."""
    exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):  # one the run was started ignoring stays ignored
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)
    if init is not None:
        init(*args)


def exit_with_parent(parent: int, every_s: float = PARENT_POLL_S) -> None:
    """End this process as soon as `parent` (the pid that started it) is gone."""
    if sys.platform.startswith("linux"):
        _set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent:  # died before the signal was armed
        os._exit(EXIT_ORPHANED)

    def watch() -> None:
        while True:
            time.sleep(every_s)
            if os.getppid() != parent:
                os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _set_pdeathsig(sig: int) -> bool:
    """Ask the Linux kernel to send `sig` to this process when its parent dies."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc or no prctl: the watchdog still works
        return False


# -- the parent side: pools ---------------------------------------------------------------
LOCK_WAIT_S = 5.0
"""How long `_Pool`'s terminate waits for the result pipe's write lock before it concludes
that a dead worker holds it (a live holder, this process's task handler, lets go within
milliseconds)."""


def _free(lock: Any, wait_s: float) -> None:
    """Leave a multiprocessing lock released: taken within `wait_s` and given back, or else
    given back for the dead worker that held it (a plain multiprocessing.Lock may be
    released by any process)."""
    if lock is None:  # no write lock: Windows' message pipes write whole messages
        return
    lock.acquire(timeout=wait_s)
    lock.release()


WORKER_POLL_S = 1.0
"""How often a wait for a result checks that no worker has died (`ordered_map`)."""


class _Pool(multiprocessing.pool.Pool):
    """`multiprocessing.Pool` whose terminate cannot hang on what a dead worker left.

    A stop signal sent to the whole process group (`timeout`, systemd, a closed terminal)
    kills the workers wherever they are. One waiting for a task holds the task pipe's read
    lock; one sending a result holds the result pipe's write lock and leaves half a message
    in the pipe. CPython's terminate takes the first lock, then sends a sentinel under the
    second, and then waits for its result thread, which is stuck inside the half message:
    each of the three waited forever (CPython issues 66587 and 96062; the second was seen
    on a 16-core machine, where workers often send a large negative-audio chunk).

    Here terminate kills the workers first, so that only this process uses the pipes. It
    then frees the result pipe's write lock (`_free`) for the task thread, which sends its
    own sentinel under it; closes its end of the task pipe, the last reader, so that the
    task thread cannot stay blocked on a full pipe (it gets an error, which it expects);
    and, once the task thread has ended, closes its end of the result pipe, the last
    writer: the result thread reads what is left, gets end-of-file and ends. Nothing
    reads the task pipe again, so its read lock may stay taken.

    It also remembers every worker it started (`Process`), so that `dead_worker` can tell
    a worker killed in the middle of a run (the out-of-memory killer, a crash): CPython's
    pool starts another in its place and waits for the lost task's result forever."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._started: list[Any] = []
        super().__init__(*args, **kwargs)

    def Process(self, ctx: Any, *args: Any, **kwds: Any) -> Any:  # type: ignore[override]
        process = ctx.Process(*args, **kwds)
        self._started.append(process)
        return process

    def dead_worker(self) -> int | None:
        """The exit code of a worker that ended on its own while the pool runs (a signal
        -N or a crash), else None; workers end only when the pool does."""
        for process in list(self._started):
            code = process.exitcode
            if code is not None and code != 0:
                return int(code)
        return None

    @classmethod
    def _terminate_pool(cls, taskqueue: Any, inqueue: Any, outqueue: Any, pool: Any,
                        change_notifier: Any, worker_handler: Any, task_handler: Any,
                        result_handler: Any, cache: Any) -> None:
        here = threading.current_thread()
        for handler in (worker_handler, task_handler, result_handler):
            handler._state = multiprocessing.pool.TERMINATE
        change_notifier.put(None)
        if here is not worker_handler:
            worker_handler.join()  # no worker is started in a killed one's place
        for p in pool:
            if p.exitcode is None:
                p.kill()
        for p in pool:
            p.join()
        _free(getattr(outqueue, "_wlock", None), LOCK_WAIT_S)
        # the task pipe's last reader: a write blocked on it fails, and the task thread,
        # told to stop, ends
        inqueue._reader.close()
        if here is not task_handler:
            task_handler.join()
        outqueue._writer.close()
        if here is not result_handler:
            result_handler.join()


@contextlib.contextmanager
def process_pool(n: int, initializer: Initializer | None = None,
                 initargs: tuple[Any, ...] = ()) -> Iterator[multiprocessing.pool.Pool]:
    """A spawn `multiprocessing.Pool` of `n` workers that die with this process; on exit
    (normal, error, Ctrl-C or `Stopped`) the workers are killed and reaped, also when a
    stop signal killed some of them first, wherever they were (see `_Pool`)."""
    ctx = spawn_context()
    pool = _Pool(n, initializer=worker_init, initargs=(os.getpid(), initializer, initargs),
                 context=ctx)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


_init_error: list[BaseException] = []


def _guarded_init(init: Initializer, *args: Any) -> None:
    # A failing Pool initializer makes the pool respawn workers forever: keep the error
    # and raise it from the worker's first task instead, so it reaches the parent.
    try:
        init(*args)
    except Exception as exc:  # noqa: BLE001 - re-raised by _run_task
        _init_error.append(exc)


def _run_task(fn: Callable[[T], R], task: T) -> R:
    if _init_error:
        raise _init_error[0]
    return fn(task)


def ordered_map(fn: Callable[[T], R], tasks: Iterable[T], *, workers: int,
                initializer: Initializer | None = None, initargs: tuple[Any, ...] = (),
                cleanup: Callable[[], None] | None = None,
                in_flight_per_worker: int = IN_FLIGHT_PER_WORKER) -> Iterator[R]:
    """`fn(task)` for each task, yielded in task order: the one pool map of easy-oww.

    With `workers` <= 1 everything runs in this process (`initializer(*initargs)` first,
    `cleanup()` after). Otherwise a spawn pool of `workers` processes (`process_pool`: they
    die with this process) runs `initializer(*initargs)` once per worker and then the
    tasks, at most `workers * in_flight_per_worker` pending at a time, so memory stays
    bounded however many tasks there are. `fn` and the tasks must pickle.

    One error policy: the first task (in order) that raises, or a worker whose initializer
    raised, raises that exception here; the pool is then terminated and nothing more is
    yielded. Closing the generator early (or Ctrl-C, `Stopped`) terminates the pool too.
    """
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        try:
            for task in tasks:
                yield fn(task)
        finally:
            if cleanup is not None:
                cleanup()
        return
    init_args: tuple[Any, ...] = ()
    init: Initializer | None = None
    if initializer is not None:
        init, init_args = _guarded_init, (initializer, *initargs)
    limit = workers * max(1, in_flight_per_worker)
    with process_pool(workers, init, init_args) as pool:
        window: deque[multiprocessing.pool.AsyncResult[R]] = deque()
        for task in tasks:
            window.append(pool.apply_async(_run_task, (fn, task)))
            if len(window) >= limit:
                yield _result(pool, window.popleft())
        while window:
            yield _result(pool, window.popleft())


def _result(pool: multiprocessing.pool.Pool, pending: multiprocessing.pool.AsyncResult[R]) -> R:
    """`pending`'s result; a `WorkerDied` error when a worker has died meanwhile, whose
    task's result would never come."""
    while True:
        try:
            return pending.get(timeout=WORKER_POLL_S)
        except multiprocessing.TimeoutError:
            code = pool.dead_worker() if isinstance(pool, _Pool) else None
            if code is None:
                continue
            if -code in stop_signals():  # sent to the whole group: this process's own
                time.sleep(WORKER_POLL_S)  # `Stopped` is on its way
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            raise WorkerDied(
                f"a worker process died in the middle of the run ({how}; signal 9 is often "
                "the out-of-memory killer)",
                "run the command again to resume; if it happens again, give it fewer "
                "workers (features.workers) or more memory") from None


# -- the parent side: stop signals --------------------------------------------------------
class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C (a BaseException, so no ``except
    Exception`` swallows it), keeping finished work. Exit code 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_received: list[int] = []


def stop_signals() -> tuple[int, ...]:
    """The signals `stop_on_signals` turns into `Stopped` on this platform."""
    return tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def stop_requested() -> int | None:
    """The stop signal received while `stop_on_signals` was active, if any."""
    return _received[-1] if _received else None


def _raise_stopped(signum: int, frame: Any) -> None:
    _received.append(signum)
    for s in stop_signals():  # a second signal while unwinding must not cut the cleanup
        if signal.getsignal(s) == _raise_stopped:  # (one ignored from the start stays so)
            signal.signal(s, _note_signal)
    raise Stopped(signum)


def _note_signal(signum: int, frame: Any) -> None:
    _received.append(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Stopped` in the main thread (elsewhere,
    where signals cannot be handled, the block runs unchanged). A signal this process was
    started ignoring stays ignored: `nohup easy-oww train` goes on when the terminal
    closes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: h for s in stop_signals() if (h := signal.getsignal(s)) != signal.SIG_IGN}
    _received.clear()
    for s in previous:
        signal.signal(s, _raise_stopped)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
