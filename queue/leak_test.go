package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// failPrinter refuses every job before sending anything, so that its circuit breaker opens and
// arms a wake-up timer.
type failPrinter struct{ *holdPrinter }

func (p failPrinter) Send(context.Context, *printers.Job) (printers.Receipt, error) {
	return printers.Receipt{}, fmt.Errorf("refused: %w", printers.ErrNotDelivered)
}

// TestSchedulerStartStopLeavesNothingRunning starts and stops the scheduler 100 times, each
// time with a job printing (its watcher blocked), jobs refused until a printer's circuit
// breaker opens (arming a timer) and a probe loop per printer: when Run returns, no goroutine
// of it is left (goleak) and no timer of it is armed.
func TestSchedulerStartStopLeavesNothingRunning(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := range 100 {
		store, err := spool.Open(context.Background(), spool.Options{Dir: t.TempDir(), PageCounter: markedPages, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		hold := newHoldPrinter("hold", 30)
		bad := failPrinter{newHoldPrinter("bad", 60)}
		sched, err := New(Options{Store: store, Logger: log, ProbeInterval: time.Hour, MaxInflight: 1,
			Printers: []PrinterSpec{{Name: "hold", Printer: hold}, {Name: "bad", Printer: bad}},
			Virtual: []VirtualSpec{{Name: "letters", Pool: []string{"hold"}, Default: true},
				{Name: "refused", Pool: []string{"bad"}}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sched.Run(ctx) }()
		select {
		case <-sched.Running():
		case <-time.After(10 * time.Second):
			t.Fatal("scheduler did not start")
		}
		for n := range 5 {
			st, err := sched.Stage(ctx, bytes.NewReader(fmt.Appendf(nil, "%%PDF-1.4 run %d letter %d pages=1", i, n)), "letter", "application/pdf")
			if err != nil {
				t.Fatal(err)
			}
			vp := "refused" // three refusals open bad's circuit breaker
			if n == 0 {
				vp = "letters"
			}
			if _, err := sched.Submit(ctx, job.NewJob{VirtualPrinter: vp, Name: "letter", Origin: "test"}, []*job.Staged{st}); err != nil {
				t.Fatal(err)
			}
		}
		hold.waitSend(t)
		if i == 0 { // the breaker's timer is what the check after Run is about
			deadline := time.Now().Add(10 * time.Second)
			for !sched.timerArmed("breaker:bad") {
				if time.Now().After(deadline) {
					t.Fatal("printer bad's circuit breaker never armed its timer")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("scheduler did not stop within 10s")
		}
		sched.timers.mu.Lock()
		armed, stopped := len(sched.timers.timers), sched.timers.stopped
		sched.timers.mu.Unlock()
		if armed != 0 || !stopped {
			t.Fatalf("round %d: after Run returned, %d timers armed (stopped %v)", i, armed, stopped)
		}
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// timerArmed reports whether the scheduler holds a timer of that name.
func (s *Scheduler) timerArmed(name string) bool {
	s.timers.mu.Lock()
	defer s.timers.mu.Unlock()
	_, ok := s.timers.timers[name]
	return ok
}

// TestWakeTimersStop: a stopped set of timers runs no callback and arms nothing new.
func TestWakeTimersStop(t *testing.T) {
	t.Parallel()
	var w wakeTimers
	fired := make(chan string, 4)
	w.set("a", time.Hour, func() { fired <- "a" })
	w.set("b", time.Hour, func() { fired <- "b" })
	w.set("a", 0, func() { fired <- "a-again" }) // Reset: a's deadline moves, its callback stays
	select {
	case got := <-fired:
		if got != "a" {
			t.Fatalf("fired %q, want a (the first callback, moved to now)", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timer a reset to 0 never fired")
	}
	w.stop()
	w.set("c", 0, func() { fired <- "c" })
	w.mu.Lock()
	n := len(w.timers)
	w.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d timers armed after stop", n)
	}
}
