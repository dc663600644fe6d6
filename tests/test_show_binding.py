"""`show()` on another loopback address, and on a port whose previous dashboard just stopped.

Real servers and real HTTP clients: the Host-header check answers the dashboard's own URL (and still
refuses a foreign name), and the check that an explicit port is free is not fooled by the sockets a
stopped dashboard leaves in TIME_WAIT, while a port some server listens on is still refused.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import anyio
import httpx2 as httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import trackio_callback as trackio
from tests.helpers import spawn_cli
from trackio_callback import TrackioError
from trackio_callback.server.show import show

OTHER_LOOPBACK = "127.0.0.2"  # Linux answers the whole 127.0.0.0/8 on the loopback interface


@pytest.fixture
def one_project(store_dir: Path) -> Path:
    run = trackio.init(project="p", name="r", dir=store_dir)
    run.log({"train/loss": 0.5}, step=0)
    run.finish()
    return store_dir


def _serve(directory: Path, **kwargs):
    return show(dir=directory, open_browser=False, block=False, **kwargs)


async def _mcp_projects(url: str) -> list[str]:
    async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        result = await session.call_tool("get_all_projects", {})
        assert not result.is_error, result.content[0].text
        return [project["name"] for project in json.loads(result.content[0].text)["projects"]]


def test_a_dashboard_on_another_loopback_address_answers_its_own_url(one_project):
    with _serve(one_project, host=OTHER_LOOPBACK, port=0, mcp_server=True) as dashboard:
        assert dashboard.url == f"http://{OTHER_LOOPBACK}:{dashboard.port}/"
        with httpx.Client(base_url=dashboard.url, trust_env=False, timeout=30) as client:
            page = client.get("/")
            assert page.status_code == 200, page.text
            assert client.get("/api/projects").json()["projects"] == ["p"]
            for name in (OTHER_LOOPBACK, f"{OTHER_LOOPBACK}:{dashboard.port}", f"localhost:{dashboard.port}"):
                assert client.get("/api/projects", headers={"Host": name}).status_code == 200, name
            # DNS rebinding: a foreign name pointed at this address is still refused.
            for foreign in ("attacker.example", f"attacker.example:{dashboard.port}"):
                assert client.get("/api/projects", headers={"Host": foreign}).status_code == 400, foreign
            mcp_url = dashboard.url + "gradio_api/mcp/"
            assert anyio.run(_mcp_projects, mcp_url) == ["p"]
            refused = client.post(
                mcp_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Host": f"attacker.example:{dashboard.port}", "Accept": "application/json, text/event-stream"},
            )
            assert refused.status_code == 400, refused.text


def _hold_a_served_connection(dashboard) -> http.client.HTTPConnection:
    """A keep-alive connection that got an answer: the server side holds its socket until it closes it."""
    connection = http.client.HTTPConnection(dashboard.host, dashboard.port, timeout=30)
    connection.request("GET", "/api/projects")
    response = connection.getresponse()
    assert response.status == 200 and response.read()
    return connection


def test_a_port_is_free_again_as_soon_as_its_dashboard_stopped(one_project):
    first = _serve(one_project, port=0)
    port = first.port
    connection = _hold_a_served_connection(first)
    first.close()  # the server closes the connection first: its side lingers (FIN_WAIT_2, then TIME_WAIT)
    connection.close()
    with _serve(one_project, port=port) as second:
        assert second.port == port
        with httpx.Client(base_url=second.url, trust_env=False, timeout=30) as client:
            assert client.get("/api/projects").status_code == 200
        # A port a live server listens on is still refused, naming it.
        with pytest.raises(TrackioError, match=rf"port {port} on 127\.0\.0\.1 is in use"):
            _serve(one_project, port=port)


def test_cli_show_takes_the_port_of_a_dashboard_that_just_stopped(one_project):
    first = _serve(one_project, port=0)
    port = first.port
    connection = _hold_a_served_connection(first)
    first.close()
    connection.close()
    process = spawn_cli("--dir", str(one_project), "show", "--no-browser", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/projects", trust_env=False, timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        assert process.poll() is None, process.communicate(timeout=30)[0]
        assert answer.status_code == 200 and answer.json()["projects"] == ["p"]
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"dashboard: http://127.0.0.1:{port}/" in output and "Traceback" not in output


# uvicorn's server thread ends with SystemExit when its bind fails: that is the failure being handled.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_port_taken_between_choosing_and_binding_it_is_chosen_again(one_project, monkeypatch):
    """Two `show()` at once both find 7860 free; the one that loses the bind takes the next free port."""
    import socket

    from trackio_callback.server import show as show_module

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    real_free_port, calls = show_module._free_port, []

    def raced(host, port):  # the first choice is the port another process has just bound
        calls.append(port)
        return taken.getsockname()[1] if len(calls) == 1 else real_free_port(host, port)

    monkeypatch.setattr(show_module, "_free_port", raced)
    try:
        with show(dir=one_project, open_browser=False, block=False, mcp_server=True) as dashboard:
            assert dashboard.port != taken.getsockname()[1] and len(calls) == 2
            with httpx.Client() as client:
                assert client.get(dashboard.url + "api/projects").json()["projects"] == ["p"]
    finally:
        taken.close()
    with pytest.raises(TrackioError, match="did not start"), monkeypatch.context() as patch:
        patch.setattr(show_module, "_free_port", lambda host, port: port)  # an explicit port is not changed
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            held.listen()
            show(dir=one_project, open_browser=False, block=False, port=held.getsockname()[1])
