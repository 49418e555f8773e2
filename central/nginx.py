"""The nginx configuration for production serving of the published tree.

Any static HTTP server or CDN serves vicheck feeds; this is the one we ship and
test. What matters: files as stored (no gzip re-encoding, since feed files are
already gzip and their SHA-256 covers those bytes), byte ranges and ETags (nginx
does both for static files), ``no-cache`` on the two files that change in place,
and a year of caching for the versioned ones, which never change.
"""

from __future__ import annotations

from pathlib import Path

from audit.wire import MAX_BODY_BYTES
from central.audit import BODY_TIMEOUT
from central.auditcli import DEFAULT_AUDIT_PORT

AUDIT_UPSTREAM = f"127.0.0.1:{DEFAULT_AUDIT_PORT}"
"""Where ``central audit serve`` listens by default."""

SERVER_BLOCK = """\
server {{
    listen {listen};
    root {root};
    autoindex off;
    gzip off;
    etag on;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    types {{ }}

    location = /trustlist.cose {{ add_header Cache-Control "no-cache" always; }}
    location ~ "^/feeds/[a-z0-9-]{{1,32}}/manifest\\.cose$" {{
        add_header Cache-Control "no-cache" always;
    }}
    location ~ "^/feeds/[a-z0-9-]{{1,32}}/[A-Za-z0-9._-]+\\.cbor\\.gz$" {{
        add_header Cache-Control "public, max-age=31536000, immutable" always;
    }}
    location ~ /\\. {{ return 404; }}
    location / {{ return 404; }}

    # Audit uploads from terminals, to `vicheck central audit serve` (uvicorn).
    location /audit/ {{
        limit_except POST {{ deny all; }}
        client_max_body_size {max_body};
        client_body_timeout {body_timeout}s;
        proxy_request_buffering on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_read_timeout {body_timeout}s;
        proxy_pass http://{audit};
    }}
}}
"""

STANDALONE = """\
# vicheck feed server: nginx -p {prefix} -c {conf}
{user}worker_processes {workers};
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{server}}}
"""


def server_block(root: Path, listen: str = "127.0.0.1:8080", audit: str = AUDIT_UPSTREAM) -> str:
    """The ``server {}`` block to drop into an existing nginx (``conf.d``); ``audit``
    is the host:port of ``central audit serve``, which nginx proxies uploads to,
    under the same body bound and deadline as the app itself."""
    return SERVER_BLOCK.format(
        listen=listen,
        root=Path(root).resolve(),
        audit=audit,
        max_body=MAX_BODY_BYTES,
        body_timeout=BODY_TIMEOUT,
    )


def standalone(
    root: Path,
    prefix: Path,
    listen: str = "127.0.0.1:8080",
    *,
    workers: int = 2,
    user: str | None = None,
    audit: str = AUDIT_UPSTREAM,
) -> str:
    """A whole ``nginx.conf`` that runs in the foreground from ``prefix`` (tests,
    single-purpose hosts). ``user`` names the worker user when started as root."""
    lines = server_block(root, listen, audit).splitlines()
    block = "".join(f"    {line}\n" if line else "\n" for line in lines)
    return STANDALONE.format(
        prefix=Path(prefix).resolve(),
        conf=Path(prefix).resolve() / "nginx.conf",
        workers=workers,
        user=f"user {user};\n" if user else "",
        server=block,
    )
