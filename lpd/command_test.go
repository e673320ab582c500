package lpd

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		line string
		want Command
		err  bool
	}{
		{"receive job", "\x02letters\n", Command{Code: CmdReceiveJob, Queue: "letters"}, false},
		{"receive job CRLF", "\x02letters\r\n", Command{Code: CmdReceiveJob, Queue: "letters"}, false},
		{"receive job no LF", "\x02letters", Command{Code: CmdReceiveJob, Queue: "letters"}, false},
		{"print waiting", "\x01q\n", Command{Code: CmdPrintWaiting, Queue: "q"}, false},
		{"short state all", "\x03letters\n", Command{Code: CmdQueueShort, Queue: "letters"}, false},
		{"short state list", "\x03letters alice 12\n", Command{Code: CmdQueueShort, Queue: "letters", List: []string{"alice", "12"}}, false},
		{"long state tabs", "\x04letters\talice \t bob\n", Command{Code: CmdQueueLong, Queue: "letters", List: []string{"alice", "bob"}}, false},
		{"remove agent only", "\x05letters alice\n", Command{Code: CmdRemoveJobs, Queue: "letters", Agent: "alice"}, false},
		{"remove list", "\x05letters root 3 bob\n", Command{Code: CmdRemoveJobs, Queue: "letters", Agent: "root", List: []string{"3", "bob"}}, false},
		{"empty", "", Command{}, true},
		{"code only", "\x02\n", Command{}, true},
		{"code and space", "\x02 \n", Command{}, true},
		{"unknown code 0", "\x00letters\n", Command{}, true},
		{"unknown code 6", "\x06letters\n", Command{}, true},
		{"letter code", "Aletters\n", Command{}, true},
		{"receive job extra operand", "\x02letters extra\n", Command{}, true},
		{"remove without agent", "\x05letters\n", Command{}, true},
		{"control byte in queue", "\x02let\x01ters\n", Command{}, true},
		{"NUL in list", "\x03letters al\x00ice\n", Command{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCommand([]byte(tt.line))
			if tt.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseCommand(%q) = %+v, %v; want ErrMalformed", tt.line, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.line, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCommand(%q) = %+v, want %+v", tt.line, got, tt.want)
			}
			// Marshal and parse again: the same command.
			b, err := got.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			again, err := ParseCommand(b)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip %q -> %+v, %v", b, again, err)
			}
		})
	}
}

func TestCommandMarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cmd  Command
		want string
		err  bool
	}{
		{"receive", Command{Code: CmdReceiveJob, Queue: "q"}, "\x02q\n", false},
		{"remove", Command{Code: CmdRemoveJobs, Queue: "q", Agent: "al", List: []string{"1", "2"}}, "\x05q al 1 2\n", false},
		{"short", Command{Code: CmdQueueShort, Queue: "q", List: []string{"bob"}}, "\x03q bob\n", false},
		{"receive with list", Command{Code: CmdReceiveJob, Queue: "q", List: []string{"x"}}, "", true},
		{"short with agent", Command{Code: CmdQueueShort, Queue: "q", Agent: "x"}, "", true},
		{"space in queue", Command{Code: CmdReceiveJob, Queue: "a b"}, "", true},
		{"empty queue", Command{Code: CmdReceiveJob}, "", true},
		{"remove without agent", Command{Code: CmdRemoveJobs, Queue: "q"}, "", true},
		{"bad code", Command{Code: 9, Queue: "q"}, "", true},
		{"too long", Command{Code: CmdQueueShort, Queue: "q", List: []string{strings.Repeat("x", MaxLineBytes)}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.cmd.Marshal()
			if (err != nil) != tt.err {
				t.Fatalf("Marshal(%+v) error = %v, want error %v", tt.cmd, err, tt.err)
			}
			if string(got) != tt.want {
				t.Fatalf("Marshal(%+v) = %q, want %q", tt.cmd, got, tt.want)
			}
		})
	}
}

func TestParseSubcommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		want    Subcommand
		unknown bool
		err     bool
	}{
		{"control", "\x0242 cfA123host\n", Subcommand{SubControlFile, 42, "cfA123host"}, false, false},
		{"data", "\x03123456 dfA123host\n", Subcommand{SubDataFile, 123456, "dfA123host"}, false, false},
		{"data CRLF", "\x035 dfA1h\r\n", Subcommand{SubDataFile, 5, "dfA1h"}, false, false},
		{"data zero is unknown length", "\x030 dfA123host\n", Subcommand{SubDataFile, 0, "dfA123host"}, true, false},
		{"windows huge count", "\x03125899906843000 dfA123host\n", Subcommand{SubDataFile, 125899906843000, "dfA123host"}, true, false},
		{"just under a terabyte is known", "\x031099511627775 dfA1h\n", Subcommand{SubDataFile, 1<<40 - 1, "dfA1h"}, false, false},
		{"abort", "\x01\n", Subcommand{Code: SubAbort}, false, false},
		{"abort with operand", "\x01 x\n", Subcommand{}, false, true},
		{"control zero", "\x020 cfA1h\n", Subcommand{}, false, true},
		{"negative", "\x03-5 dfA1h\n", Subcommand{}, false, true},
		{"plus sign", "\x03+5 dfA1h\n", Subcommand{}, false, true},
		{"hex", "\x030x10 dfA1h\n", Subcommand{}, false, true},
		{"overflow", "\x0399999999999999999999 dfA1h\n", Subcommand{}, false, true},
		{"int64 overflow 19 digits", "\x039999999999999999999 dfA1h\n", Subcommand{}, false, true},
		{"no name", "\x0310\n", Subcommand{}, false, true},
		{"three operands", "\x0310 dfA1h extra\n", Subcommand{}, false, true},
		{"slash in name", "\x0310 ../etc/passwd\n", Subcommand{}, false, true},
		{"dot dot", "\x0310 ..\n", Subcommand{}, false, true},
		{"unknown code", "\x0410 dfA1h\n", Subcommand{}, false, true},
		{"empty", "\n", Subcommand{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSubcommand([]byte(tt.line))
			if tt.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseSubcommand(%q) = %+v, %v; want ErrMalformed", tt.line, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubcommand(%q): %v", tt.line, err)
			}
			if got != tt.want {
				t.Fatalf("ParseSubcommand(%q) = %+v, want %+v", tt.line, got, tt.want)
			}
			if got.UnknownLength() != tt.unknown {
				t.Fatalf("UnknownLength() = %v, want %v", got.UnknownLength(), tt.unknown)
			}
			b, err := got.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if again, err := ParseSubcommand(b); err != nil || again != got {
				t.Fatalf("round trip %q -> %+v, %v", b, again, err)
			}
		})
	}
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  []string
		err   error
	}{
		{"two lines then EOF", "a\nbc\n", []string{"a\n", "bc\n"}, io.EOF},
		{"partial line", "a\nbc", []string{"a\n"}, io.ErrUnexpectedEOF},
		{"exactly the limit", strings.Repeat("x", MaxLineBytes-1) + "\n", []string{strings.Repeat("x", MaxLineBytes-1) + "\n"}, io.EOF},
		{"over the limit", strings.Repeat("x", MaxLineBytes) + "\n", nil, ErrLineTooLong},
		{"endless line", strings.Repeat("x", 3*MaxLineBytes), nil, ErrLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A small buffer makes lines span several ReadSlice calls.
			br := bufio.NewReaderSize(strings.NewReader(tt.input), 16)
			var got []string
			for {
				line, err := readLine(br)
				if err != nil {
					if !errors.Is(err, tt.err) {
						t.Fatalf("readLine error = %v, want %v", err, tt.err)
					}
					break
				}
				got = append(got, string(line))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}
