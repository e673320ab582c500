// Package peer starts and drives the real programs that printgate's end-to-end tests talk to:
// ippeveprinter as simulated physical printers, a private cupsd with cups-lpd in front of it,
// CUPS' lpd backend, LPRng's client programs, ipptool, raw socket sinks and Chromium.
//
// Every helper takes a testing.TB, runs its processes in their own process group, and stops and
// waits for them in t.Cleanup with bounded waits. A missing peer is a test failure (t.Fatalf)
// naming scripts/install-peers.sh, never a skip: a suite that silently skips its real peers
// proves nothing.
//
// Facts about the peers that shape these helpers (measured on Debian 12, CUPS 2.4.2):
//   - ippeveprinter exits with "Unable to initialize DNS-SD" when no D-Bus system bus is
//     reachable, even with "-r off"; each IPPEve therefore gets a private dbus-daemon and
//     DBUS_SYSTEM_BUS_ADDRESS pointing at it.
//   - ippeveprinter only reads STATE:/ATTR: lines while its print command runs, and it will not
//     start a job while media-empty is set; see IPPEve.SetMediaEmpty for how the stopped state is
//     made visible and cleared.
//   - A cupsd queue made with "-m raw" and a file: device URI writes nothing at all (no filter and
//     no backend runs), so file queues here use a pass-through filter instead.
//   - LPRng's clients refuse to run without /etc/lprng/lpd.conf and the printcap it names; the
//     LPD_CONF variable is compiled out. scripts/install-peers.sh writes both.
package peer
