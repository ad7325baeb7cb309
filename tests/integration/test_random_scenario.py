"""200 random lab actions; after each, the model must equal /proc (within the
moment it takes the event to arrive), and nothing may leak at the end."""

import os
import random
import signal

import pytest

from tests.helpers import wait_until

SEED = int(os.environ.get("FORKSCOPE_SEED", "20261126"))
STEPS = 200


def live(api, role=None, state=None):
    return [p for p in api.state()["processes"]
            if p["state"] in ("running", "zombie")
            and (role is None or p["role"] == role)
            and (state is None or p["state"] == state)]


class Actions:
    def __init__(self, api, rnd):
        self.api, self.rnd = api, rnd

    def pick(self, role=None, state=None):
        candidates = live(self.api, role, state)
        return self.rnd.choice(candidates)["pid"] if candidates else None

    def spawn(self):
        clients = live(self.api, "client")
        if len(clients) < 12:
            r = self.api.post("/api/clients", {"count": self.rnd.randint(1, 3)})
            assert r.status_code in (201, 409), r.text

    def send(self):
        pid = self.pick("client", "running")
        if pid:
            r = self.api.post(f"/api/clients/{pid}/messages",
                              {"text": self.rnd.choice(["hi", "你好 abc", "x" * 3000])})
            assert r.status_code in (200, 404, 409), r.text

    def close(self):
        pid = self.pick("client", "running")
        if pid:
            assert self.api.post(f"/api/clients/{pid}/close").status_code in (200, 404, 409)

    def signal(self):
        pid = self.pick(self.rnd.choice(["worker", "client", "worker"]), "running")
        if pid:
            how = self.rnd.choice(["terminate", "kill"])
            r = self.api.post(f"/api/processes/{pid}/{how}")
            assert r.status_code in (200, 404, 409), r.text

    def join(self):
        pid = self.pick(state="zombie")
        body = {}
        if pid is None:
            pid, body = self.pick("worker", "running"), {"timeout": 0.05}
        if pid:
            r = self.api.post(f"/api/processes/{pid}/join", body)
            assert r.status_code in (200, 404, 409), r.text

    def restart(self):
        assert self.api.post("/api/server/restart").status_code == 200

    def kill_server(self):
        pid = self.pick("server", "running")
        if pid:
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: self.api.process(pid)["state"] == "zombie")

    def settings(self):
        lab = {"start_method": self.rnd.choice(["fork", "fork", "forkserver", "spawn"]),
               "daemon_workers": self.rnd.random() < 0.5,
               "worker_style": self.rnd.choice(["target", "subclass"])}
        assert self.api.post("/api/lab", lab).status_code == 200


WEIGHTS = {"spawn": 6, "send": 6, "close": 3, "signal": 4, "join": 4, "restart": 1,
           "kill_server": 1, "settings": 1}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_200_random_actions_keep_the_model_equal_to_proc(api):
    rnd = random.Random(SEED)
    actions = Actions(api, rnd)
    names, weights = zip(*WEIGHTS.items())
    done = []
    for step in range(STEPS):
        name = rnd.choices(names, weights)[0]
        if not live(api, "server", "running") and name not in ("restart", "settings"):
            name = "restart"
        getattr(actions, name)()
        done.append(name)

        def agrees():
            return not api.get("/api/truth?detail=0").json()["differences"]
        wait_until(agrees, timeout=5,
                   message=f"model == /proc after step {step} ({name}), seed {SEED}; "
                           f"last: {done[-5:]}; "
                           f"{api.get('/api/truth?detail=0').json()['differences']}")
    assert api.get("/api/state").status_code == 200
    anomalies = [e for e in api.events() if "anomaly" in e]
    assert anomalies == []
