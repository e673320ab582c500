//go:build !peers

package document

// gsRequired: without the peers tag the raster tests skip where Ghostscript is not installed.
const gsRequired = false
