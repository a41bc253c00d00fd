"""Worker pools die with their parent; SIGTERM, SIGHUP and Ctrl-C stop a command cleanly.

A small CLI command (`nap`, registered by the script below) starts two workers through
`easy_oww.parallel` (`ordered_map`, the pool map every pipeline pool uses, or a bare
`process_pool`) that record their pid and then sleep; the test then kills or signals the
run and checks the outcome: exit code, one line on stderr, no worker left 5 s later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from easy_oww.cli.main import STOPPED
from tests.conftest import child_stop_signals

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

NAP = '''
import os, sys, time
import click

def nap(path):
    sig = -1
    if sys.platform.startswith("linux"):
        import ctypes
        libc = ctypes.CDLL(None)
        out = ctypes.c_int(0)
        libc.prctl(2, ctypes.byref(out), 0, 0, 0)  # PR_GET_PDEATHSIG
        sig = out.value
    with open(path, "a") as fh:
        fh.write(f"{os.getpid()} {sig}\\n")
    time.sleep(120)

@click.command("nap")
@click.argument("path")
@click.option("--map", "mapped", is_flag=True)
def nap_cmd(path, mapped):
    from easy_oww.parallel import ordered_map, process_pool
    if mapped:
        list(ordered_map(nap, [path, path], workers=2))
    else:
        with process_pool(2) as pool:
            pool.map(nap, [path, path], chunksize=1)

if __name__ == "__main__":
    import faulthandler, signal
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks for a hung run
    from easy_oww.cli import main as m
    m.COMMANDS["nap"] = ("__main__:nap_cmd", "Start two workers that sleep.")
    m.main(sys.argv[1:])
'''


def alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet is not)."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        return "\nState:\tZ" not in status.read_text()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return sys.platform != "linux"  # no /proc entry on Linux: gone


def wait_gone(pids: list[int], seconds: float = 5.0) -> list[int]:
    """The pids still running after `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def start_nap(tmp_path: Path, mapped: bool,
              ignore_hup: bool = False) -> tuple[subprocess.Popen[bytes], Path]:
    script = tmp_path / "nap.py"
    script.write_text(NAP)
    record = tmp_path / "workers.txt"
    args = [sys.executable, str(script), "nap", str(record)] + (["--map"] if mapped else [])
    with child_stop_signals(ignore_hup=ignore_hup):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
    return proc, record


def stop_output(proc: subprocess.Popen[bytes], timeout: float = 120.0) -> bytes:
    """The run's stderr once it has ended; if it hangs, fail with every thread's stack and
    the processes still in its group, so that a hang seen once can be read afterwards."""
    try:
        return proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        group = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "-g", str(proc.pid)],
                               capture_output=True, text=True, check=False).stdout
        proc.send_signal(signal.SIGUSR1)
        time.sleep(2)
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"no exit {timeout:g} s after the signal; processes:\n{group}"
                             f"stacks:\n{err.decode(errors='replace')}") from None


def worker_lines(proc: subprocess.Popen[bytes], record: Path, n: int = 2,
                 timeout: float = 60.0) -> list[tuple[int, int]]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        lines = record.read_text().split("\n") if record.exists() else []
        rows = [tuple(int(x) for x in line.split()) for line in lines if line.strip()]
        if len(rows) >= n:
            return [(r[0], r[1]) for r in rows]
        if proc.poll() is not None:
            raise AssertionError(f"nap ended early: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        time.sleep(0.05)
    raise AssertionError("the workers did not start")


@pytest.mark.parametrize("mapped", [False, True], ids=["pool", "map"])
def test_workers_die_with_a_killed_parent(tmp_path: Path, mapped: bool) -> None:
    proc, record = start_nap(tmp_path, mapped)
    workers = worker_lines(proc, record)
    if sys.platform.startswith("linux"):  # the kernel's parent-death signal is armed
        assert {sig for _, sig in workers} == {signal.SIGKILL}
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=120)
    assert wait_gone([pid for pid, _ in workers]) == []


@pytest.mark.parametrize(("sig", "mapped", "group"), [
    (signal.SIGTERM, False, True),   # `timeout -s TERM`, systemd: the whole group
    (signal.SIGTERM, True, False),   # docker stop, kill PID: the parent only
    (signal.SIGHUP, False, False),
    (signal.SIGHUP, True, True),     # a closed terminal
], ids=["term-pool-group", "term-map-pid", "hup-pool-pid", "hup-map-group"])
def test_stop_signal_stops_cleanly(tmp_path: Path, sig: int, mapped: bool,
                                   group: bool) -> None:
    proc, record = start_nap(tmp_path, mapped)
    workers = [pid for pid, _ in worker_lines(proc, record)]
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    err = stop_output(proc)
    assert proc.returncode == 128 + sig
    assert err.decode() == STOPPED + "\n"  # one line: no traceback, no semaphore warning
    assert wait_gone(workers) == []


@pytest.mark.parametrize("mapped", [False, True], ids=["pool", "map"])
def test_under_nohup_a_closed_terminal_stops_nothing(tmp_path: Path, mapped: bool) -> None:
    """`nohup easy-oww train`: SIGHUP to the whole group (a closed terminal) reaches the
    run and its workers, and all of them go on; SIGTERM still stops it cleanly."""
    proc, record = start_nap(tmp_path, mapped, ignore_hup=True)
    workers = [pid for pid, _ in worker_lines(proc, record)]
    os.killpg(proc.pid, signal.SIGHUP)
    time.sleep(2.5)  # longer than a dead worker takes to become an error
    assert proc.poll() is None and all(alive(p) for p in workers)
    proc.send_signal(signal.SIGTERM)
    err = stop_output(proc)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.decode() == STOPPED + "\n"
    assert wait_gone(workers) == []


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
                    reason="SIGINT is ignored here (a background job of a non-interactive "
                           "shell), and the child inherits that: no Ctrl-C can reach it")
def test_ctrl_c_stops_workers_without_tracebacks(tmp_path: Path) -> None:
    proc, record = start_nap(tmp_path, mapped=False)
    workers = [pid for pid, _ in worker_lines(proc, record)]
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    err = stop_output(proc)
    assert proc.returncode == 130
    assert "Traceback" not in err.decode() and "leaked" not in err.decode()
    assert wait_gone(workers) == []


def test_orphaned_worker_exits_at_once(tmp_path: Path) -> None:
    """A worker whose parent is already gone when it arms the watch exits by itself."""
    code = ("import os; from easy_oww.parallel import exit_with_parent, EXIT_ORPHANED\n"
            "exit_with_parent(os.getppid() + 999999)\n"
            "raise SystemExit(0)\n")
    done = subprocess.run([sys.executable, "-c", code], check=False, timeout=60)
    from easy_oww.parallel import EXIT_ORPHANED

    assert done.returncode == EXIT_ORPHANED


DEAD_IDLE = '''
import faulthandler, multiprocessing, os, signal, time
from easy_oww import parallel

if __name__ == "__main__":
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks for a hung run
    parallel.LOCK_WAIT_S = 1.0
    with parallel.process_pool(2) as pool:
        pool.map(str, range(4))
        time.sleep(0.5)  # both workers wait for a task; one holds the task pipe's read lock
        for p in multiprocessing.active_children():
            os.kill(p.pid, signal.SIGKILL)
        time.sleep(0.5)  # the pool has started workers in their place
    print("stopped")
'''


DEAD_SENDING = '''
import faulthandler, multiprocessing, os, signal
from easy_oww import parallel


def big(i):
    return b"x" * 100_000_000


if __name__ == "__main__":
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks for a hung run
    parallel.LOCK_WAIT_S = 1.0
    with parallel.process_pool(2) as pool:
        results = pool.imap(big, range(6))
        next(results)  # one result is in: the other worker is sending its own
        for p in multiprocessing.active_children():
            os.kill(p.pid, signal.SIGKILL)
    print("stopped")
'''


def run_script(tmp_path: Path, source: str) -> tuple[int, str, str]:
    """Run `source` as a script in a session of its own: (exit code, stdout, stderr); a
    hang fails with the stacks of its threads (`stop_output`)."""
    script = tmp_path / "pool_script.py"
    script.write_text(source)
    out = tmp_path / "out.txt"
    with out.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, str(script)], stdout=fh,
                                stderr=subprocess.PIPE, start_new_session=True)
        err = stop_output(proc, timeout=60)
    return proc.returncode, out.read_text(), err.decode()


def test_pool_stops_when_idle_workers_died(tmp_path: Path) -> None:
    """Idle workers killed (a stop signal to the whole group reaches them while they wait
    for a task, as when some ensemble members have finished): leaving the pool must not
    wait forever for the lock the dead one held (multiprocessing.Pool's terminate did)."""
    code, out, err = run_script(tmp_path, DEAD_IDLE)
    assert code == 0, err
    assert out.split() == ["stopped"]
    assert "leaked" not in err


def test_pool_stops_when_workers_died_sending(tmp_path: Path) -> None:
    """Workers killed while they send a large result (a stop signal to the whole group
    during the negative audio, whose chunks are large): one held the result pipe's write
    lock and left half a message; multiprocessing.Pool's terminate waited forever for that
    lock, and its result thread for the rest of the message (seen on a 16-core machine)."""
    code, out, err = run_script(tmp_path, DEAD_SENDING)
    assert code == 0, err
    assert out.split() == ["stopped"]
    assert "Traceback" not in err and "leaked" not in err


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_a_stop_signal_started_ignored_stays_ignored() -> None:
    """`nohup easy-oww train`: SIGHUP is ignored from the start, and a closed terminal
    must not stop the run; SIGTERM still does."""
    from easy_oww import parallel

    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # handled, whatever we inherited
    try:
        with parallel.stop_on_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)  # ignored: nothing raised
            with pytest.raises(parallel.Stopped):
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)
        signal.signal(signal.SIGTERM, old_term)
