package connlimit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBodyProgress on a real server over loopback: a chunked upload that keeps dripping
// within idle is read whole, however long it takes; one that stops is cut after idle; a long
// response without a request body (an event stream) is not cut.
func TestBodyProgress(t *testing.T) {
	t.Parallel()
	const idle = 400 * time.Millisecond
	got := make(chan string, 4)
	mux := http.NewServeMux()
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			got <- "error after " + fmt.Sprint(len(b)) + " bytes"
			return
		}
		got <- string(b)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		for i := range 5 { // 5 × 200 ms: longer than idle, the client sends nothing
			fmt.Fprintf(w, "event %d\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: BodyProgress(idle, mux), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	upload := func(pieces int, gap, stallAfter time.Duration) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		for i := range pieces {
			fmt.Fprintf(c, "1\r\n%d\r\n", i%10)
			if stallAfter > 0 && i == 2 {
				time.Sleep(stallAfter)
			}
			time.Sleep(gap)
		}
		fmt.Fprintf(c, "0\r\n\r\n")
	}
	// Slow but steady: 10 pieces 150 ms apart (1.5 s, well past idle).
	upload(10, 150*time.Millisecond, 0)
	select {
	case s := <-got:
		if s != "0123456789" {
			t.Fatalf("steady slow upload read as %q, want all of it", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("steady slow upload never finished")
	}
	// Stops for 3 × idle after the third piece.
	go upload(6, 10*time.Millisecond, 3*idle)
	select {
	case s := <-got:
		if !strings.HasPrefix(s, "error after 3 bytes") {
			t.Fatalf("stalled upload read as %q, want cut after 3 bytes", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stalled upload was never cut")
	}
	// A stream of 1 s with a silent client is served whole.
	resp, err := http.Get("http://" + ln.Addr().String() + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines++
	}
	if lines != 5 {
		t.Fatalf("event stream cut after %d of 5 events", lines)
	}
}
