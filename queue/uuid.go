package queue

import (
	"crypto/sha256"
	"fmt"
)

// VirtualUUID derives a virtual printer's printer-uuid (urn:uuid form, RFC 4122 version 5
// layout) from the gateway's host name, its spool directory and the printer's name: the same
// across restarts without a stored table, different between installations and printers.
func VirtualUUID(host, spool, name string) string {
	h := sha256.Sum256([]byte("printgate\x00" + host + "\x00" + spool + "\x00" + name))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
