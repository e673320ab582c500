//go:build e2e

// The dashboard in a real browser (Debian's Chromium, headless, driven with chromedp): sign in,
// see the queue depth the API reports, drain a printer with its button and see it change
// without a reload, see a change made elsewhere arrive over the event stream, pause a bulk run,
// and keep a screenshot of the overview in e2e/artifacts/.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/ui"
)

const (
	dashUser     = "alice"
	dashPassword = "mail room at 7"
	dashToken    = "e2e-token-0123456789abcdef"
)

// dashboardConfig: two slow file printers (1 ppm, so four-page letters stay queued for the whole
// test), an operator with a password, a token for the API, and no loopback trust: the browser
// on 127.0.0.1 must sign in like anyone else.
func dashboardConfig(t *testing.T) func(listen, spool string) string {
	hash, err := bcrypt.GenerateFromPassword([]byte(dashPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return func(listen, spool string) string {
		return fmt.Sprintf(`listen: %s
spool: %s
min_free_disk: 64MiB
probe_interval: 1s
auth:
  users:
    - name: %s
      password_hash: %q
  tokens:
    - name: robot
      token: %s
printers:
  - name: demo-a
    uri: file://%s/out/demo-a
    ppm: 1
    max_inflight: 1
  - name: demo-b
    uri: file://%s/out/demo-b
    ppm: 1
    max_inflight: 1
virtual_printers:
  - name: letters
    pool: [demo-a, demo-b]
    default: true
`, listen, spool, dashUser, string(hash), dashToken, spool, spool)
	}
}

// browser starts headless Chromium with the flags this machine needs and a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(peer.Chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	for _, f := range peer.ChromiumFlags() {
		opts = append(opts, chromedp.Flag(strings.TrimPrefix(f, "--"), true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithErrorf(func(f string, a ...any) {
		// chromedp's protocol tables predate this Chromium's newer enum values (IP address
		// spaces): those events are not used here and their decode errors are noise.
		if msg := fmt.Sprintf(f, a...); !strings.Contains(msg, "could not unmarshal event") {
			t.Logf("chromedp: %s", msg)
		}
	}))
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc() // waits for Chromium to exit
	})
	// Start the browser now, so a missing or broken Chromium fails here with its error.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// waitJS polls a JavaScript expression in the page until it is true.
// clickLive clicks the element sel. The dashboard replaces its live regions as events arrive,
// so the node chromedp found can be gone before the click lands ("Could not find node", raised
// before any mouse event is sent); then it looks the element up again, at most five times.
func clickLive(ctx context.Context, sel string) error {
	var err error
	for range 5 {
		err = chromedp.Run(ctx, chromedp.Click(sel, chromedp.ByQuery))
		if err == nil || !strings.Contains(err.Error(), "Could not find node") {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func waitJS(ctx context.Context, t *testing.T, what, expr string, timeout time.Duration) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(timeout))); err != nil {
		var html string
		_ = chromedp.Run(ctx, chromedp.OuterHTML("main", &html, chromedp.ByQuery))
		t.Fatalf("%s: %v\npage main:\n%s", what, err, tail(html, 3000))
	}
}

// apiDepth is the API's count of unfinished jobs of the virtual printer letters.
func apiDepth(t *testing.T, api *ui.Client) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vs, err := api.VirtualPrinters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vs {
		for _, q := range v.Queued {
			if v.Name == "letters" && q.State != "received" {
				n += q.Jobs
			}
		}
	}
	return n
}

func TestDashboardInBrowser(t *testing.T) {
	g := startGateway(t, gatewayOptions{Config: dashboardConfig(t)})
	api := ui.NewClient(g.Base, dashToken)
	ctx := browser(t)

	// Not signed in: the overview sends the browser to the sign-in form.
	var loc string
	err := chromedp.Run(ctx,
		chromedp.Navigate(g.Base+"/ui/"),
		chromedp.WaitVisible("#user", chromedp.ByQuery),
		chromedp.Location(&loc),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "/ui/login") {
		t.Fatalf("anonymous overview went to %s, want the sign-in form", loc)
	}
	err = chromedp.Run(ctx,
		chromedp.SendKeys("#user", dashUser, chromedp.ByQuery),
		chromedp.SendKeys("#password", dashPassword, chromedp.ByQuery),
		chromedp.Click(`form.login button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`tr[data-virtual="letters"]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "signed in", `document.querySelector('.who strong') && document.querySelector('.who strong').textContent === 'alice'`, 10*time.Second)
	waitJS(ctx, t, "event stream connected", `document.getElementById('live').dataset.state === 'on'`, 10*time.Second)
	// A marker that a reload would wipe out.
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.__noReload = 'kept'`, nil)); err != nil {
		t.Fatal(err)
	}
	noReload := func(step string) {
		t.Helper()
		var v string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`String(window.__noReload)`, &v)); err != nil {
			t.Fatal(err)
		}
		if v != "kept" {
			t.Fatalf("%s: the page was reloaded", step)
		}
	}

	// Jobs submitted while the page is open show up on it.
	submitCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < 5; i++ {
		if _, err := api.SubmitFile(submitCtx, repoFile(t, "testdata/letter-4p.pdf"), ui.SubmitOptions{Name: fmt.Sprintf("ward letter %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A bulk run of six letters, registered with the CLI.
	dir := t.TempDir()
	letter, err := os.ReadFile(repoFile(t, "testdata/letter-2p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("patient-%02d.pdf", i)), letter, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := g.CLI("bulk", "submit", "--json", "--token", dashToken, "--printer", "letters", "--name", "shielding letters", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	var run struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil || run.ID == 0 {
		t.Fatalf("bulk submit output %q: %v", out, err)
	}
	want := apiDepth(t, api)
	if want != 11 {
		t.Fatalf("API reports %d unfinished jobs, want 11 (5 jobs and 6 letters, nothing can finish at 1 ppm yet)", want)
	}
	waitJS(ctx, t, "overview shows the API's queue depth",
		fmt.Sprintf(`document.querySelector('tr[data-virtual="letters"] td[data-total-jobs]').dataset.totalJobs === '%d'`, want), 10*time.Second)
	noReload("queue depth")
	if got := apiDepth(t, api); got != want {
		t.Fatalf("queue depth moved during the check: %d then %d", want, got)
	}

	// Drain demo-a with its button: the card says Drained, without a reload.
	if err := clickLive(ctx, `button[data-key="drain-demo-a"]`); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "demo-a drained on the page", `(function(){var c=document.querySelector('li[data-printer="demo-a"]');`+
		`return c && c.dataset.state==='drained' && c.textContent.indexOf('Drained')>=0})()`, 5*time.Second)
	noReload("drain")
	if p, err := api.Printers(submitCtx); err != nil || !p[0].Drained || p[0].Name != "demo-a" {
		t.Fatalf("API after the drain button: %+v %v", p, err)
	}

	// A change made elsewhere (the CLI's API) reaches the open page over the event stream.
	start := time.Now()
	if _, err := api.PrinterAction(submitCtx, "demo-a", "resume"); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "resume pushed to the page", `document.querySelector('li[data-printer="demo-a"]').dataset.state !== 'drained'`, 3*time.Second)
	t.Logf("resume via the API reached the page in %s", time.Since(start).Round(time.Millisecond))
	noReload("resume by event stream")

	// The screenshot of the overview, with the queue and the event list filled.
	if err := os.MkdirAll(filepath.Join(peer.RepoRoot(t), "e2e", "artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(peer.RepoRoot(t), "e2e", "artifacts", "dashboard-overview.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))

	// Pause the bulk run with its button on the runs page.
	err = chromedp.Run(ctx,
		chromedp.Navigate(g.Base+"/ui/runs"),
		chromedp.WaitVisible(fmt.Sprintf(`button[data-key="pause-run-%d"]`, run.ID), chromedp.ByQuery),
		chromedp.Evaluate(`window.__noReload = 'kept'`, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := clickLive(ctx, fmt.Sprintf(`button[data-key="pause-run-%d"]`, run.ID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "run paused on the page", fmt.Sprintf(`(function(){var r=document.querySelector('li[data-run="%d"]');`+
		`return r && r.dataset.state==='paused' && !!document.querySelector('button[data-key="resume-run-%d"]')})()`, run.ID, run.ID), 5*time.Second)
	noReload("pause run")
	var st struct {
		State string `json:"state"`
	}
	if err := api.Do(submitCtx, "GET", fmt.Sprintf("/api/v1/runs/%d?detail=0", run.ID), nil, "", &st); err != nil || st.State != "paused" {
		t.Fatalf("API run state %q (%v), want paused", st.State, err)
	}

	// The audit log names the operator for both actions.
	var events string
	err = chromedp.Run(ctx, chromedp.Navigate(g.Base+"/ui/events?kind=operator"),
		chromedp.WaitVisible("table.events", chromedp.ByQuery), chromedp.Text("table.events", &events, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"printer demo-a drained by alice", "printer demo-a resumed by robot", "alice"} {
		if !strings.Contains(events, want) {
			t.Errorf("events page lacks %q:\n%s", want, events)
		}
	}
}
