#!/usr/bin/env bash
# Installs the real programs printgate's end-to-end tests talk to (see e2e/peer): ipptool and
# ippeveprinter, a cupsd with cups-lpd and the lpd backend, the CUPS clients, Ghostscript, poppler,
# qpdf, Chromium, systemd-socket-activate, dbus-daemon, netcat, PostgreSQL (the second spool
# driver's tests start a private cluster), HAProxy (the several-gateways front door), snmpd and the
# net-snmp clients (the Printer MIB agent the SNMP tests drive); and LPRng's clients unpacked
# privately into .cache/peers/lprng (Debian's lprng package conflicts with cups-client and cups-bsd,
# whose lp and lpadmin the tests need).
#
# Idempotent: when everything is present it only checks and exits. Needs root (or sudo) to install.
# Works without a TTY (DEBIAN_FRONTEND=noninteractive). Exits non-zero naming whatever is missing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lprng_dir="${PRINTGATE_LPRNG_DIR:-$repo/.cache/peers/lprng}"

export DEBIAN_FRONTEND=noninteractive

# program path -> Debian package that ships it
declare -A program_pkg=(
	[/usr/bin/ipptool]=cups-ipp-utils
	[/usr/sbin/ippeveprinter]=cups-ipp-utils
	[/usr/sbin/cupsd]=cups-daemon
	[/usr/lib/cups/daemon/cups-lpd]=cups
	[/usr/lib/cups/backend-available/lpd]=cups
	[/usr/sbin/lpadmin]=cups-client
	[/usr/bin/lp]=cups-client
	[/usr/bin/lpstat]=cups-client
	[/usr/bin/cancel]=cups-client
	[/usr/sbin/cupsenable]=cups-client
	[/usr/bin/gs]=ghostscript
	[/usr/bin/pdfinfo]=poppler-utils
	[/usr/bin/qpdf]=qpdf
	[/usr/bin/chromium]=chromium
	[/usr/bin/systemd-socket-activate]=systemd
	[/usr/bin/dbus-daemon]=dbus-daemon
	[/usr/bin/nc.openbsd]=netcat-openbsd
	[/usr/bin/sha256sum]=coreutils
	[/usr/lib/postgresql/15/bin/postgres]=postgresql
	[/usr/lib/postgresql/15/bin/initdb]=postgresql
	[/usr/sbin/haproxy]=haproxy
	[/usr/sbin/snmpd]=snmpd
	[/usr/bin/snmpget]=snmp
)
# Packages installed as a set even when their programs are present, because the tests rely on
# what they bring (filters, backends, the BSD commands).
base_pkgs=(cups-ipp-utils cups cups-client cups-bsd cups-filters ghostscript poppler-utils qpdf
	chromium systemd dbus-daemon netcat-openbsd fonts-dejavu-core fonts-liberation
	postgresql haproxy snmpd snmp)

lprng_programs=(usr/bin/lpr usr/bin/lpq usr/bin/lprm)

log() { printf 'install-peers: %s\n' "$*" >&2; }

# print_versions prints one "peer package version" line per package the tests use, installed or
# not, so that a red run can be matched to a Debian update of a peer (cups 2.4.2-3+deb12u10
# changed how cupsd opens file: devices). The e2e suite runs this with --versions at its start.
print_versions() {
	local pkg v
	for pkg in "${base_pkgs[@]}" cups-daemon cups-common libcups2; do
		v="$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)"
		printf 'peer %s %s\n' "$pkg" "${v:-not-installed}"
	done
	v="not-unpacked"
	[ -f "$lprng_dir/VERSION" ] && v="$(cat "$lprng_dir/VERSION")"
	printf 'peer lprng %s (clients unpacked in %s)\n' "$v" "$lprng_dir"
}

if [ "${1:-}" = "--versions" ]; then
	print_versions
	exit 0
fi

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		log "need root to run: $*"
		return 1
	fi
}

missing_programs() {
	local p
	for p in "${!program_pkg[@]}"; do
		[ -x "$p" ] || printf '%s\n' "$p"
	done
}

lprng_ok() {
	local p
	for p in "${lprng_programs[@]}"; do
		[ -x "$lprng_dir/$p" ] || return 1
	done
	[ -f "$lprng_dir/VERSION" ] && [ -f /etc/lprng/lpd.conf ] && [ -f /etc/lprng/printcap ]
}

lpd_backend_ok() { [ -x /usr/lib/cups/backend/lpd ]; }

if [ -z "$(missing_programs)" ] && lprng_ok && lpd_backend_ok; then
	log "all peers present"
	print_versions >&2
	exit 0
fi

apt_updated=0
apt_update() {
	if [ "$apt_updated" -eq 0 ]; then
		log "apt-get update"
		as_root apt-get update -q
		apt_updated=1
	fi
}

if [ -n "$(missing_programs)" ]; then
	apt_update
	log "installing: ${base_pkgs[*]}"
	as_root apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${base_pkgs[@]}"
fi

# Debian's cups postinst hard-links the backends chosen in debconf (lpd among the defaults) from
# backend-available into backend; restore the link if a non-default selection left it out.
if ! lpd_backend_ok && [ -x /usr/lib/cups/backend-available/lpd ]; then
	log "enabling CUPS lpd backend"
	as_root ln -f /usr/lib/cups/backend-available/lpd /usr/lib/cups/backend/lpd
fi

if ! lprng_ok; then
	if dpkg-query -W -f='${Status}' lprng 2>/dev/null | grep -q 'install ok installed'; then
		log "the lprng package is installed system-wide; it conflicts with cups-client: remove it (apt-get remove lprng) and re-run"
		exit 1
	fi
	missing_lprng=0
	for p in "${lprng_programs[@]}"; do [ -x "$lprng_dir/$p" ] || missing_lprng=1; done
	[ -f "$lprng_dir/VERSION" ] || missing_lprng=1 # unpacked by an older version of this script
	if [ "$missing_lprng" -eq 1 ]; then
		work="$(mktemp -d)"
		trap 'rm -rf "$work"' EXIT
		chmod 0777 "$work" # apt-get download fetches as user _apt
		if ! (cd "$work" && apt-get download -q lprng); then
			apt_update
			(cd "$work" && apt-get download -q lprng)
		fi
		deb="$(ls "$work"/lprng_*.deb)"
		rm -rf "$lprng_dir.new"
		mkdir -p "$lprng_dir.new"
		dpkg-deb -x "$deb" "$lprng_dir.new"
		dpkg-deb -f "$deb" Version >"$lprng_dir.new/VERSION"
		rm -rf "$lprng_dir"
		mv "$lprng_dir.new" "$lprng_dir"
		log "unpacked $(basename "$deb") into $lprng_dir"
	fi
	# LPRng's clients read /etc/lprng/lpd.conf (the path is compiled in and LPD_CONF is disabled
	# in Debian's build) and need the printcap it names to exist. No installed package owns
	# /etc/lprng, so writing there does not disturb CUPS.
	if [ ! -f /etc/lprng/lpd.conf ] || [ ! -f /etc/lprng/printcap ]; then
		as_root mkdir -p /etc/lprng
		if [ ! -f /etc/lprng/lpd.conf ]; then
			printf '%s\n' \
				'# Written by printgate scripts/install-peers.sh for the LPRng clients unpacked in' \
				'# .cache/peers/lprng (the lprng package itself is not installed: it conflicts with cups).' \
				'printcap_path=/etc/lprng/printcap' | as_root tee /etc/lprng/lpd.conf >/dev/null
		fi
		[ -f /etc/lprng/printcap ] || as_root touch /etc/lprng/printcap
		log "wrote /etc/lprng/lpd.conf and /etc/lprng/printcap"
	fi
fi

# Verify.
problems=()
while IFS= read -r p; do
	[ -n "$p" ] && problems+=("$p (package ${program_pkg[$p]})")
done < <(missing_programs)
lpd_backend_ok || problems+=("/usr/lib/cups/backend/lpd (package cups; enable the lpd backend)")
for p in "${lprng_programs[@]}"; do
	[ -x "$lprng_dir/$p" ] || problems+=("$lprng_dir/$p (LPRng, from apt-get download lprng)")
done
for f in /etc/lprng/lpd.conf /etc/lprng/printcap; do
	[ -f "$f" ] || problems+=("$f (LPRng client configuration)")
done
if [ -x "$lprng_dir/usr/bin/lpr" ] && ldd "$lprng_dir/usr/bin/lpr" | grep -q 'not found'; then
	problems+=("libraries of $lprng_dir/usr/bin/lpr: $(ldd "$lprng_dir/usr/bin/lpr" | grep 'not found' | tr '\n' ' ')")
fi

if [ "${#problems[@]}" -gt 0 ]; then
	log "MISSING after install:"
	printf '  %s\n' "${problems[@]}" >&2
	exit 1
fi
log "all peers present"
print_versions >&2
