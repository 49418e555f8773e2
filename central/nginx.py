"""The nginx configuration for production serving of the published tree.

Any static HTTP server or CDN serves vicheck feeds; this is the one we ship and
test. What matters: files as stored (no gzip re-encoding, since feed files are
already gzip and their SHA-256 covers those bytes), byte ranges and ETags (nginx
does both for static files), ``no-cache`` on the two files that change in place,
and a year of caching for the versioned ones, which never change.
"""

from __future__ import annotations

from pathlib import Path

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


def server_block(root: Path, listen: str = "127.0.0.1:8080") -> str:
    """The ``server {}`` block to drop into an existing nginx (``conf.d``)."""
    return SERVER_BLOCK.format(listen=listen, root=Path(root).resolve())


def standalone(
    root: Path,
    prefix: Path,
    listen: str = "127.0.0.1:8080",
    *,
    workers: int = 2,
    user: str | None = None,
) -> str:
    """A whole ``nginx.conf`` that runs in the foreground from ``prefix`` (tests,
    single-purpose hosts). ``user`` names the worker user when started as root."""
    block = "".join(
        f"    {line}\n" if line else "\n" for line in server_block(root, listen).splitlines()
    )
    return STANDALONE.format(
        prefix=Path(prefix).resolve(),
        conf=Path(prefix).resolve() / "nginx.conf",
        workers=workers,
        user=f"user {user};\n" if user else "",
        server=block,
    )
