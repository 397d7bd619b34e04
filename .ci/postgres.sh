#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests of mail-store's `postgres` feature and the
# multi-node tests of examples/. Source it (`. .ci/postgres.sh`): it installs Debian's
# PostgreSQL if missing, initdb's a cluster in a temporary folder owned by an unprivileged
# user (postgres if the package made one, else nobody), starts it on 127.0.0.1 and a free
# port, and exports
#   SANSMAIL_TEST_POSTGRES       the URL the tests connect to (trust auth, loopback only);
#   SANSMAIL_TEST_PG_RESTART     a command that restarts the cluster at once (the tests that
#                                check what survives a database restart run it);
#   SANSMAIL_TEST_PG_STOP        a command that stops it (.ci/run runs it on exit).
# Run by hand the same way to test locally: `. .ci/postgres.sh`, then cargo test.

pg_setup() {
  local bindir user dir port sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq postgresql >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
  dir=$(mktemp -d /tmp/sansmail-pg.XXXXXX)
  chmod 755 "$dir"
  mkdir -p "$dir/data" "$dir/sock"
  $sudo chown -R "$user" "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local as="$sudo runuser -u $user --"
  [ "$(id -u)" -eq 0 ] || as="sudo -u $user"
  [ "$(id -un)" = "$user" ] && as=""
  $as "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/sock'
max_connections = 300
shared_buffers = 128MB
EOF
  $as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
  export SANSMAIL_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
  export SANSMAIL_TEST_PG_RESTART="$as $bindir/pg_ctl -D $dir/data -l $dir/log -m immediate -w restart"
  export SANSMAIL_TEST_PG_STOP="$as $bindir/pg_ctl -D $dir/data -m fast -w stop"
  echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)"
}

pg_setup
