"""deploy/nginx.conf: what it routes where, that nginx accepts it, and that it works in front of
Pressroom (nginx from Debian's package; .ci/run installs it, like chromium and wrk)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

from tests.processes import WebServer, wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIG = BASE_DIR / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
MEDIA_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
NGINX_PORTS = (18510, 18511)  # this test's HTTP and HTTPS ports on 127.0.0.1


def _blocks(text: str) -> dict[str, str]:
    """`location` bodies of the config by path (no nesting inside them in this file)."""
    text = re.sub(r"#[^\n]*", "", text)
    return {m.group(1): m.group(2) for m in re.finditer(r"location\s+(\S+)\s*\{([^{}]*)\}", text)}


def test_each_path_goes_where_the_readme_says():
    text = re.sub(r"#[^\n]*", "", CONFIG.read_text())
    locations = _blocks(text)
    assert set(locations) == {"/static/", "/media/", "/ws/", "/"}
    assert re.search(r"upstream pressroom_web \{\s*server 127\.0\.0\.1:8000;", text)  # make serve's PORT
    assert re.search(r"upstream pressroom_ws \{\s*server 127\.0\.0\.1:8001;", text)  # PRESSROOM_WS_PORT

    ws = locations["/ws/"]
    assert "proxy_pass http://pressroom_ws;" in ws and "proxy_http_version 1.1;" in ws
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_set_header Connection $connection_upgrade;" in ws
    for path in ("/", "/media/"):
        assert "proxy_pass http://pressroom_web;" in locations[path]
    for path in ("/", "/media/", "/ws/"):
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in locations[path]
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in locations[path]
        assert "proxy_set_header Host $host;" in locations[path]

    static = locations["/static/"]
    assert re.search(r"alias \S+/static/;", static) and "proxy_pass" not in static
    assert 'add_header Cache-Control "public, max-age=31536000, immutable" always;' in static
    media = locations["/media/"]
    assert 'add_header X-Content-Type-Options "nosniff" always;' in media
    assert f'add_header Content-Security-Policy "{MEDIA_POLICY}" always;' in media
    assert "alias" not in media and "root" not in media  # visibility is Pressroom's decision


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True, timeout=60)
    return cert, key


def _local_config(folder: Path, *, web_port: int = 8000, ws_port: int = 8001, static_root: Path | None = None) -> Path:
    """The sample with this machine's paths and ports: a test certificate, loopback ports in the
    test's range, logs in `folder`."""
    cert, key = _certificate(folder)
    http_port, https_port = NGINX_PORTS
    text = CONFIG.read_text()
    replacements = {
        "/etc/ssl/pressroom/fullchain.pem": str(cert), "/etc/ssl/pressroom/privkey.pem": str(key),
        "/srv/pressroom/var/static/": f"{static_root or folder}/",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{web_port};",
        "server 127.0.0.1:8001;": f"server 127.0.0.1:{ws_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};", "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;", "listen [::]:443 ssl http2;": "",
        "http {": (f"http {{\n    access_log {folder}/access.log;\n    client_body_temp_path {folder}/body;\n"
                   f"    proxy_temp_path {folder}/proxy;"),  # not /var/lib/nginx: runs without root too
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


def test_slow_clients_and_one_address_are_bounded():
    """A request trickled a byte at a time holds an nginx connection for a bounded time and never an
    app server's worker, and one client address cannot hold every connection."""
    text = re.sub(r"#[^\n]*", "", CONFIG.read_text())
    for directive in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert re.search(rf"\b{directive} \d+s;", text), directive
    assert "proxy_request_buffering off" not in text  # nginx hands the app servers whole requests
    assert "limit_conn_zone $binary_remote_addr zone=per_address:" in text
    assert re.search(r"server \{[^}]*listen 443[^}]*limit_conn per_address \d+;", text)


@needs_nginx
def test_nginx_accepts_the_configuration(tmp_path):
    config = _local_config(tmp_path)
    result = subprocess.run([NGINX, "-t", "-e", str(tmp_path / "error.log"), "-c", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def _https(path: str, headers: dict | None = None):
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = Request(f"https://127.0.0.1:{NGINX_PORTS[1]}{path}", headers={"Host": "localhost", **(headers or {})})
    try:
        with urlopen(request, timeout=10, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except Exception as error:  # HTTPError carries the answer
        if hasattr(error, "code"):
            return error.code, dict(error.headers), error.read()
        raise


def _websocket_handshake_status(path: str) -> int:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", NGINX_PORTS[1]), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                     "Origin: https://localhost\r\n\r\n").encode())
        status_line = tls.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


@needs_nginx
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_nginx_in_front_of_pressroom_routes_pages_static_media_and_websockets(tmp_path):
    """One Daphne stands in for both upstreams (it serves HTTP and WebSocket)."""
    static_root = tmp_path / "static"
    (static_root / "publishing").mkdir(parents=True)
    (static_root / "publishing" / "blog.0123abcd.css").write_text("body{}")
    server = WebServer(tmp_path, name="upstream", port=18512,
                       env={"PRESSROOM_TRUSTED_PROXIES": "127.0.0.1", "SECURE_PROXY_SSL_HEADER": "1",
                            "ALLOWED_HOSTS": "localhost,127.0.0.1"})
    config = _local_config(tmp_path, web_port=server.port, ws_port=server.port, static_root=static_root)
    nginx = subprocess.Popen(
        [NGINX, "-e", str(tmp_path / "error.log"), "-c", str(config),
         "-g", f"daemon off; pid {tmp_path}/nginx.pid; user root;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        server.wait_until_ready()
        wait_for(lambda: nginx.poll() is not None or _port_open(NGINX_PORTS[1]), timeout=15, message="nginx")
        assert nginx.poll() is None, nginx.stderr.read().decode()

        assert _https("/healthz")[0] == 200

        status, headers, body = _https("/static/publishing/blog.0123abcd.css")
        assert status == 200 and body == b"body{}"
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"

        status, headers, _ = _https("/media/posts/nothing.svg")
        assert status == 404  # Pressroom's answer: no post names it
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"] == MEDIA_POLICY

        # Upgraded by nginx, Daphne answers the handshake itself (refused: nobody signed in);
        # without the Upgrade headers it would be a plain GET and Django's 404.
        assert _websocket_handshake_status("/ws/tasks") in {101, 403}

        # Pages come from Pressroom with the scheme nginx saw (X-Forwarded-Proto, trusted from 127.0.0.1).
        status, _, body = _https("/")
        assert status == 200 and b'<link rel="canonical" href="https://localhost/">' in body
    finally:
        if nginx.poll() is None:
            nginx.terminate()
            nginx.wait(timeout=10)
        server.stop()


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
