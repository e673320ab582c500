#!/usr/bin/env bash
# Checks the package layout docs/ARCHITECTURE.md promises: the job model, the front-ends, the
# printers, config and document build without cgo (they link no database), and the scheduler
# does not depend on the SQLite driver (it declares the Store it needs). Exits non-zero naming
# what broke.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
cgo_free=(./job ./policy ./ipp ./lpd ./raw ./printers ./config ./document ./document/convert)
if ! CGO_ENABLED=0 go build "${cgo_free[@]}"; then
	echo "check-layout: ${cgo_free[*]} must build with CGO_ENABLED=0 (something there imports the SQLite driver)" >&2
	status=1
fi
for pkg in ./job ./queue ./ipp ./lpd ./raw ./printers ./config ./document; do
	if go list -deps "$pkg" | grep -qx 'github.com/mattn/go-sqlite3'; then
		echo "check-layout: $pkg depends on github.com/mattn/go-sqlite3; only spool and cmd/printgate may" >&2
		status=1
	fi
done
# PostgreSQL is pgspool's (the driver) and cluster's (leases, leader, LISTEN/NOTIFY) alone:
# nothing below cmd/printgate but those two (and the test harness internal/pgtest) links pgx,
# and pgspool does not link SQLite.
for pkg in ./job ./queue ./ipp ./lpd ./raw ./printers ./config ./document ./spool ./ui; do
	if go list -deps "$pkg" | grep -q '^github.com/jackc/pgx/v5'; then
		echo "check-layout: $pkg depends on github.com/jackc/pgx/v5; only pgspool, cluster, internal/pgtest and cmd/printgate may" >&2
		status=1
	fi
done
if go list -deps ./pgspool | grep -qx 'github.com/mattn/go-sqlite3'; then
	echo "check-layout: pgspool depends on github.com/mattn/go-sqlite3" >&2
	status=1
fi
if ! CGO_ENABLED=0 go build ./pgspool; then
	echo "check-layout: pgspool must build with CGO_ENABLED=0 (pure-Go pgx, no SQLite)" >&2
	status=1
fi
# The cluster (leases, leader, LISTEN/NOTIFY) implements queue.Coordinator; queue declares the
# seam and must not depend on it or on pgx.
if go list -deps ./queue | grep -qE '^(github.com/printgate/printgate/cluster|github.com/jackc/pgx/v5)$'; then
	echo "check-layout: queue depends on package cluster or pgx; it declares queue.Coordinator and cmd/printgate passes one in" >&2
	status=1
fi
[ "$status" -eq 0 ] && echo "check-layout: job, front-ends, printers, config and document are cgo-free; queue links no database and not cluster; pgx only in pgspool and cluster"
exit "$status"
