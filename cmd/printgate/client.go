// The client commands: thin wrappers over ui.Client that print tables or JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/printgate/printgate/config"
	"github.com/printgate/printgate/internal/tlstrust"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/ui"
)

// clientFlags are shared by every command that talks to a gateway.
type clientFlags struct {
	server string
	token  string
	caFile string
	json   bool
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	c := &clientFlags{}
	server := os.Getenv("PRINTGATE_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8631"
	}
	fs.StringVar(&c.server, "server", server, "gateway URL (env PRINTGATE_SERVER)")
	fs.StringVar(&c.token, "token", os.Getenv("PRINTGATE_TOKEN"), "API token (env PRINTGATE_TOKEN)")
	fs.StringVar(&c.caFile, "ca-file", os.Getenv("PRINTGATE_CA_FILE"),
		"PEM certificate(s) to trust for an https:// gateway, instead of the system's (env PRINTGATE_CA_FILE)")
	fs.BoolVar(&c.json, "json", false, "print JSON")
	return c
}

// client is the API client the flags describe. With --ca-file only the certificates in that
// file are trusted for the gateway: its own (self-signed) certificate, pinned, or the CA that
// issued it, as a printer's tls_ca_file is.
func (c *clientFlags) client() (*ui.Client, error) {
	cl := ui.NewClient(c.server, c.token)
	if c.caFile == "" {
		return cl, nil
	}
	certs, err := tlstrust.ReadFile("--ca-file", c.caFile)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(c.server)
	if err != nil {
		return nil, fmt.Errorf("--server %q: %w", c.server, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlstrust.ClientConfig(certs, u.Hostname())
	cl.HTTP.Transport = tr
	return cl, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func configCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "check" {
		return &usageError{"usage: printgate config check FILE"}
	}
	cfg, err := config.Load(args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d printers, %d virtual printers)\n", args[1], len(cfg.Printers), len(cfg.VirtualPrinters))
	return nil
}

const submitUsage = `usage: printgate submit [--printer NAME] [--name TITLE] [--owner WHO] [--copies N]
                        [--sides S] [--media M] [--retries N] FILE...`

func submitCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, submitUsage)
		fs.PrintDefaults()
	}
	cf := addClientFlags(fs)
	var o ui.SubmitOptions
	fs.StringVar(&o.Printer, "printer", "", "virtual printer (default: the gateway's default)")
	fs.StringVar(&o.Name, "name", "", "job name (default: the file name)")
	fs.StringVar(&o.Owner, "owner", os.Getenv("USER"), "job owner (default: $USER; when empty, the operator's name or anonymous)")
	fs.IntVar(&o.Copies, "copies", 0, "copies, 1-999 (default: the printer's)")
	fs.StringVar(&o.Sides, "sides", "", "one-sided, two-sided-long-edge, two-sided-short-edge (default: the printer's)")
	fs.StringVar(&o.Media, "media", "", "paper size, e.g. iso_a4_210x297mm (default: the printer's)")
	retries := fs.Int("retries", 3, "times to retry a file whose answer was lost (same idempotency key: never a second job)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{submitUsage}
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var jobs []any
	for _, path := range fs.Args() {
		j, err := submitWithRetry(ctx, c, path, o, *retries, stderr)
		if err != nil {
			return fmt.Errorf("submit %s: %w", path, err)
		}
		if cf.json {
			jobs = append(jobs, j)
		} else {
			fmt.Fprintln(stdout, j.ID)
		}
	}
	if cf.json {
		return printJSON(stdout, jobs)
	}
	return nil
}

func jobsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"usage: printgate jobs list|show|cancel|hold|release|retry|move|purge|duplicates|duplicate ..."}
	}
	sub := args[0]
	fs := flag.NewFlagSet("jobs "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	state := fs.String("state", "", "filter by state (comma-separated)")
	printer := fs.String("printer", "", "filter by physical printer")
	limit := fs.Int("limit", 50, "how many jobs")
	to := fs.String("to", "", "move: the printer to move the job to (a member of its pool)")
	run := fs.Int64("run", 0, "duplicates: only the letters of this bulk run")
	undecided := fs.Bool("undecided", false, "duplicates: only those not yet reviewed")
	note := fs.String("note", "", "duplicate: a note for the audit log (e.g. where the copy went)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *state != "" {
			q.Set("state", *state)
		}
		if *printer != "" {
			q.Set("printer", *printer)
		}
		jobs, err := c.Jobs(ctx, q)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(stdout, jobs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tVIRTUAL\tPRINTER\tPAGES\tOWNER\tNAME\tFLAGS")
		for _, j := range jobs {
			flags := ""
			if j.PossibleDuplicate {
				flags = "possible-duplicate"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, j.State, j.VirtualPrinter, dash(j.Printer), j.Pages, j.Owner, j.Name, flags)
		}
		return tw.Flush()
	case "purge":
		if len(pos) != 0 {
			return &usageError{"usage: printgate jobs purge"}
		}
		res, err := c.Purge(ctx)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(stdout, res)
		}
		fmt.Fprintf(stdout, "removed the documents of %d finished jobs (their records stay)\n", res.Removed)
		return nil
	case "duplicates":
		if len(pos) != 0 {
			return &usageError{"usage: printgate jobs duplicates [--run ID] [--undecided]"}
		}
		return listDuplicates(ctx, c, cf, *run, *undecided, *limit, stdout)
	case "duplicate":
		const usage = "usage: printgate jobs duplicate ID printed-once|printed-twice [--note TEXT]"
		if len(pos) != 2 {
			return &usageError{usage}
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return &usageError{fmt.Sprintf("job id %q is not a number", pos[0])}
		}
		if _, err := job.ParseDecision(pos[1]); err != nil {
			return &usageError{fmt.Sprintf("%v\n%s", err, usage)}
		}
		d, err := c.DecideDuplicate(ctx, id, pos[1], *note)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(stdout, d)
		}
		fmt.Fprintf(stdout, "job %d: %s (recorded for %s)\n", d.JobID, d.Decision.Text(), d.DecidedBy)
		return nil
	case "show", "cancel", "hold", "release", "retry", "move":
		usage := fmt.Sprintf("usage: printgate jobs %s ID", sub)
		if sub == "move" {
			usage += " --to PRINTER"
		}
		if len(pos) != 1 || (sub == "move") != (*to != "") {
			return &usageError{usage}
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return &usageError{fmt.Sprintf("job id %q is not a number", pos[0])}
		}
		var j any
		switch sub {
		case "show":
			j, err = c.Job(ctx, id)
		case "move":
			j, err = c.JobAction(ctx, id, sub, map[string]string{"printer": *to})
		default:
			j, err = c.JobAction(ctx, id, sub, nil)
		}
		if err != nil {
			return err
		}
		return printJSON(stdout, j)
	}
	return &usageError{fmt.Sprintf("unknown jobs command %q", sub)}
}

// listDuplicates prints the mail room's review list: each possible duplicate with the printer
// of its uncertain attempt, the page counter before and after, when, and the decision.
func listDuplicates(ctx context.Context, c *ui.Client, cf *clientFlags, run int64, undecided bool, limit int, stdout io.Writer) error {
	q := url.Values{}
	if run != 0 {
		q.Set("run", strconv.FormatInt(run, 10))
	}
	if undecided {
		q.Set("undecided", "1")
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	dups, err := c.Duplicates(ctx, q)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, dups)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tRUN\tSEQ\tPRINTER\tCOUNTER\tSENT\tFLAGGED\tSTATE\tDECISION\tNAME")
	for _, d := range dups {
		counter, sent := "-", "-"
		if e := d.Evidence; e != nil {
			counter = fmt.Sprintf("%d->%d (expected %d-%d)", e.Before, e.After, e.Before+1, e.End())
			if !e.SentAt.IsZero() {
				sent = e.SentAt.Local().Format(time.DateTime)
			}
		}
		decision := string(d.Decision)
		if decision == "" {
			decision = "not reviewed"
		} else {
			decision += " by " + d.DecidedBy
		}
		runCol, seqCol := "-", "-"
		if d.RunID != 0 {
			runCol, seqCol = strconv.FormatInt(d.RunID, 10), strconv.FormatInt(d.Seq, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.JobID, runCol, seqCol, dash(d.Printer), counter, sent,
			d.FlaggedAt.Local().Format(time.DateTime), d.State, decision, d.Name)
	}
	return tw.Flush()
}

func printersCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"usage: printgate printers list|drain|resume ..."}
	}
	sub := args[0]
	fs := flag.NewFlagSet("printers "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if len(pos) != 0 {
			return &usageError{"usage: printgate printers list"}
		}
		ps, err := c.Printers(ctx)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(stdout, ps)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tREASONS\tPPM\tINFLIGHT\tBACKLOG\tURI")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d/%d\t%d\t%s\n", p.Name, p.State, dash(strings.Join(p.Reasons, ",")), p.PPM,
				p.Inflight, p.MaxInflight, p.Backlog, p.URI)
		}
		return tw.Flush()
	case "drain", "resume":
		if len(pos) != 1 {
			return &usageError{fmt.Sprintf("usage: printgate printers %s NAME", sub)}
		}
		p, err := c.PrinterAction(ctx, pos[0], sub)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(stdout, p)
		}
		fmt.Fprintf(stdout, "%s: %s\n", p.Name, p.State)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown printers command %q", sub)}
}

// parseInterspersed parses flags that may come before or after the positional arguments
// ("jobs move 12 --to p1"), which flag.Parse alone stops at, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
