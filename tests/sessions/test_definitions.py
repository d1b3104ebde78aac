"""Reading a pipeline's `services`: command lines as argument lists, as Orchest means them."""

import pytest

from jupyter_orchest.sessions.containers import docker_command
from jupyter_orchest.sessions.definitions import (
    BadService,
    ServiceDefinition,
    ServiceDefinitionError,
    read_service,
    services_in_scope,
)


def test_commands_are_split_as_a_shell_would_and_never_run_by_one() -> None:
    web = read_service(
        "web", {"image": "img", "command": "bash", "args": "-c 'umask 002 && serve --all'"}
    )
    assert web.argv == ["bash", "-c", "umask 002 && serve --all"]
    # Orchest's `command` replaces the image's entrypoint; `args` are its arguments.
    assert docker_command(web) == (["bash"], ["-c", "umask 002 && serve --all"])
    # Files from before Orchest ran on Kubernetes: `entrypoint`, then `command`.
    old = read_service(
        "old", {"image": "img", "entrypoint": "python3 -m", "command": "http.server"}
    )
    assert docker_command(old) == (["python3", "-m"], ["http.server"])
    assert docker_command(read_service("plain", {"image": "img"})) == (None, None)
    assert docker_command(read_service("args", {"image": "img", "args": "--x 1"})) == (
        None,
        ["--x", "1"],
    )
    hostile = read_service("h", {"image": "img", "command": "echo $(rm -rf /); ls"})
    assert hostile.argv == ["echo", "$(rm", "-rf", "/);", "ls"]


def test_inherited_variables_come_from_the_server_and_win() -> None:
    service = read_service(
        "s",
        {
            "image": "img",
            "env_variables": {"MODE": "own", "KEPT": "yes"},
            "env_variables_inherit": ["MODE", "ABSENT"],
        },
    )
    assert service.environment({"MODE": "server", "OTHER": "no"}) == {
        "MODE": "server",
        "KEPT": "yes",
    }


@pytest.mark.parametrize(
    ("raw", "mentioned"),
    [
        ({"binds": {"/home": "/x"}}, "/home"),
        ({"binds": {"/data": "relative"}}, "absolute path"),
        ({"command": "say 'hi"}, "quotes"),
        ({"ports": [0]}, "port numbers"),
        ({"ports": ["80"]}, "port numbers"),
        ({"env_variables": {"1BAD": "x"}}, "1BAD"),
        ({"env_variables_inherit": "HOME"}, "list of variable names"),
        ({"image": 3}, "`image`"),
    ],
)
def test_what_cannot_run_says_what_to_fix(raw: dict[str, object], mentioned: str) -> None:
    with pytest.raises(ServiceDefinitionError, match=mentioned):
        read_service("s", {"image": "img", **raw})


def test_services_of_a_scope_in_their_order_with_the_bad_ones_named() -> None:
    definition = {
        "services": {
            "b": {"name": "b", "image": "i", "scope": ["interactive"], "order": 2},
            "a": {"name": "a", "image": "i", "scope": ["interactive"], "order": 1},
            "job": {"name": "job", "image": "i", "scope": ["noninteractive"], "order": 0},
            "both": {"name": "both", "image": "i", "order": 3},  # no scope: both, as in Orchest
            "Bad": {"name": "Bad", "image": "i", "command": "x y", "scope": ["interactive"]},
        }
    }
    found = services_in_scope(definition, "interactive")
    assert [service.name for service in found] == ["Bad", "a", "b", "both"]
    bad = found[0]
    assert isinstance(bad, BadService) and bad.command_line == "x y" and "Bad" in bad.message
    assert all(isinstance(service, ServiceDefinition) for service in found[1:])
    assert [service.name for service in services_in_scope(definition, "noninteractive")] == [
        "job",
        "both",
    ]
    assert services_in_scope({}, "interactive") == []
