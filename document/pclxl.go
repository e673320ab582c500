// Page counting for PCL XL (PCL 6) and Apple raster (URF): the formats the format bridge writes
// for printers that take neither PDF nor PostScript, read back to check what was sent and to count
// pages of such jobs when a client sends them.
package document

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// PCL XL operators counted (PCL XL Feature Reference 2.1, appendix: operator tags).
const (
	pxlBeginPage = 0x43
	pxlEndPage   = 0x44
)

// CountPCLXL counts the pages of a PCL XL stream by walking its binary tokens (data types,
// attribute ids, embedded data and operators) and counting BeginPage operators; an EndPage
// count that differs, or a byte that is no token, is an error. Nothing renders PCL XL on this
// host (Ghostscript's gpcl6 is not packaged in Debian's ghostscript), so the tokens are read
// rather than scanned for the byte 0x43: inside data and images that byte means nothing.
func CountPCLXL(src io.Reader) (int, error) {
	r := bufio.NewReaderSize(src, 64<<10)
	order, err := pxlHeader(r)
	if err != nil {
		return 0, err
	}
	begin, end := 0, 0
	skip := func(n int64) error {
		if _, err := r.Discard(int(n)); err != nil {
			return fmt.Errorf("document: PCL XL: truncated: %w", err)
		}
		return nil
	}
	for {
		b, err := r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("document: PCL XL: %w", err)
		}
		switch {
		case b == 0x1b: // the closing UEL: the PJL job goes on, the PCL XL stream is over
			return pxlPages(begin, end)
		case b == 0 || b >= 0x09 && b <= 0x0d || b == 0x20: // white space
		case b == pxlBeginPage:
			begin++
		case b == pxlEndPage:
			end++
		case b >= 0x41 && b <= 0xbf: // other operators carry no bytes of their own
		case b >= 0xc0 && b <= 0xc5:
			err = skip(pxlScalarSize[b&0x0f])
		case b >= 0xc8 && b <= 0xcd:
			var n int64
			if n, err = pxlArrayLen(r, order); err == nil {
				err = skip(n * pxlScalarSize[b-0xc8])
			}
		case b >= 0xd0 && b <= 0xd5:
			err = skip(2 * pxlScalarSize[b&0x0f])
		case b >= 0xe0 && b <= 0xe5:
			err = skip(4 * pxlScalarSize[b&0x0f])
		case b == 0xf8:
			err = skip(1)
		case b == 0xf9:
			err = skip(2)
		case b == 0xfa:
			var l [4]byte
			if _, err = io.ReadFull(r, l[:]); err == nil {
				err = skip(int64(order.Uint32(l[:])))
			}
		case b == 0xfb:
			var n byte
			if n, err = r.ReadByte(); err == nil {
				err = skip(int64(n))
			}
		default:
			return 0, fmt.Errorf("document: PCL XL: byte %#x is no token", b)
		}
		if err != nil {
			return 0, fmt.Errorf("document: PCL XL: %w", err)
		}
	}
	return pxlPages(begin, end)
}

// pxlScalarSize is the size of each scalar data type, by the tag's low nibble (ubyte, uint16,
// uint32, sint16, sint32, real32).
var pxlScalarSize = [16]int64{1, 2, 4, 2, 4, 4}

func pxlPages(begin, end int) (int, error) {
	if begin != end {
		return 0, fmt.Errorf("document: PCL XL: %d BeginPage but %d EndPage", begin, end)
	}
	return begin, nil
}

// pxlArrayLen reads an array's element count: a ubyte or uint16 value.
func pxlArrayLen(r *bufio.Reader, order binary.ByteOrder) (int64, error) {
	t, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	switch t {
	case 0xc0:
		n, err := r.ReadByte()
		return int64(n), err
	case 0xc1:
		var l [2]byte
		_, err := io.ReadFull(r, l[:])
		return int64(order.Uint16(l[:])), err
	}
	return 0, fmt.Errorf("array length of type %#x", t)
}

// pxlHeader skips the PJL lines before the stream header (") HP-PCL XL;…" for binary low
// byte first, as Ghostscript writes it; "( HP-PCL XL;…" for high byte first) and returns the stream's byte order.
func pxlHeader(r *bufio.Reader) (binary.ByteOrder, error) {
	for range 200 {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, errors.New("document: PCL XL: no stream header")
		}
		line = bytes.TrimPrefix(bytes.TrimLeft(line, "\x04"), []byte(uel))
		switch {
		case bytes.HasPrefix(line, []byte(") HP-PCL XL")):
			return binary.LittleEndian, nil
		case bytes.HasPrefix(line, []byte("( HP-PCL XL")):
			return binary.BigEndian, nil
		}
	}
	return nil, errors.New("document: PCL XL: no stream header in the first 200 lines")
}
