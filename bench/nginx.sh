# Sourced by bench/tls.sh and bench/api.sh: the yardstick, nginx-light with
# 2 workers, TLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256, the node's own
# certificate, serving one file for every path.
#   start_nginx WORKDIR PORT CERT KEY FILE   (appends its pid to PIDS)
start_nginx() {
  local w=$1 port=$2 cert=$3 key=$4 file=$5
  mkdir -p "$w/www"; cp "$file" "$w/www/answer.json"
  # nginx's workers run as nobody: they must reach the file (mktemp -d is 0700).
  chmod 0711 "$w"; chmod 0755 "$w/www"; chmod 0644 "$w/www/answer.json"
  cat > "$w/nginx.conf" <<NGX
worker_processes 2;
pid $w/nginx.pid;
error_log $w/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $cert;
    ssl_certificate_key $key;
    ssl_protocols TLSv1.2;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;
    root $w/www;
    location / { try_files /answer.json =404; }
  }
}
NGX
  nginx -c "$w/nginx.conf" -g 'daemon off;' &
  PIDS+=($!)
  sleep 0.5
  # A yardstick that answers 404 measures nothing: refuse to go on.
  local code; code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/")
  [ "$code" = 200 ] || { echo "bench: nginx answers $code, not 200 (see $w/nginx-error.log)"; exit 1; }
}
