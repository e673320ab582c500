// Package capread caps how much a reader yields: what a client sends (an LPD job, a raw-port
// job, an IPP attribute section or document) and what a printer answers must not fill the
// gateway's memory or disk.
package capread

import "io"

// Reader passes R through up to N bytes and fails with TooLarge past that (setting Over):
// exactly N bytes are allowed, the N+1st is not.
type Reader struct {
	R        io.Reader
	N        int64
	TooLarge error
	Over     bool
}

func (c *Reader) Read(p []byte) (int, error) {
	if c.N <= 0 {
		// One more byte would be over: find out whether it exists.
		var one [1]byte
		n, err := c.R.Read(one[:])
		if n > 0 {
			c.Over = true
			return 0, c.TooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.N {
		p = p[:c.N]
	}
	n, err := c.R.Read(p)
	c.N -= int64(n)
	return n, err
}
