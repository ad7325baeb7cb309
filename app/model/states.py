"""The life of a lab process as an explicit state machine (after Supervisor's
process states): every change goes through ``transition()``, which refuses any
step the operating system cannot take.

    created ──start()──▶ running ──exit──▶ zombie ──waitpid()──▶ joined

* created: the ``Process`` object exists; not started, so no pid.
* running: started; the OS has a process (``p.is_alive()`` would say True).
* zombie: it exited and its exit code is known, but its parent has not reaped
  it yet; ``/proc`` still lists it with state ``Z``.
* joined: reaped — by ``p.join()`` or implicitly by multiprocessing; gone.

The states and the allowed steps are defined in ``app.model.schema`` (which the
page reads too); this module makes them an enum and a checked step.
"""

from enum import Enum

from app.model import schema

#: ``State.CREATED``, ``State.RUNNING``, ... — one member per schema state; a
#: ``str`` too, so ``State.RUNNING == "running"``.
State = Enum("State", [(name.upper(), name) for name in schema.STATES],
             type=str, module=__name__)

#: State -> the set of states it may move to.
ALLOWED = {State(current): {State(new) for new in to}
           for current, to in schema.TRANSITIONS.items()}


class IllegalTransition(ValueError):
    pass


def transition(current, new):
    """The new state, if the step from *current* is one a process can take."""
    current, new = State(current), State(new)
    if new not in ALLOWED[current]:
        raise IllegalTransition(f"{current.value} -> {new.value}")
    return new
