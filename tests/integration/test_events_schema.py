"""What real lab processes report is what the schema says they report: every
event of a run through the main actions has a schema type, its required fields
and no field the schema does not name."""

from app.model import schema
from tests.helpers import wait_until


def test_every_event_of_a_real_run_fits_the_schema(api):
    clients = api.spawn(2)
    reply = api.send(clients[0], "hi")
    worker = reply["worker_pid"]
    assert api.post(f"/api/processes/{worker}/terminate").status_code == 200
    assert api.post(f"/api/processes/{worker}/join").status_code == 200
    assert api.post(f"/api/clients/{clients[1]}/close").status_code == 200
    assert api.post(f"/api/processes/{clients[1]}/join", json={"timeout": 5}).status_code == 200
    assert api.post("/api/demos/daemon-child", json={}).status_code == 200
    assert api.post("/api/server/restart", json={}).status_code == 200
    # the new server's listening event comes from another process: wait for it
    wait_until(lambda: [e for e in api.events() if e["type"] == "listening"][1:],
               message="the restarted server's listening event")

    events = api.events()
    seen = {e["type"] for e in events}
    assert {"created", "started", "hello", "listening", "accepted", "connected", "echo",
            "served", "signalled", "exited", "reaped", "client_closed", "error"} <= seen
    bad = [(e["seq"], problem) for e in events for problem in schema.problems(e)]
    assert bad == []
