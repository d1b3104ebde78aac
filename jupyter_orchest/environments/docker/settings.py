"""What containers of this backend get besides their image: the host's CA bundle, pip
configuration and proxy variables when configured, and, for steps and kernels, the SDK, a
home folder and the server's user."""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.types import DeviceRequest, Mount

from . import layout

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
CA_VARIABLES = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")
"""Where pip, requests, Python's ssl module (and OpenSSL) and curl look for a CA bundle."""
HOME_SIZE = "512m"


@dataclass(frozen=True)
class Carried:
    """What the host lends containers so that they reach a package index, e.g. behind a
    TLS-intercepting proxy: a CA bundle, a pip configuration file, the proxy variables."""

    ca_bundle: Path | None = None
    pip_config: Path | None = None
    carry_proxy: bool = False

    def mounts(self) -> list[Mount]:
        mounts = []
        if self.ca_bundle is not None:
            mounts.append(read_only(self.ca_bundle, layout.CA_BUNDLE))
        if self.pip_config is not None:
            mounts.append(read_only(self.pip_config, layout.PIP_CONFIG))
        return mounts

    def variables(self) -> dict[str, str]:
        variables = {}
        if self.ca_bundle is not None:
            variables.update(dict.fromkeys(CA_VARIABLES, str(layout.CA_BUNDLE)))
        if self.pip_config is not None:
            variables["PIP_CONFIG_FILE"] = str(layout.PIP_CONFIG)
        if self.carry_proxy:
            variables.update(
                {name: os.environ[name] for name in PROXY_VARIABLES if name in os.environ}
            )
        return variables


def read_only(host: Path, container: object) -> Mount:
    return Mount(str(container), str(host), type="bind", read_only=True)


def writable(host: Path, container: object) -> Mount:
    return Mount(str(container), str(host), type="bind", read_only=False)


def image_environment(image_attrs: Mapping[str, Any]) -> dict[str, str]:
    """An image's own variables (`Config.Env`), as a mapping."""
    config = image_attrs.get("Config") or {}
    pairs = (entry.partition("=") for entry in config.get("Env") or [])
    return {name: value for name, _, value in pairs}


def server_user() -> str:
    """`uid:gid` of this process: files steps write into the project stay the user's."""
    return f"{os.getuid()}:{os.getgid()}"


@dataclass(frozen=True)
class StepContainers:
    """What every container that runs steps or kernels gets: the SDK (read-only, importable),
    a home folder, the server's user, carried settings, GPUs when asked for, and the network
    of an interactive session when there is one (its services are reached by name there)."""

    sdk_dir: Path
    carried: Carried
    gpu: bool
    network: str | None = None

    def environment(self, image_env: Mapping[str, str]) -> dict[str, str]:
        """The container's whole environment: the image's variables and these."""
        python_path = [str(layout.SDK_DIR), *filter(None, [image_env.get("PYTHONPATH")])]
        return {
            **image_env,
            "PATH": image_env.get("PATH", layout.DEFAULT_PATH),
            "HOME": str(layout.HOME),
            "PYTHONPATH": ":".join(python_path),
            **self.carried.variables(),
        }

    def mounts(self) -> list[Mount]:
        return [read_only(self.sdk_dir, layout.SDK_DIR), *self.carried.mounts()]

    def host_config(self) -> dict[str, Any]:
        """Arguments of `APIClient.create_host_config`."""
        options: dict[str, Any] = {"tmpfs": {str(layout.HOME): f"mode=1777,size={HOME_SIZE}"}}
        if self.gpu:
            options["device_requests"] = [DeviceRequest(count=-1, capabilities=[["gpu"]])]
        if self.network is not None:
            options["network_mode"] = self.network
        return options


def mounts_for(project: layout.ProjectMounts) -> Sequence[Mount]:
    """The project and data folders, writable."""
    return [writable(host, container) for host, container in project.pairs()]
