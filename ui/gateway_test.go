// A real gateway for the dashboard's tests: spool in a temp dir, file printers, the scheduler
// running, the dashboard, API and metrics on one router, and helpers to sign in over HTTP.
package ui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/spool"
)

// timeout bounds every wait for the gateway in these tests.
const timeout = 20 * time.Second

const (
	testUser     = "alice"
	testPassword = "correct horse battery"
	testToken    = "tok-0123456789abcdef0123"
	testTokenFor = "robot"
	// testReadToken is a read-scope token (Prometheus's).
	testReadToken = "read-0123456789abcdef0123"
)

type gwOptions struct {
	anonymousRead, trustLoopback bool
	// ppm of the two file printers (simulated engines); 0 means 600.
	ppm int
	// pause the virtual printer so submitted jobs stay pending.
	pause          bool
	sampleEvery    time.Duration
	streamThrottle time.Duration
	heartbeat      time.Duration
	// refused receives the audit of refused attempts.
	refused func(context.Context, Refused)
	// coordinator of the scheduler; nil is queue.Single.
	coordinator queue.Coordinator
}

type testGateway struct {
	t       *testing.T
	store   *spool.Store
	sched   *queue.Scheduler
	bulk    *queue.Bulk
	auth    *Auth
	dash    *Dashboard
	metrics *Metrics
	router  *mux.Router
	srv     *httptest.Server
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestGateway(t *testing.T, o gwOptions) *testGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	store, err := spool.Open(ctx, spool.Options{Dir: dir, Logger: quietLog, PageCounter: document.NewCounter().CountReader,
		FreeSpace: func(string) (uint64, error) { return 50 << 30, nil }})
	if err != nil {
		t.Fatal(err)
	}
	var specs []queue.PrinterSpec
	ppm := o.ppm
	if ppm == 0 {
		ppm = 600 // a tenth of a second a page: quick, and completion comes from watching the engine
	}
	for _, name := range []string{"demo-a", "demo-b"} {
		b, err := printers.Open(printers.Config{Name: name, URI: "file://" + filepath.Join(dir, "out", name), PPM: ppm, Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, queue.PrinterSpec{Name: name, URI: "file://" + filepath.Join(dir, "out", name), Printer: b, PPM: ppm})
	}
	sched, err := queue.New(queue.Options{Store: store, Printers: specs, ProbeInterval: time.Second, Logger: quietLog,
		Coordinator: o.coordinator,
		Virtual:     []queue.VirtualSpec{{Name: "letters", Pool: []string{"demo-a", "demo-b"}, Default: true}}})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuth(AuthOptions{Users: map[string]string{testUser: string(hash)},
		Tokens: map[string]string{testToken: testTokenFor}, ReadTokens: map[string]string{testReadToken: "prometheus"},
		Refused: o.refused, AnonymousRead: o.anonymousRead, TrustLoopback: o.trustLoopback, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	bulk, err := queue.NewBulk(queue.BulkOptions{Scheduler: sched, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	dash, err := NewDashboard(DashboardOptions{Service: sched, Runs: DashboardRuns(bulk), Auth: auth, Logger: quietLog,
		SampleEvery: o.sampleEvery, StreamThrottle: o.streamThrottle, Heartbeat: o.heartbeat})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, sched, store.FreeBytes, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	router := mux.NewRouter()
	router.Use(m.Middleware)
	dash.Register(router)
	api := NewAPI(sched, auth, quietLog)
	api.Register(router)
	api.RegisterRuns(router, bulk)
	router.Handle("/metrics", auth.GuardAPI(m.Handler())).Methods(http.MethodGet)

	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		if err := sched.Run(ctx); err != nil {
			t.Errorf("scheduler: %v", err)
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		if err := bulk.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("bulk: %v", err)
		}
	}()
	select {
	case <-sched.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("scheduler did not start")
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if o.pause {
		if err := sched.PauseVirtual(ctx, "letters", "test", true); err != nil {
			t.Fatal(err)
		}
	}
	g := &testGateway{t: t, store: store, sched: sched, bulk: bulk, auth: auth, dash: dash, metrics: m, router: router}
	g.srv = httptest.NewServer(router)
	g.srv.Config.RegisterOnShutdown(dash.Shutdown)
	t.Cleanup(func() {
		dash.Shutdown()
		g.srv.Close()
		cancel()
		<-done
		<-done
		store.Close()
	})
	return g
}

// submit stores n one-page jobs through the service, as owner.
func (g *testGateway) submit(n int, owner, name string) []*job.Job {
	g.t.Helper()
	pdf, err := os.ReadFile("../testdata/letter-1p.pdf")
	if err != nil {
		g.t.Fatal(err)
	}
	var out []*job.Job
	for i := 0; i < n; i++ {
		st, err := g.sched.Stage(context.Background(), bytes.NewReader(pdf), name, "application/pdf")
		if err != nil {
			g.t.Fatal(err)
		}
		j, err := g.sched.Submit(context.Background(), job.NewJob{Name: name, Owner: owner, Origin: "api",
			Lane: job.LaneInteractive}, []*job.Staged{st})
		if err != nil {
			g.t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

// letters is a LetterSource of n one-page letters.
type letters struct {
	n, i int
	pdf  []byte
}

func (l *letters) Next() (string, io.Reader, error) {
	if l.i >= l.n {
		return "", nil, io.EOF
	}
	l.i++
	return fmt.Sprintf("letter-%04d.pdf", l.i), bytes.NewReader(l.pdf), nil
}

// run registers and commits a bulk run of n one-page letters.
func (g *testGateway) run(n int, name string) *job.Run {
	g.t.Helper()
	pdf, err := os.ReadFile("../testdata/letter-1p.pdf")
	if err != nil {
		g.t.Fatal(err)
	}
	ctx := context.Background()
	r, err := g.bulk.CreateRun(ctx, queue.RunRequest{Name: name, Owner: "mailroom"})
	if err != nil {
		g.t.Fatal(err)
	}
	if _, err := g.bulk.UploadLetters(ctx, r.ID, 1, &letters{n: n, pdf: pdf}); err != nil {
		g.t.Fatal(err)
	}
	if r, err = g.bulk.CommitRun(ctx, r.ID, "mailroom"); err != nil {
		g.t.Fatal(err)
	}
	return r
}

// client returns an HTTP client with its own cookie jar that does not follow redirects.
func (g *testGateway) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var (
	hiddenToken = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	metaToken   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// login signs c in as the test user and returns the session's CSRF token.
func (g *testGateway) login(c *http.Client) string {
	g.t.Helper()
	body := g.get(c, "/ui/login", http.StatusOK)
	m := hiddenToken.FindStringSubmatch(body)
	if m == nil {
		g.t.Fatalf("login form has no token:\n%s", body)
	}
	resp, err := c.PostForm(g.srv.URL+"/ui/login", url.Values{"csrf_token": {m[1]}, "user": {testUser},
		"password": {testPassword}, "next": {"/ui/"}})
	if err != nil {
		g.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		g.t.Fatalf("login: status %d, want 303", resp.StatusCode)
	}
	page := g.get(c, "/ui/", http.StatusOK)
	tm := metaToken.FindStringSubmatch(page)
	if tm == nil {
		g.t.Fatalf("signed-in page has no CSRF token")
	}
	return tm[1]
}

// get fetches path with c and checks the status.
func (g *testGateway) get(c *http.Client, path string, want int) string {
	g.t.Helper()
	resp, err := c.Get(g.srv.URL + path)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		g.t.Fatalf("GET %s: status %d, want %d\n%s", path, resp.StatusCode, want, b)
	}
	return string(b)
}

// do sends a request with optional headers and returns status and body.
func (g *testGateway) do(c *http.Client, method, path, body string, hdr map[string]string) (int, string) {
	g.t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// await re-checks cond at every change the scheduler signals (and at least every 100 ms, for
// state the signal does not cover), failing after d.
func (g *testGateway) await(d time.Duration, what string, cond func() bool) {
	g.t.Helper()
	ch, stop := g.sched.Subscribe()
	defer stop()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline.C:
			g.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}
