"""What the images the course runs ship in their root filesystem (the files lessons look at)."""

from __future__ import annotations

NGINX_INDEX = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

NGINX_50X = """<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
</body>
</html>
"""

NGINX_DEFAULT_CONF = """server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""

ALPINE_RELEASE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'
DEBIAN_RELEASE = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                  'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n')
UBUNTU_RELEASE = ('PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\n'
                  'VERSION="24.04.1 LTS (Noble Numbat)"\nID=ubuntu\nID_LIKE=debian\n')

# a path ending in "/" is a directory
COMMON_DIRS = {"bin/": "", "usr/bin/": "", "var/": "", "home/": ""}

# repository (without registry host and tag) -> files it ships
SHIPPED: dict[str, dict[str, str]] = {
    "nginx": {
        "usr/share/nginx/html/index.html": NGINX_INDEX,
        "usr/share/nginx/html/50x.html": NGINX_50X,
        "etc/nginx/conf.d/default.conf": NGINX_DEFAULT_CONF,
        "etc/os-release": DEBIAN_RELEASE,
    },
    "alpine": {"etc/os-release": ALPINE_RELEASE},
    "debian": {"etc/os-release": DEBIAN_RELEASE},
    "ubuntu": {"etc/os-release": UBUNTU_RELEASE},
    "python": {"etc/os-release": DEBIAN_RELEASE},
    "redis": {"etc/os-release": DEBIAN_RELEASE, "data/": ""},
    "postgres": {"etc/os-release": DEBIAN_RELEASE, "var/lib/postgresql/data/": ""},
}


def repository(image: str) -> str:
    """`docker.io/library/nginx:1.27@sha256:...` -> `nginx`; `ghcr.io/a/b:1` -> `a/b`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def shipped_files(image: str) -> dict[str, str]:
    files = dict(COMMON_DIRS)
    files.update(SHIPPED.get(repository(image), {}))
    return files
