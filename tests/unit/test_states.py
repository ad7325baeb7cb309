import pytest

from app.model.states import ALLOWED, IllegalTransition, State, transition


@pytest.mark.parametrize("current,new", [
    ("created", "running"), ("running", "zombie"), ("zombie", "joined")])
def test_the_steps_a_process_can_take(current, new):
    assert transition(current, new) is State(new)


@pytest.mark.parametrize("current,new", [
    ("created", "zombie"), ("created", "joined"), ("running", "joined"),
    ("running", "created"), ("zombie", "running"), ("joined", "running"),
    ("joined", "zombie"), ("running", "running")])
def test_steps_the_os_cannot_take_are_refused(current, new):
    with pytest.raises(IllegalTransition):
        transition(current, new)


def test_joined_is_final():
    assert ALLOWED[State.JOINED] == set()


def test_unknown_state_is_an_error():
    with pytest.raises(ValueError):
        transition("sleeping", "running")
