// The scheduling pass: which pending job goes to which printer, by expected finish time.
package queue

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// schedulePage bounds how many pending jobs one pass plans; the rest wait for a later pass.
// Beyond a few hundred jobs the plan no longer changes what starts now: every printer, down to
// one with a twentieth of the fleet's speed, already has jobs planned, and the tail is far away.
// Reading the page is most of a pass's cost.
const schedulePage = 500

// errorPenalty is added to a printer's expected finish time per recent send error, so a flaky
// printer gets work only when the others are clearly busier.
const errorPenalty = 30 * time.Second

// schedule plans the pending jobs, in lane/priority/sequence order, onto the usable pool members
// by earliest expected finish time: each job goes where it would be done soonest given what that
// printer already holds and the jobs planned there before it. A job planned onto a printer with
// a free max_inflight slot starts now; the others wait in the gateway, where they can still fail
// over, and are planned afresh by the next pass.
//
// Planning the whole queue rather than one job at a time does two things the plain cost model
// (backlog + pages) / ppm cannot: while the queue is long every printer, slow ones included,
// is kept busy (the fast ones' planned queues push later jobs to them); at the tail a job waits
// for a fast printer that will be free soon instead of starting on a slow one that would finish
// it later.
func (s *Scheduler) schedule(ctx context.Context) error {
	s.mu.Lock()
	free := s.anyFreeSlot(s.now())
	gen := s.planGen
	// Paused virtual printers' jobs wait: leave them out of the read, or a paused queue of
	// thousands would be read back after every new job.
	var paused []string
	for name := range s.virtual {
		if s.paused[name] {
			paused = append(paused, name)
		}
	}
	allPaused := len(paused) == len(s.virtual)
	if !free {
		// Slots held by handed-over jobs free themselves with no event: wake then, or the
		// next job waits for an unrelated one.
		s.armHandoverTimer(s.now())
	}
	s.mu.Unlock()
	if !free || allPaused {
		return nil
	}
	jobs, err := s.store.Jobs(ctx, job.JobFilter{States: []job.State{job.StatePending}, Order: "schedule",
		NotVirtualPrinters: paused, Limit: schedulePage, WithoutDocuments: true})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadErr = nil
	if s.planGen != gen {
		// An operator moved a job while we read the queue: our copy may lack its new printer.
		s.kick()
		return nil
	}
	now := s.now()
	inFlight := map[int64]bool{}
	for _, m := range s.members {
		for id := range m.flights {
			inFlight[id] = true
		}
	}
	p := s.newPlan(now)
	for _, j := range jobs {
		if p.freeSlots == 0 {
			break
		}
		if inFlight[j.ID] || s.paused[j.VirtualPrinter] {
			continue
		}
		m := s.bestFor(p, j)
		if m == nil {
			continue
		}
		p.avail[m] = s.finishAt(p.avail[m], m, j)
		if p.slots[m] > 0 {
			p.slots[m]--
			p.freeSlots--
			s.startFlight(ctx, j, m)
			s.letterStarted(j, m)
		}
	}
	s.armHandoverTimer(now)
	return nil
}

// plan is one pass's view of the printers: when each could start another job, and how many
// more jobs each may hold.
type plan struct {
	// avail is, per usable member, the minutes until it would be done with everything it holds
	// and everything this pass planned onto it.
	avail map[*member]float64
	// slots are free max_inflight slots per usable member; freeSlots their sum.
	slots     map[*member]int
	freeSlots int
}

// newPlan starts a pass's plan from the live state. Called with s.mu held.
func (s *Scheduler) newPlan(now time.Time) *plan {
	p := &plan{avail: map[*member]float64{}, slots: map[*member]int{}}
	for _, m := range s.members {
		if !m.usable(now) || !s.drives(m) {
			continue
		}
		p.avail[m] = m.remainingMinutes(now) + float64(m.sendErrors)*errorPenalty.Minutes()
		free := max(m.spec.MaxInflight-m.slotsUsed(now), 0)
		p.slots[m] = free
		p.freeSlots += free
	}
	return p
}

// bestFor returns the usable pool member that would finish j soonest under plan p, or nil when
// none can print it. A job an operator moved (pending with a printer set) goes only there. Ties
// go to the member with more free slots, then to the first in pool order.
func (s *Scheduler) bestFor(p *plan, j *job.Job) *member {
	v := s.virtual[j.VirtualPrinter]
	if v == nil {
		return nil
	}
	pool := v.Pool
	if j.Printer != "" {
		pool = []string{j.Printer}
	}
	var best, last *member
	bestFinish, lastFinish := math.Inf(1), math.Inf(1)
	for _, name := range pool {
		m := s.members[name]
		if m == nil {
			continue
		}
		avail, ok := p.avail[m]
		if !ok || !s.canPrint(m, j) {
			continue
		}
		f := s.finishAt(avail, m, j)
		if !s.inRunOrder(j, m) {
			// A later letter of j's run already started on m: m only as a last resort.
			if f < lastFinish {
				last, lastFinish = m, f
			}
			continue
		}
		if f < bestFinish || (f == bestFinish && p.slots[m] > p.slots[best]) {
			best, bestFinish = m, f
		}
	}
	if best == nil {
		// No usable member can take it in sequence (its in-sequence printers are down): out of
		// order beats not at all.
		return last
	}
	return best
}

// runOrder keeps each bulk run's letters in sequence on every printer: a letter never starts on
// a printer where a later letter of its run already started (and flights to one printer send
// in the order they were started, flight.go). Reprints and letters re-sent after a failure are
// out of sequence by nature and exempt. Guarded by s.mu; the zero value is ready.
type runOrder struct {
	maxSeq map[int64]map[string]int64 // run → printer → highest sequence started there
}

// ordered reports whether j is a bulk letter whose order counts.
func ordered(j *job.Job) bool {
	return j.RunID != 0 && j.Lane == job.LaneBulk && j.Attempts == 0 && j.Origin != job.OriginBulkReprint
}

// inRunOrder: may j start on m without m printing its run out of sequence? Called with s.mu held.
func (s *Scheduler) inRunOrder(j *job.Job, m *member) bool {
	return !ordered(j) || s.letters.maxSeq[j.RunID][m.spec.Name] < j.Seq
}

// letterStarted records that letter j started on m. Called with s.mu held.
func (s *Scheduler) letterStarted(j *job.Job, m *member) {
	if !ordered(j) {
		return
	}
	if s.letters.maxSeq == nil {
		s.letters.maxSeq = map[int64]map[string]int64{}
	}
	per := s.letters.maxSeq[j.RunID]
	if per == nil {
		per = map[string]int64{}
		s.letters.maxSeq[j.RunID] = per
	}
	per[m.spec.Name] = max(per[m.spec.Name], j.Seq)
}

// pageMinutes is how long a printer printing ppm pages a minute takes for pages.
func pageMinutes(ppm, pages int) float64 {
	return float64(max(pages, 1)) / float64(max(ppm, 1))
}

// remainingMinutes estimates how long m needs for the work it holds: what it accepted (until
// busyUntil) plus the jobs on their way to it. Called with s.mu held.
func (m *member) remainingMinutes(now time.Time) float64 {
	r := 0.0
	if m.busyUntil.After(now) {
		r = m.busyUntil.Sub(now).Minutes()
	}
	for _, f := range m.flights {
		if f.state != job.StatePrinting {
			r += pageMinutes(f.ppm, f.pages)
		}
	}
	return r
}

// slotsUsed counts m's flights plus the handed-over jobs it is still expected to be printing.
// Called with s.mu held; forgets handed-over jobs that should be done by now.
func (m *member) slotsUsed(now time.Time) int {
	keep := m.handedOver[:0]
	for _, t := range m.handedOver {
		if t.After(now) {
			keep = append(keep, t)
		}
	}
	m.handedOver = keep
	return len(m.flights) + len(keep)
}

// accepted records that m took a job of pages pages at now with receipt r. When the transfer
// was the completion (r.Done: LPD, socket, file), the job prints inside the printer after its
// flight and holds a slot until it should be done: when the printer said (r.FinishAt; a file
// printer without a simulated engine: at once), else by the ppm estimate. Called with s.mu held.
func (m *member) accepted(now time.Time, pages, ppm int, r printers.Receipt) {
	if r.Done && !r.FinishAt.IsZero() {
		if r.FinishAt.After(m.busyUntil) {
			m.busyUntil = r.FinishAt
		}
		if r.FinishAt.After(now) {
			m.handedOver = append(m.handedOver, r.FinishAt)
		}
		return
	}
	start := now
	if m.busyUntil.After(start) {
		start = m.busyUntil
	}
	m.busyUntil = start.Add(pageTime(ppm, pages))
	if r.Done {
		m.handedOver = append(m.handedOver, m.busyUntil)
	}
}

// finished records that m reported a job done at now: the jobs still printing there start
// now at the latest, which corrects busyUntil whether the printer ran faster or slower than
// its ppm. Flights waiting after a busy answer are woken. Called with s.mu held.
func (m *member) finished(now time.Time, done *flight) {
	var left time.Duration
	for _, f := range m.flights {
		if f != done && f.state == job.StatePrinting {
			left += pageTime(f.ppm, f.pages)
		}
	}
	m.busyUntil = now.Add(left)
	close(m.senderWake)
	m.senderWake = make(chan struct{})
}

// pageTime is how long a printer printing ppm pages a minute takes for pages.
func pageTime(ppm, pages int) time.Duration {
	return time.Duration(float64(pages) / float64(max(ppm, 1)) * float64(time.Minute))
}

// anyFreeSlot: is there a usable printer that can take another job? Called with s.mu held.
func (s *Scheduler) anyFreeSlot(now time.Time) bool {
	for _, m := range s.members {
		if m.usable(now) && s.drives(m) && m.slotsUsed(now) < m.spec.MaxInflight {
			return true
		}
	}
	return false
}

// armHandoverTimer asks for a pass when the next handed-over job should be done, since that
// frees a slot without any event. Called with s.mu held.
func (s *Scheduler) armHandoverTimer(now time.Time) {
	var next time.Time
	for _, m := range s.members {
		for _, t := range m.handedOver {
			if next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	if next.IsZero() {
		return
	}
	d := next.Sub(now) + time.Millisecond
	s.timers.set("handover", d, s.kick)
}

// finishingsNone is the finishings enum "none" (PWG 5100.1), which every printer does.
const finishingsNone = 3

// supports reports whether a printer with capabilities c can print j as asked. Unknown
// capabilities (nil, or an empty list) are taken as "can": a printer that cannot say is trusted.
func supports(c *printers.Capabilities, j *job.Job) bool {
	if c == nil {
		// Not probed yet: trusted, except with overrides, which need a printer that says so.
		return len(j.Attributes.Overrides) == 0
	}
	a := j.Attributes
	has := func(list []string, v string) bool { return len(list) == 0 || v == "" || slices.Contains(list, v) }
	if !has(c.Sides, a.Sides) || !has(c.Media, a.Media) {
		return false
	}
	// A tray or a kind of paper only some members have routes the job to those ("auto" is
	// any tray).
	if a.MediaSource != "auto" && !has(c.MediaSources, a.MediaSource) || !has(c.MediaTypes, a.MediaType) ||
		!has(c.OutputBins, a.OutputBin) {
		return false
	}
	if a.ColorMode == "color" && len(c.ColorModes) > 0 && !slices.Contains(c.ColorModes, "color") {
		return false
	}
	// Staples, punches and imposition are the printer's to do: only members that offer them
	// (or cannot say).
	for _, f := range a.Finishings {
		if f != finishingsNone && len(c.Finishings) > 0 && !slices.Contains(c.Finishings, f) {
			return false
		}
	}
	for _, f := range a.FinishingTemplates {
		if f != "none" && !has(c.FinishingTemplates, f) {
			return false
		}
	}
	if a.NumberUp > 1 && len(c.NumberUp) > 0 && !slices.Contains(c.NumberUp, a.NumberUp) {
		return false
	}
	// Overrides only to a member that says it does each one: the gateway cannot apply them,
	// and a printer that cannot say (LPD, socket, file) would print every page alike.
	for _, n := range a.OverrideNames() {
		if !slices.Contains(c.Overrides, n) {
			return false
		}
	}
	// The document format is the format bridge's to judge (canPrint, bridge.go).
	return true
}

// SupportedBy reports which members of virtual printer vp could print a job with attrs; the
// front-ends refuse a job no member supports (feature routing).
func (s *Scheduler) SupportedBy(vp string, attrs job.Attributes) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.virtual[vp]
	if v == nil {
		return nil
	}
	j := &job.Job{Attributes: attrs}
	var out []string
	for _, name := range v.Pool {
		m := s.members[name]
		if s.canPrint(m, j) {
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
