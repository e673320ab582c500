// Command printgate is the print-queue balancing gateway (serve) and the command-line client of
// a running gateway's JSON API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `printgate — print-queue balancing gateway

Usage:
  printgate serve [--config FILE] [--listen ADDR] [--spool DIR|postgres://…]
                                     run the gateway (no --config: built-in demo)
  printgate config check FILE        validate a configuration file
  printgate submit [--printer NAME] [--name TITLE] [--owner WHO] [--copies N]
                   [--sides S] [--media M] FILE...
                                     print files through a running gateway; prints job ids
  printgate jobs list [--state S] [--printer P] [--limit N]
  printgate jobs show ID
  printgate jobs cancel|hold|release|retry ID
                                     retry: put an aborted or canceled job back in the queue
  printgate jobs move ID --to PRINTER
                                     send a pending, held, assigned or sending job (until the
                                     printer has taken it) to PRINTER, a member of its virtual
                                     printer's pool
  printgate jobs purge               remove now the documents of every finished job, whatever
                                     the retention (frees a full disk; the records stay)
  printgate jobs duplicates [--run ID] [--undecided]
                                     every possible-duplicate letter with its evidence (printer,
                                     page counter before/after, times) and its review
  printgate jobs duplicate ID printed-once|printed-twice [--note TEXT]
                                     record the mail room's finding (audited, in the manifest)
  printgate printers list
  printgate printers drain|resume NAME
  printgate bulk submit --name NAME [--printer P] (--dir DIR | --pdf FILE --pages-per-letter N)
                    [--at 2026-12-01T02:00 | --cron "0 2 * * 1-5"]
                                     register a run of letters (docs/BULK.md)
  printgate bulk list | show ID | pause|resume|cancel ID | manifest ID [--csv]
  printgate bulk reprint ID --letters 120-130 | unschedule SCHEDULE-ID
  printgate hash-password [--cost N]   print the bcrypt hash of a password (read from the
                                     terminal or stdin) for auth.users[].password_hash
  printgate version

Client commands take --server URL (env PRINTGATE_SERVER, default http://127.0.0.1:8631),
--token TOKEN (env PRINTGATE_TOKEN), --ca-file FILE (env PRINTGATE_CA_FILE: the certificate
to trust for an https:// gateway, e.g. its self-signed one) and --json (machine-readable
output), before or after the command: printgate --server https://gw:8631 jobs list.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "printgate:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError marks a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command given"}
	}
	args, err := hoistGlobalFlags(args)
	if err != nil {
		fmt.Fprint(stderr, usage)
		return err
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "config":
		return configCmd(rest, stdout, stderr)
	case "submit":
		return submitCmd(ctx, rest, stdout, stderr)
	case "jobs":
		return jobsCmd(ctx, rest, stdout, stderr)
	case "printers":
		return printersCmd(ctx, rest, stdout, stderr)
	case "bulk":
		return bulkCmd(ctx, rest, stdout, stderr)
	case "hash-password":
		return hashPasswordCmd(rest, os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "printgate", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// globalFlags are the client flags that may also come before the command
// ("printgate --server URL jobs list"); hasValue tells those that take one.
var globalFlags = map[string]bool{"server": true, "token": true, "ca-file": true, "json": false}

// hoistGlobalFlags moves client flags written before the command to just after the command's
// words (the command and, for jobs, printers, bulk and config, its action), where each
// command's own flag set parses them.
func hoistGlobalFlags(args []string) ([]string, error) {
	var lead []string
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-h" && args[i] != "--help" && args[i] != "-help" {
		name, _, hasEq := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		takesValue, ok := globalFlags[name]
		if !ok {
			return nil, &usageError{fmt.Sprintf("unknown flag %q before the command (only --server, --token, --ca-file and --json may come first)", args[i])}
		}
		lead = append(lead, args[i])
		i++
		if takesValue && !hasEq {
			if i == len(args) {
				return nil, &usageError{fmt.Sprintf("flag %s needs a value", lead[len(lead)-1])}
			}
			lead = append(lead, args[i])
			i++
		}
	}
	rest := args[i:]
	if len(lead) == 0 || len(rest) == 0 {
		return rest, nil
	}
	words := 1
	switch rest[0] {
	case "jobs", "printers", "bulk", "config":
		if len(rest) > 1 {
			words = 2
		}
	}
	out := append([]string{}, rest[:words]...)
	out = append(out, lead...)
	return append(out, rest[words:]...), nil
}
