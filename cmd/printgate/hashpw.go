// hash-password: make the bcrypt hash an operator's password_hash in the config needs.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// hashPasswordCmd reads a password (twice, without echo, on a terminal; one line otherwise, for
// scripts) and prints its bcrypt hash.
func hashPasswordCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cost := fs.Int("cost", 12, "bcrypt cost (10-15; each step doubles the time to check a password)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &usageError{"usage: printgate hash-password [--cost N] (the password is read from the terminal or stdin)"}
	}
	if *cost < 10 || *cost > 15 {
		return &usageError{fmt.Sprintf("--cost %d: use 10 to 15", *cost)}
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	if pw == "" {
		return errors.New("hash-password: empty password")
	}
	if len(pw) > 72 {
		// bcrypt only looks at 72 bytes; longer passwords would be silently cut.
		return errors.New("hash-password: password longer than 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), *cost)
	if err != nil {
		return fmt.Errorf("hash-password: %w", err)
	}
	fmt.Fprintln(stdout, string(h))
	return nil
}

func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("hash-password: read password: %w", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("hash-password: read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("hash-password: the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("hash-password: read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
