"""`neighsim serve`: the workbench's web server (Solara on uvicorn), local by default.

It listens on 127.0.0.1 unless `--host` names another address; a host that is not loopback is refused
unless it was given explicitly (`explicit=True`: the `--host` flag), and even then the console says that
anyone who can reach it can run simulations. Nothing leaves the machine: Solara's telemetry is off, its
page scripts come from the installed `solara-assets` package (checked at start; the server never fetches
them from a CDN), and each start has its own session secret.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import socket
import sys
import threading
import time
import warnings
from pathlib import Path

from ..errors import NeighsimError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP = "neighsim.workbench.app"


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) only ever means this machine."""
    h = host.strip().strip("[]")
    if h.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        pass
    try:
        addrs = {info[4][0] for info in socket.getaddrinfo(h, None)}
    except OSError:
        return False
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def check_bind(host: str | None, explicit: bool) -> str:
    """The address to listen on: 127.0.0.1 unless a host was given; a non-loopback host only when given
    explicitly (the --host flag), never from anywhere else."""
    bind = DEFAULT_HOST if host is None else str(host).strip()
    if not bind:
        raise NeighsimError("--host: empty address")
    if not is_loopback(bind) and not explicit:
        raise NeighsimError(f"refusing to listen on {bind!r}, which other machines can reach: the workbench runs "
                            "simulations for whoever connects. Give --host explicitly to mean it")
    return bind


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port(host: str, port: int) -> None:
    """A clear error when the address cannot be bound (in use, or not this machine's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise NeighsimError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
                                "(0: any free port)" + ("" if host == DEFAULT_HOST else " or --host")) from None


def _settings_env() -> None:
    """Solara reads these when it is imported: no telemetry, no CDN, a fresh session secret, production
    mode (no tracebacks in the page)."""
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_SESSION_SECRET_KEY"] = secrets.token_urlsafe(32)
    os.environ["SOLARA_MODE"] = "production"
    os.environ["SOLARA_THEME_SHOW_BANNER"] = "False"
    os.environ["SOLARA_THEME_TITLE"] = "neighsim workbench"
    os.environ["SOLARA_ASSETS_PROXY"] = "True"
    os.environ["SOLARA_ASSETS_CDN"] = "http://127.0.0.1:9/"  # a missing asset fails here, never goes outside
    os.environ["SOLARA_APP"] = APP


def missing_assets() -> list[str]:
    """The page's scripts and styles that Solara's template asks for and the installed assets lack."""
    import ipyvue
    import solara.server.settings as ss

    cdn = Path(ss.assets.proxy_cache_dir)
    template = Path(ss.__file__).parent / "templates" / "solara.html.j2"
    text = template.read_text(encoding="utf-8") if template.is_file() else ""
    vue3 = ipyvue.__version__.startswith("3")
    app = r"@widgetti/solara-vuetify3-app@[\d.]+" if vue3 else r"@widgetti/solara-vuetify-app@[\d.]+"
    wanted = sorted(set(re.findall(app, text)) | set(re.findall(r"requirejs@[\d.]+", text)))
    return [w for w in wanted if not (cdn / w).is_dir()]


def serve(host: str | None = None, port: int = DEFAULT_PORT, *, explicit_host: bool = False,
          cache_dir: str | Path = "out/workbench", config: str | None = None, keep: int = 50,
          quiet: bool = False) -> int:
    """Start the workbench and serve until interrupted (Ctrl-C). Returns 0."""
    bind = check_bind(host, explicit_host)
    if not 0 <= int(port) <= 65535:
        raise NeighsimError(f"--port: expected 0 to 65535, got {port}")
    port = free_port(bind) if int(port) == 0 else int(port)
    check_port(bind, port)
    _settings_env()
    try:
        import solara  # noqa: F401
        import uvicorn
    except ImportError as exc:  # pragma: no cover - installed with neighsim
        raise NeighsimError(f"the workbench needs solara ({exc.name} is not installed): pip install -e .") from None
    lacking = missing_assets()
    if lacking:
        raise NeighsimError(f"the web page's scripts are not installed ({', '.join(lacking)}): install them with "
                            "`pip install solara-assets 'ipyvuetify<3'` (see docs/workbench.md)")
    from .jobs import configure

    wb = configure(cache_dir, config, keep)
    url = f"http://{bind if ':' not in bind else f'[{bind}]'}:{port}"
    server = uvicorn.Server(uvicorn.Config("solara.server.starlette:app", host=bind, port=port, log_level="warning",
                                           ws_max_size=64 * 2**20))

    def announce() -> None:
        while not server.started:
            if getattr(server, "should_exit", False):
                return
            time.sleep(0.05)
        print(f"neighsim workbench at {url}  (Ctrl-C to stop)", flush=True)
        if not is_loopback(bind):
            print(f"neighsim serve: warning: listening on {bind}: anyone who can reach this address can run "
                  "simulations and read their results", file=sys.stderr, flush=True)
        if not quiet:
            print(f"Runs are cached in {wb.cache_dir} (the newest {wb.keep} are kept)", flush=True)

    # the session cookie stays SameSite=lax over plain http on loopback, as wanted (the page is never embedded)
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    threading.Thread(target=announce, daemon=True).start()
    wb.warm_up()
    try:
        server.run()
    finally:
        wb.shutdown()
    return 0
