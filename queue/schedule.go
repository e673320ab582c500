// Cron schedules: a persisted cron spec and a drop folder on the gateway host. At each firing
// the folder's PDFs not seen before (by content hash) become one run. A firing missed while the
// gateway was down happens once, at start, with an event saying it was late.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// ScheduleRequest describes a new cron schedule.
type ScheduleRequest struct {
	Name string
	// Printer is the virtual printer; "" means the default one.
	Printer string
	Owner   string
	// Spec is a cron spec: five fields (minute hour day month weekday), six with seconds
	// first, or a descriptor such as @daily. Times are the gateway's local time.
	Spec string
	// Dir is the drop folder, an absolute path on the gateway host.
	Dir        string
	Attributes job.Attributes
	// Separator is passed to the runs (see RunRequest).
	Separator bool
}

// ScheduleInfo is a schedule with its next firing.
type ScheduleInfo struct {
	*job.Schedule
	// Next is the next firing; zero when the spec no longer parses (Error says why).
	Next  time.Time `json:"next,omitzero"`
	Error string    `json:"error,omitempty"`
}

// CreateSchedule checks the spec, the folder and the printer, and persists the schedule.
func (b *Bulk) CreateSchedule(ctx context.Context, rq ScheduleRequest) (*ScheduleInfo, error) {
	if _, err := b.parser.Parse(rq.Spec); err != nil {
		return nil, fmt.Errorf("%w: cron spec %q: %v", ErrBadSchedule, rq.Spec, err)
	}
	if !filepath.IsAbs(rq.Dir) {
		return nil, fmt.Errorf("%w: drop folder %q must be an absolute path on the gateway host", ErrBadSchedule, rq.Dir)
	}
	if _, err := os.ReadDir(rq.Dir); err != nil {
		return nil, fmt.Errorf("%w: drop folder on the gateway host: %v", ErrBadSchedule, err)
	}
	nr, err := b.newRun(RunRequest{Name: rq.Name, Printer: rq.Printer, Attributes: rq.Attributes})
	if err != nil {
		return nil, err
	}
	sc, err := b.store.CreateSchedule(ctx, job.Schedule{Name: rq.Name, VirtualPrinter: nr.VirtualPrinter, Owner: rq.Owner,
		Spec: rq.Spec, Dir: filepath.Clean(rq.Dir), Attributes: nr.Attributes, Separator: rq.Separator})
	if err != nil {
		return nil, err
	}
	poke(b.schedWake)
	b.s.coord.Publish(NoticeSchedulesChanged, "")
	info := b.scheduleInfo(sc)
	b.log.Info("schedule created", "schedule", sc.ID, "cron", sc.Spec, "dir", sc.Dir, "next", info.Next)
	return &info, nil
}

// Schedules lists the schedules with their next firings.
func (b *Bulk) Schedules(ctx context.Context) ([]ScheduleInfo, error) {
	list, err := b.store.Schedules(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ScheduleInfo, 0, len(list))
	for _, sc := range list {
		out = append(out, b.scheduleInfo(sc))
	}
	return out, nil
}

// DeleteSchedule stops a schedule; runs it made are not touched.
func (b *Bulk) DeleteSchedule(ctx context.Context, id int64, actor string) error {
	if err := b.store.DeleteSchedule(ctx, id, actor); err != nil {
		return err
	}
	poke(b.schedWake)
	b.s.coord.Publish(NoticeSchedulesChanged, "")
	return nil
}

func (b *Bulk) scheduleInfo(sc *job.Schedule) ScheduleInfo {
	info := ScheduleInfo{Schedule: sc}
	spec, err := b.parser.Parse(sc.Spec)
	if err != nil {
		info.Error = err.Error()
		return info
	}
	info.Next = spec.Next(scheduleBase(sc))
	return info
}

// scheduleBase is the time the next firing is counted from: the last one handled, or the
// schedule's creation.
func scheduleBase(sc *job.Schedule) time.Time {
	if !sc.LastFired.IsZero() {
		return sc.LastFired
	}
	return sc.Created
}

// scheduleLoop fires due schedules until ctx ends. The first pass, at start, fires each
// schedule whose firing passed while the gateway was down, once, and says it was late.
//
// Only the cluster's leader fires: another gateway waits for a lease change, and a gateway that
// becomes leader fires at once what came due while no one was leading, as a start does.
func (b *Bulk) scheduleLoop(ctx context.Context) {
	leases, stop := b.s.coord.Subscribe(TopicLeases)
	defer stop()
	// A schedule made on another gateway: the leader must hear of it, or it would sleep on
	// until some lease change woke it (seen: a schedule made on a non-leader did not fire).
	schedules, stopSchedules := b.s.coord.Subscribe(TopicSchedules)
	defer stopSchedules()
	leading := b.s.coord.Leader()
	var next time.Time
	if leading {
		next = b.fireDue(ctx, b.now(), true)
	}
	for {
		var timer *time.Timer
		var due <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(max(next.Sub(b.now()), 0))
			due = timer.C
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-due:
		case <-b.schedWake:
			if timer != nil {
				timer.Stop()
			}
		case <-schedules:
			if timer != nil {
				timer.Stop()
			}
		case <-leases:
			if timer != nil {
				timer.Stop()
			}
		}
		was := leading
		if leading = b.s.coord.Leader(); !leading {
			next = time.Time{}
			continue
		}
		next = b.fireDue(ctx, b.now(), !was)
	}
}

// claimRecheck is how soon a schedule another gateway claimed is looked at again: by then its
// firing has normally committed and moved the schedule's last firing on.
const claimRecheck = 5 * time.Second

// fireDue fires every schedule due at now and returns the earliest next firing (zero when there
// is none). atStart marks the pass at start: anything due then was missed while down.
func (b *Bulk) fireDue(ctx context.Context, now time.Time, atStart bool) time.Time {
	b.fireMu.Lock()
	defer b.fireMu.Unlock()
	list, err := b.store.Schedules(ctx)
	if err != nil {
		b.log.Error("list schedules", "err", err)
		// Look again soon rather than never.
		return now.Add(10 * time.Second)
	}
	var next time.Time
	for _, sc := range list {
		spec, err := b.parser.Parse(sc.Spec)
		if err != nil {
			b.log.Error("schedule has a bad cron spec", "schedule", sc.ID, "cron", sc.Spec, "err", err)
			continue
		}
		due := spec.Next(scheduleBase(sc))
		if due.After(now) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		// Once across the cluster, even were two gateways to think they lead: the claim is
		// one row per (schedule, due) under a unique key.
		mine, err := b.s.coord.FireOnce(ctx, sc.ID, due)
		if err != nil || !mine {
			if err != nil && ctx.Err() == nil {
				b.log.Error("claim a schedule firing", "schedule", sc.ID, "err", err)
			}
			if r := now.Add(claimRecheck); next.IsZero() || r.Before(next) {
				next = r
			}
			continue
		}
		late := atStart || now.Sub(due) > b.opts.LateAfter
		fired := due
		if late {
			// However many firings were missed, this is the one: count the next from now.
			fired = now
		}
		if err := b.fire(ctx, sc, due, fired, late); err != nil && ctx.Err() == nil {
			b.log.Error("schedule firing failed", "schedule", sc.ID, "err", err)
		}
		if n := spec.Next(fired); next.IsZero() || n.Before(next) {
			next = n
		}
	}
	return next
}

// dropFile is a letter found in a drop folder.
type dropFile struct {
	name, path, sha string
}

// fire reads the schedule's folder and registers its new letters as one run. Every outcome
// (a run, nothing new, an error) is recorded as the firing handled, with an event, so a
// failing folder does not fire again in a loop; letters not registered stay unseen and come
// with the next firing.
func (b *Bulk) fire(ctx context.Context, sc *job.Schedule, due, fired time.Time, late bool) error {
	what := fmt.Sprintf("schedule %d %q fired", sc.ID, sc.Name)
	if late {
		what = fmt.Sprintf("schedule %d %q fired late: it was due at %s (the gateway was down or busy)", sc.ID, sc.Name,
			due.Format(time.RFC3339))
	}
	record := func(msg string) error {
		if err := b.store.ScheduleFired(context.WithoutCancel(ctx), sc.ID, fired, msg); err != nil {
			return err
		}
		b.log.Info(msg, "schedule", sc.ID)
		return nil
	}
	files, skipped, err := b.readDropFolder(ctx, sc)
	if err != nil {
		return errors.Join(err, record(fmt.Sprintf("%s: %v", what, err)))
	}
	note := ""
	if len(skipped) > 0 {
		note = fmt.Sprintf("; left for later: %s", strings.Join(skipped, ", "))
	}
	if len(files) == 0 {
		return record(fmt.Sprintf("%s: no new letters in %s%s", what, sc.Dir, note))
	}
	r, err := b.store.CreateRun(ctx, job.NewRun{Name: fmt.Sprintf("%s %s", sc.Name, fired.Local().Format("2006-01-02 15:04:05")),
		VirtualPrinter: sc.VirtualPrinter, Owner: sc.Owner, Source: fmt.Sprintf("schedule %d: %s", sc.ID, sc.Dir),
		ScheduleID: sc.ID, Attributes: sc.Attributes, Separator: sc.Separator})
	if err != nil {
		return errors.Join(err, record(fmt.Sprintf("%s: %v", what, err)))
	}
	abandon := func(err error) error {
		derr := b.store.DiscardRun(context.WithoutCancel(ctx), r.ID, "schedule firing failed: "+err.Error())
		return errors.Join(err, derr, record(fmt.Sprintf("%s: run %d not registered: %v", what, r.ID, err)))
	}
	for start := 0; start < len(files); start += MaxBatchLetters {
		var paths, names []string
		for _, f := range files[start:min(start+MaxBatchLetters, len(files))] {
			paths = append(paths, f.path)
			names = append(names, f.name)
		}
		src := fileSource(paths, names)
		letters, err := b.stageLetters(ctx, src, MaxBatchLetters, true)
		src.close()
		if err != nil {
			return abandon(err)
		}
		if _, err := b.store.AddLetters(ctx, r.ID, int64(start+1), letters); err != nil {
			discardLetters(letters)
			return abandon(err)
		}
	}
	// The commit records the letters as seen, the firing as handled and its event, atomically.
	msg := fmt.Sprintf("%s: run %d with %d letters from %s%s", what, r.ID, len(files), sc.Dir, note)
	// Not into r: abandon needs the run's id after a failed commit.
	if _, err := b.store.CommitRun(ctx, r.ID, job.CommitOptions{Actor: sc.Owner, Fired: fired, FiredMessage: msg}); err != nil {
		return abandon(err)
	}
	b.log.Info(msg, "schedule", sc.ID, "run", r.ID)
	poke(b.wake)
	b.s.changed()
	return nil
}

// readDropFolder lists the folder's PDFs in name order and keeps those whose content this
// schedule has not registered yet; skipped names files left for a later firing.
func (b *Bulk) readDropFolder(ctx context.Context, sc *job.Schedule) (files []dropFile, skipped []string, err error) {
	entries, err := os.ReadDir(sc.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read drop folder: %w", err)
	}
	var candidates []dropFile
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || !strings.EqualFold(filepath.Ext(name), ".pdf") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		path := filepath.Join(sc.Dir, name)
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if b.opts.Settle > 0 && time.Since(info.ModTime()) < b.opts.Settle {
			skipped = append(skipped, name+" (still being written)")
			continue
		}
		sum, err := hashFile(path)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s (%v)", name, err))
			continue
		}
		candidates = append(candidates, dropFile{name: name, path: path, sha: sum})
	}
	hashes := make([]string, len(candidates))
	for i, c := range candidates {
		hashes[i] = c.sha
	}
	seen, err := b.store.SeenByContent(ctx, sc.ID, hashes)
	if err != nil {
		return nil, nil, err
	}
	now := map[string]bool{}
	for _, c := range candidates {
		if _, done := seen[c.sha]; done || now[c.sha] {
			continue // printed once already (or the same letter twice in the folder)
		}
		if _, estimated := b.counter.Count(c.path, document.PDF); estimated {
			skipped = append(skipped, c.name+" (not a readable PDF)")
			continue
		}
		now[c.sha] = true
		files = append(files, c)
	}
	return files, skipped, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ParseSpec checks a cron spec the way schedules read it and returns its next firing after t.
func (b *Bulk) ParseSpec(spec string, t time.Time) (time.Time, error) {
	s, err := b.parser.Parse(spec)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: cron spec %q: %v", ErrBadSchedule, spec, err)
	}
	return s.Next(t), nil
}
