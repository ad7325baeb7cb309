"""The life of a lab process as an explicit state machine (after Supervisor's
process states): every change goes through ``transition()``, which refuses any
step the operating system cannot take.

    created ──start()──▶ running ──exit──▶ zombie ──waitpid()──▶ joined

* created: the ``Process`` object exists; not started, so no pid.
* running: started; the OS has a process (``p.is_alive()`` would say True).
* zombie: it exited and its exit code is known, but its parent has not reaped
  it yet; ``/proc`` still lists it with state ``Z``.
* joined: reaped — by ``p.join()`` or implicitly by multiprocessing; gone.
"""

from enum import Enum


class State(str, Enum):
    CREATED = "created"
    RUNNING = "running"
    ZOMBIE = "zombie"
    JOINED = "joined"


ALLOWED = {
    State.CREATED: {State.RUNNING},
    State.RUNNING: {State.ZOMBIE},
    State.ZOMBIE: {State.JOINED},
    State.JOINED: set(),
}


class IllegalTransition(ValueError):
    pass


def transition(current, new):
    """The new state, if the step from *current* is one a process can take."""
    current, new = State(current), State(new)
    if new not in ALLOWED[current]:
        raise IllegalTransition(f"{current.value} -> {new.value}")
    return new
