//go:build peers

package document

// gsRequired: under the peers tag Ghostscript is one of the installed peers
// (scripts/install-peers.sh), and a missing gs fails the raster tests instead of skipping them.
const gsRequired = true
