// The scheduling pass: which pending job goes to which printer, by expected finish time.
package queue

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// schedulePage bounds how many pending jobs one pass looks at; the rest wait for the next pass,
// which the completions of this pass's jobs trigger.
const schedulePage = 2000

// errorPenalty is added to a printer's expected finish time per recent send error, so a flaky
// printer gets work only when the others are clearly busier.
const errorPenalty = 30 * time.Second

// schedule assigns pending jobs, in lane/priority/sequence order, to the usable pool member with
// the smallest expected finish time (backlog_pages + pages) / ppm. When that printer already has
// max_inflight jobs the job waits for it rather than go to a printer that would finish it later:
// work stays in the gateway, where it can still fail over.
func (s *Scheduler) schedule(ctx context.Context) error {
	jobs, err := s.store.Jobs(ctx, spool.JobFilter{States: []spool.State{spool.StatePending}, Order: "schedule",
		Limit: schedulePage, WithoutDocuments: true})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadErr = nil
	now := s.now()
	inFlight := map[int64]bool{}
	for _, m := range s.members {
		for id := range m.flights {
			inFlight[id] = true
		}
	}
	for _, j := range jobs {
		if !s.anyFreeSlot(now) {
			return nil
		}
		if inFlight[j.ID] || s.paused[j.VirtualPrinter] {
			continue
		}
		m := s.choose(j, now)
		if m == nil || len(m.flights) >= m.spec.MaxInflight {
			continue
		}
		s.startFlight(ctx, j, m)
	}
	return nil
}

// anyFreeSlot: is there a usable printer that can take another job?
func (s *Scheduler) anyFreeSlot(now time.Time) bool {
	for _, m := range s.members {
		if m.usable(now) && len(m.flights) < m.spec.MaxInflight {
			return true
		}
	}
	return false
}

// choose returns the pool member that would finish j soonest, or nil when none is usable and
// able to print it. A job an operator moved (pending with a printer set) goes only there.
func (s *Scheduler) choose(j *spool.Job, now time.Time) *member {
	v := s.virtual[j.VirtualPrinter]
	if v == nil {
		return nil
	}
	pool := v.Pool
	if j.Printer != "" {
		pool = []string{j.Printer}
	}
	var best *member
	bestFinish := math.Inf(1)
	for _, name := range pool {
		m := s.members[name]
		if m == nil || !m.usable(now) || !supports(m.status.Capabilities, j) {
			continue
		}
		f := finishMinutes(m, j.Pages)
		if f < bestFinish || (f == bestFinish && best != nil && len(m.flights) < len(best.flights)) {
			best, bestFinish = m, f
		}
	}
	return best
}

// finishMinutes is the cost model: minutes until m would finish a job of pages pages.
func finishMinutes(m *member, pages int) float64 {
	f := float64(m.backlog+max(pages, 1)) / float64(m.ppm())
	return f + float64(m.sendErrors)*errorPenalty.Minutes()
}

// supports reports whether a printer with capabilities c can print j as asked. Unknown
// capabilities (nil, or an empty list) are taken as "can": a printer that cannot say is trusted.
func supports(c *printers.Capabilities, j *spool.Job) bool {
	if c == nil {
		return true
	}
	a := j.Attributes
	has := func(list []string, v string) bool { return len(list) == 0 || v == "" || slices.Contains(list, v) }
	if !has(c.Sides, a.Sides) || !has(c.Media, a.Media) {
		return false
	}
	if a.ColorMode == "color" && len(c.ColorModes) > 0 && !slices.Contains(c.ColorModes, "color") {
		return false
	}
	if f := a.DocumentFormat; f != "" && f != "application/octet-stream" && len(c.Formats) > 0 {
		if !slices.Contains(c.Formats, f) && !slices.Contains(c.Formats, "application/octet-stream") {
			return false
		}
	}
	return true
}

// SupportedBy reports which members of virtual printer vp could print a job with attrs; the
// front-ends refuse a job no member supports (feature routing).
func (s *Scheduler) SupportedBy(vp string, attrs spool.Attributes) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.virtual[vp]
	if v == nil {
		return nil
	}
	j := &spool.Job{Attributes: attrs}
	var out []string
	for _, name := range v.Pool {
		m := s.members[name]
		if supports(m.status.Capabilities, j) {
			out = append(out, name)
		}
	}
	return out
}

// reasonList renders printer-state-reasons for messages.
func reasonList(r []string) string {
	if len(r) == 0 {
		return "none"
	}
	return strings.Join(r, ",")
}
