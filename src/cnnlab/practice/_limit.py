"""Call a student's function with a time limit, and whatever it does (returns, raises, hangs), come back.

On the main thread of a POSIX system (a notebook's kernel, a script), a real-time timer (``setitimer``) sends
SIGALRM when the case's time is up, and its handler raises :class:`_OutOfTime` inside the function: this stops a
``while True:`` loop and a ``time.sleep`` alike (but not a single long call inside C code, which returns first).
It is a ``BaseException``, so a student's ``except Exception:`` does not swallow it, and the timer repeats every
0.1 s in case a bare ``except:`` did (a loop that swallows every exception, Ctrl-C's too, cannot be stopped from
inside the process at all). The handler and any timer that was set before are put back afterwards.

Elsewhere (another thread, where Python cannot receive a signal; Windows, which has no SIGALRM; or a SIGALRM
handler set outside Python, which could not be put back) the function runs in a daemon thread that is waited for up
to the limit. A function that outlives it cannot be stopped there: it is left running in the background, and the
result says so.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

__all__ = ["Outcome", "call_with_limit"]

# After the first alarm, another every so often: a student's bare `except:` may have swallowed the first.
_AGAIN = 0.1


class _OutOfTime(BaseException):
    """Raised inside the student's function when its time is up (not an Exception: see the module's docstring)."""


@dataclass(frozen=True)
class Outcome:
    """What one call did: returned ``value``, raised ``error``, or ran out of time.

    Attributes:
        value: what it returned (``None`` when it raised or ran out of time).
        error: the exception it raised.
        timed_out: it was still running when its time was up.
        still_running: it ran out of time where it could not be stopped (see the module), and runs on.
    """

    value: object = None
    error: BaseException | None = None
    timed_out: bool = False
    still_running: bool = False


def _can_use_alarm() -> bool:
    """Whether a timer signal can stop the function: on the main thread, where SIGALRM exists and its handler is
    Python's to put back (``getsignal`` is ``None`` for one set from C)."""
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) is not None
    )


def call_with_limit(fn: Callable[..., object], args: tuple[object, ...], limit: float) -> Outcome:
    """``fn(*args)`` with at most ``limit`` seconds; a KeyboardInterrupt (the user's own stop) goes through."""
    if _can_use_alarm():
        return _call_with_alarm(fn, args, limit)
    return _call_in_thread(fn, args, limit)


def _call_with_alarm(fn: Callable[..., object], args: tuple[object, ...], limit: float) -> Outcome:
    armed = [True]

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        if armed[0]:  # an alarm already on its way when the function returned is not the function's
            raise _OutOfTime

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)  # a Python handler or a default: see _can_use_alarm
    previous_timer = signal.setitimer(signal.ITIMER_REAL, limit, _AGAIN)
    started = time.monotonic()
    try:
        try:
            return Outcome(value=fn(*args))
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OutOfTime:
        return Outcome(timed_out=True)
    except (Exception, SystemExit) as error:  # SystemExit: a student's exit() is their function's doing too
        return Outcome(error=error)
    finally:
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_timer[0] > 0:  # someone else's timer (a test's time-out): it goes on with what it had left
            left = max(previous_timer[0] - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, previous_timer[1])


def _call_in_thread(fn: Callable[..., object], args: tuple[object, ...], limit: float) -> Outcome:
    box: list[Outcome] = []

    def target() -> None:
        try:
            box.append(Outcome(value=fn(*args)))
        except BaseException as error:  # (whatever it raised is the student's result)
            box.append(Outcome(error=error))

    thread = threading.Thread(target=target, name="cnnlab-check", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive() or not box:
        return Outcome(timed_out=True, still_running=thread.is_alive())
    return box[0]
