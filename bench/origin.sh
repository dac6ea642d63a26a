# SPDX-License-Identifier: AGPL-3.0-or-later
# Sourced by the bench scripts that start their own tunnel: a scratch directory cleaned up on
# exit, and the origin they forward to, nginx with one worker (bench/run.sh uses only the
# configuration, to which it adds an upload sink).
#
#   make_scratch NAME       T=/tmp/nexus-NAME.XXXXXX (readable by nginx's workers); on exit
#                           every pid in PIDS is killed and T removed
#   nginx_conf DIR PORT [SERVER_EXTRA]  prints the configuration (see below)
#   start_nginx DIR PORT    serves DIR/www on 127.0.0.1:PORT; config, pid and logs in DIR/nginx

make_scratch() {
    T=$(mktemp -d "/tmp/nexus-$1.XXXXXX")
    chmod 755 "$T"
    PIDS=()
    trap cleanup_scratch EXIT
}

cleanup_scratch() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}

# The configuration of the origin: DIR/www on 127.0.0.1:PORT, temporary files in DIR/nginx,
# SERVER_EXTRA (optional) added inside the server block.
nginx_conf() {
    local dir=$1 port=$2 extra=${3:-}
    cat <<EOF
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 60s; default_type application/octet-stream;
    client_body_temp_path $dir/nginx; proxy_temp_path $dir/nginx; fastcgi_temp_path $dir/nginx;
    uwsgi_temp_path $dir/nginx; scgi_temp_path $dir/nginx;
    server {
        listen 127.0.0.1:$port default_server;
        root $dir/www;
$extra
    }
}
EOF
}

start_nginx() {
    local dir=$1 port=$2
    mkdir -p "$dir/nginx"
    nginx_conf "$dir" "$port" > "$dir/nginx.conf"
    nginx -c "$dir/nginx.conf" -p "$dir/nginx" -e "$dir/nginx/error.log"
}
