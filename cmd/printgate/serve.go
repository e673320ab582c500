// serve: load the configuration and wire spool, printers, scheduler and HTTP together.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/printgate/printgate/config"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/internal/certfile"
	"github.com/printgate/printgate/internal/connlimit"
	"github.com/printgate/printgate/internal/tlsmux"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/lpd"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/raw"
	"github.com/printgate/printgate/ui"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (default: built-in demo)")
	listen := fs.String("listen", "", "HTTP listen address, overrides the config (e.g. :8631)")
	spoolDir := fs.String("spool", "", "spool directory, or postgres:// URL of a shared database; overrides the config")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg *config.Config
	if *cfgPath == "" {
		cfg = config.Demo(*spoolDir)
	} else {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *spoolDir != "" {
		cfg.Spool = *spoolDir
	}
	log := newLogger(stderr, cfg.LogLevel)
	if cfg.Path == "" {
		log.Info("no --config given: running the built-in demo", "spool", cfg.RedactSpool(),
			"printers", "demo-a (30 ppm), demo-b (60 ppm)", "output", filepath.Join(cfg.Spool, "out"))
	}
	return runGateway(ctx, cfg, log, stderr)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// backendConfig is what the backend of printer p needs from the configuration.
func backendConfig(p config.Printer, log *slog.Logger) printers.Config {
	return printers.Config{Name: p.Name, URI: p.URI, PPM: p.PPM, Formats: p.Formats, Media: p.Media, Sides: p.Sides,
		Color: p.Color, TLSCAFile: p.TLSCAFile, TLSSkipVerify: p.TLSSkipVerify, Logger: log.With("printer", p.Name),
		SNMP: p.SNMPBackend()}
}

// runGateway runs until ctx ends, then shuts down in order: stop accepting, stop the scheduler,
// close the spool. For the built-in demo it writes the addresses it serves to out.
func runGateway(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	counter := document.NewCounter()
	opened, err := openStore(ctx, cfg, counter, log)
	if err != nil {
		return err
	}
	store := opened.store
	defer store.Close()
	coord, stopCoord, err := startCoordinator(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopCoord()

	var specs []queue.PrinterSpec
	for _, p := range cfg.Printers {
		b, err := printers.Open(backendConfig(p, log))
		if err != nil {
			return err
		}
		defer b.Close()
		specs = append(specs, queue.PrinterSpec{Name: p.Name, URI: p.URI, Printer: b, PPM: p.PPM,
			MaxInflight: p.MaxInflight, Location: p.Location, Info: p.Info,
			Formats: p.Formats, NoConvert: p.Convert != nil && !*p.Convert, FormatPPM: p.FormatPPM})
	}
	var virt []queue.VirtualSpec
	for _, v := range cfg.VirtualPrinters {
		virt = append(virt, queue.VirtualSpec{Name: v.Name, Pool: v.Pool, Default: v.Default, LPDQueue: v.LPDQueue,
			RawPort: v.RawPort, Location: v.Location, Info: v.Info, UUID: opened.uuid(v.Name)})
	}
	conv, err := newConverter(cfg, log)
	if err != nil {
		return err
	}
	sched, err := queue.New(queue.Options{
		Store: store, Printers: specs, Virtual: virt, MaxInflight: cfg.MaxInflight,
		ProbeInterval: cfg.ProbeInterval.D(), FailAfter: cfg.FailAfter, RecoverAfter: cfg.RecoverAfter,
		GracePeriod: cfg.GracePeriod.D(), MaxAttempts: cfg.MaxAttempts, Converter: conv, Coordinator: coord, Logger: log,
	})
	if err != nil {
		return err
	}

	tokens, readTokens := map[string]string{}, map[string]string{}
	for _, t := range cfg.Auth.Tokens {
		if t.TokenScope() == config.ScopeRead {
			readTokens[t.Token] = t.Name
		} else {
			tokens[t.Token] = t.Name
		}
	}
	users, readUsers := map[string]string{}, map[string]bool{}
	for _, u := range cfg.Auth.Users {
		users[u.Name] = u.PasswordHash
		if u.UserScope() == config.ScopeRead {
			readUsers[u.Name] = true
		}
	}
	auditLog := log.With("component", "audit")
	// Every refused attempt, whichever door it came through, is one event in the audit log.
	refused := func(ctx context.Context, r queue.Refusal) {
		if err := sched.RecordRefusal(context.WithoutCancel(ctx), r); err != nil {
			auditLog.Error("refused attempt not recorded", "what", r.What, "remote", r.Remote, "err", err)
		}
	}
	auth, err := ui.NewAuth(ui.AuthOptions{Users: users, ReadUsers: readUsers, Tokens: tokens, ReadTokens: readTokens,
		AnonymousRead: cfg.Auth.AnonymousRead, TrustLoopback: cfg.Auth.TrustLoopback, Logger: log.With("component", "auth"),
		Refused: func(ctx context.Context, r ui.Refused) {
			refused(ctx, queue.Refusal{Frontend: "http", What: r.What, Who: r.User, Remote: r.Remote, Why: r.Why})
		}})
	if err != nil {
		return err
	}
	if len(users) == 0 && len(tokens) == 0 && !cfg.Auth.TrustLoopback {
		log.Warn("no operator can sign in: add auth.users (printgate hash-password) or auth.tokens to the config")
	}
	bulk, err := newBulk(ctx, sched, log)
	if err != nil {
		return err
	}
	dash, err := ui.NewDashboard(ui.DashboardOptions{Service: sched, Runs: ui.DashboardRuns(bulk), Auth: auth,
		Logger: log.With("component", "dashboard")})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := ui.NewMetrics(reg, sched, store.FreeBytes, log.With("component", "metrics"))
	if err != nil {
		return err
	}
	router := mux.NewRouter()
	router.Use(metrics.Middleware)
	ippSrv, err := ipp.NewServer(ipp.Options{Service: queue.IPPService{Scheduler: sched},
		Logger: log.With("frontend", "ipp"), MaxDocumentBytes: int64(cfg.MaxDocumentSize), RequireTLS: cfg.TLSRequired,
		MaxCompressionRatio: int64(cfg.Limits.MaxCompressionRatio),
		Auth:                auth, RequireAuth: cfg.Auth.IPPAuthRequired(), AllowPlainAuth: cfg.Auth.IPPPlainPasswords,
		TrustLoopback: cfg.Auth.TrustLoopback,
		Refused: func(ctx context.Context, r ipp.Refusal) {
			who := r.User
			if !r.Authenticated {
				who += " (claimed)"
			}
			refused(ctx, queue.Refusal{Frontend: "ipp", What: r.Op + " on " + r.Printer, Who: who, Remote: r.Remote,
				Why: r.Reason, JobID: r.JobID})
		}})
	if err != nil {
		return err
	}
	// IPP shares the listener with the dashboard, as CUPS does on 631: a POST of application/ipp
	// under /ipp/ or /printers/ is IPP, anything else goes to the pages and the API.
	router.MatcherFunc(isIPP).Handler(ippSrv)
	router.PathPrefix(ipp.PathIcons).Methods(http.MethodGet).Handler(ippSrv.Icons())
	// The dashboard goes before the API: its event stream shares /api/v1/events (by Accept).
	dash.Register(router)
	api := ui.NewAPI(sched, auth, log)
	api.Register(router)
	api.RegisterRuns(router, bulk)
	router.Handle("/metrics", auth.GuardAPI(metrics.Handler())).Methods(http.MethodGet)

	var tlsConf *tls.Config
	if cfg.TLSCertFile != "" {
		certs, err := certfile.Open(certfile.Options{CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile,
			Logger: log.With("component", "tls")})
		if err != nil {
			return err
		}
		tlsConf = certs.Config()
	}
	tcpLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	// Every connection to the port, plain or TLS, counts against the limits before a byte is
	// read; a request body that stops for idle_timeout is cut (BodyProgress below), silent
	// connections by the servers' header and idle timeouts (limits in CONFIG.md).
	ln := &connlimit.Listener{Listener: tcpLn, Counter: &connlimit.Counter{
		Proto: "http", MaxConns: cfg.Limits.MaxConnections, MaxPerHost: cfg.Limits.MaxConnectionsPerHost,
		Log: log, Refused: metrics.ConnRefused}}
	// With a certificate the one port takes TLS as well as plain HTTP, told apart by each
	// connection's first byte; a connection that says nothing for 30 s is dropped, as
	// ReadHeaderTimeout drops a silent plain one. With tls_required the plain side only
	// redirects pages to https:// and refuses the rest.
	plainLn, tlsLn := tlsmux.Split(ln, tlsConf, 30*time.Second, log)
	idle := cfg.Limits.IdleTimeout.D()
	srv := &http.Server{Handler: connlimit.BodyProgress(idle, router), ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute}
	plainSrv := srv
	if cfg.TLSRequired {
		// IPP clients get an IPP answer they show their user (client-error-forbidden naming the
		// ipps:// address); browsers and scripts a redirect to https://, or a refusal.
		plain := mux.NewRouter()
		plain.MatcherFunc(isIPP).Handler(ippSrv)
		plain.PathPrefix("/").Handler(tlsmux.RedirectToTLS())
		plainSrv = &http.Server{Handler: connlimit.BodyProgress(idle, plain), ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout: time.Minute}
	}
	// Shutdown does not end requests in flight; the dashboard's event streams never end alone.
	srv.RegisterOnShutdown(dash.Shutdown)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	// The first error stops the gateway; later ones (other servers failing as it stops) are
	// dropped rather than left blocking a goroutine that Wait below waits for.
	errs := make(chan error, 1)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	if err := metrics.Start(runCtx); err != nil {
		return err
	}
	changes, unsubscribe := sched.Subscribe()
	defer unsubscribe()
	wg.Add(2)
	go func() {
		defer wg.Done()
		metrics.Run(runCtx, changes)
	}()
	go func() {
		defer wg.Done()
		dash.Run(runCtx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		bulk.Run(runCtx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sched.Run(runCtx); err != nil {
			report(fmt.Errorf("scheduler: %w", err))
		}
	}()
	serve := func(hs *http.Server, l net.Listener) {
		defer wg.Done()
		if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			report(fmt.Errorf("http: %w", err))
		}
	}
	wg.Add(1)
	go serve(plainSrv, plainLn)
	if tlsLn != nil {
		wg.Add(1)
		go serve(srv, tlsLn)
	}
	var started []startedFrontend
	for _, fe := range frontends(cfg, sched, log, metrics.ConnRefused, refused) {
		fln, err := net.Listen("tcp", fe.addr)
		if err != nil {
			if cfg.Path == "" {
				// The demo must start on any machine: a taken 8515 or 9100 only turns that door off.
				log.Warn("demo: front-end not started, address in use", "frontend", fe.name, "listen", fe.addr, "err", err)
				started = append(started, startedFrontend{frontend: fe, addr: fe.addr, err: err})
				continue
			}
			return fmt.Errorf("%s: listen on %s: %w", fe.name, fe.addr, err)
		}
		started = append(started, startedFrontend{frontend: fe, addr: fln.Addr().String()})
		log.Info("front-end listening", "frontend", fe.name, "listen", fln.Addr().String())
		if cfg.TLSRequired {
			// LPD and raw have no TLS: tls_required cannot cover them, so say so rather than
			// let the setting promise more than it does.
			log.Warn("tls_required is set, but this front-end takes jobs unencrypted (its protocol has no TLS)",
				"frontend", fe.name, "listen", fln.Addr().String())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fe.serve(runCtx, fln); err != nil {
				report(fmt.Errorf("%s: %w", fe.name, err))
			}
		}()
	}
	if cfg.DNSSD {
		// One advertisement per scheme the port speaks: _ipp._tcp for plain, _ipps._tcp for TLS.
		var schemes []bool
		if !cfg.TLSRequired {
			schemes = append(schemes, false)
		}
		if tlsConf != nil {
			schemes = append(schemes, true)
		}
		for _, secure := range schemes {
			adv, err := ipp.NewAdvertiser(ipp.AdvertiserOptions{Port: ln.Addr().(*net.TCPAddr).Port, TLS: secure,
				Logger: log.With("component", "dnssd", "tls", secure)})
			if err != nil {
				return err
			}
			dnssdChanges, dnssdStop := sched.Subscribe()
			defer dnssdStop()
			wg.Add(1)
			go func() {
				defer wg.Done()
				adv.Run(runCtx, queue.IPPService{Scheduler: sched}.PrinterInfos, dnssdChanges)
			}()
		}
	}
	log.Info("printgate ready", "listen", ln.Addr().String(), "tls", tlsMode(tlsConf != nil, cfg.TLSRequired),
		"spool", cfg.RedactSpool(), "virtual_printers", len(virt), "printers", len(specs))
	if cfg.Path == "" {
		if !demoBanner(out, cfg, ln.Addr().String(), started) {
			log.Warn("the demo is reachable from other machines: it shows the queue without sign-in; for anything real, write a configuration file (docs/CONFIG.md)",
				"listen", ln.Addr().String())
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errs:
		log.Error("stopping after error", "err", runErr)
	}
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer shutCancel()
	_ = srv.Shutdown(shutCtx)
	if plainSrv != srv {
		_ = plainSrv.Shutdown(shutCtx)
	}
	cancel()
	wg.Wait()
	return runErr
}

// frontend is a TCP front-end other than HTTP: LPD, or a virtual printer's raw port.
type frontend struct {
	name  string
	addr  string
	serve func(ctx context.Context, ln net.Listener) error
	// queues are LPD's queue names; virtual is the raw port's virtual printer.
	queues  []string
	virtual string
}

// startedFrontend is a front-end and the address it bound, or, in the demo, why it did not.
type startedFrontend struct {
	frontend
	addr string
	err  error
}

func frontends(cfg *config.Config, sched *queue.Scheduler, log *slog.Logger, refused func(frontend, limit string),
	audit func(context.Context, queue.Refusal)) []frontend {
	var out []frontend
	svc := queue.LPDService{Scheduler: sched}
	queues := map[string]string{}
	for _, v := range cfg.VirtualPrinters {
		if v.LPDQueue != "" {
			queues[v.LPDQueue] = v.Name
		}
		if v.RawPort != 0 {
			rs, err := raw.NewServer(raw.Config{VirtualPrinter: v.Name, MaxJobBytes: int64(cfg.MaxDocumentSize), Refused: refused,
				Logger: log.With("frontend", "raw", "virtual_printer", v.Name)}, svc)
			if err != nil {
				log.Error("raw front-end not started", "virtual_printer", v.Name, "err", err)
				continue
			}
			out = append(out, frontend{name: "raw " + v.Name, addr: cfg.RawListen(v.RawPort), serve: rs.Serve, virtual: v.Name})
		}
	}
	if cfg.LPDListen != "" && len(queues) > 0 {
		ls, err := lpd.NewServer(lpd.Config{Queues: queues, MaxJobBytes: int64(cfg.MaxDocumentSize), Refused: refused,
			AdminHosts: cfg.Auth.LPDAdminIPs(), TrustLoopback: cfg.Auth.TrustLoopback,
			Audit: func(ctx context.Context, agent, remote string, id int64, why string) {
				audit(ctx, queue.Refusal{Frontend: "lpd", What: fmt.Sprintf("remove job %d", id), Who: agent + " (claimed)",
					Remote: remote, Why: why, JobID: id})
			},
			Logger: log.With("frontend", "lpd")}, svc)
		if err != nil {
			log.Error("lpd front-end not started", "err", err)
		} else {
			names := slices.Sorted(maps.Keys(queues))
			out = append(out, frontend{name: "lpd", addr: cfg.LPDListen, serve: ls.Serve, queues: names})
		}
	}
	return out
}

// isIPP matches IPP requests: POST with Content-Type application/ipp under /ipp/ or /printers/.
func isIPP(r *http.Request, _ *mux.RouteMatch) bool {
	if r.Method != http.MethodPost {
		return false
	}
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(ct) == "application/ipp" &&
		(strings.HasPrefix(r.URL.Path, "/ipp/") || r.URL.Path == "/ipp" || strings.HasPrefix(r.URL.Path, "/printers/"))
}

// tlsMode names what the listener speaks, for the start-up log line.
func tlsMode(cert, required bool) string {
	switch {
	case required:
		return "only"
	case cert:
		return "and plain"
	}
	return "off"
}

// demoBanner writes the addresses the built-in demo serves (the HTTP listener at httpAddr and
// the front-ends as they started) and whom it is open to. It reports whether every address is
// a loopback one.
func demoBanner(w io.Writer, cfg *config.Config, httpAddr string, fronts []startedFrontend) bool {
	local := isLoopbackAddr(httpAddr)
	for _, f := range fronts {
		local = local && isLoopbackAddr(f.addr)
	}
	var b strings.Builder
	if local {
		b.WriteString("The demo listens on loopback addresses only: it is reachable only from this machine.\n")
	} else {
		b.WriteString("The demo is reachable from other machines: it shows the queue without sign-in to anyone who reaches it.\n")
	}
	host := urlHost(httpAddr)
	fmt.Fprintf(&b, "  dashboard  http://%s/ui/\n", host)
	for _, v := range cfg.VirtualPrinters {
		fmt.Fprintf(&b, "  IPP        ipp://%s/ipp/print/%s\n", host, v.Name)
	}
	for _, f := range fronts {
		label, what := "raw", "virtual printer "+f.virtual
		if f.virtual == "" {
			label, what = "LPD", "queue "+strings.Join(f.queues, ", ")
		}
		if f.err != nil {
			fmt.Fprintf(&b, "  %-10s %s, %s: not started (%v)\n", label, f.addr, what, f.err)
			continue
		}
		fmt.Fprintf(&b, "  %-10s %s, %s\n", label, urlHost(f.addr), what)
	}
	if local {
		b.WriteString("To serve other machines, write a configuration file with listen: \":8631\" (docs/CONFIG.md) and run printgate serve --config FILE.\n")
	} else {
		b.WriteString("For anything real, write a configuration file (docs/CONFIG.md) and run printgate serve --config FILE.\n")
	}
	_, _ = io.WriteString(w, b.String())
	return local
}

// isLoopbackAddr reports whether the TCP address addr has a loopback IP address.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// urlHost is addr as the host of a URL: a bound wildcard address ("[::]:8631") names this
// host instead, which other machines may know it by.
func urlHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return net.JoinHostPort(host, port)
}
