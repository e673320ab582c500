// The parameters of store queries and writes: what a transition changes, and which jobs,
// events and controls a query selects.
package job

import "time"

// Change describes a transition's side effects and its event.
type Change struct {
	// From, when not empty, lists the states the job must be in; otherwise ErrStateChanged.
	From []State
	// Printer sets the job's printer (nil leaves it; a pointer to "" clears it).
	Printer *string
	// Reason is the job's state reason (IPP job-state-reasons style keyword or text).
	Reason string
	// UpstreamID sets the printer's id for the job.
	UpstreamID *string
	// Attempt counts one more attempt.
	Attempt bool
	// PossibleDuplicate flags the job (never cleared).
	PossibleDuplicate bool
	// Evidence, when not nil, is what the printer's page counter said about this attempt: the
	// store keeps it on the job, and with PossibleDuplicate on the job's duplicate review.
	Evidence *Evidence
	// Kind is the event kind; EventJobState when empty.
	Kind    string
	Actor   string
	Message string
	// Fence, when not nil with an epoch above 0, makes the write conditional on this gateway
	// still holding the lease of Fence.Printer at Fence.Epoch, checked by the store in the same
	// statement (a driver shared by several gateways); refused: ErrFenced.
	Fence *Fence
}

// Fence is the printer lease a state write for a job at a printer is made under: the printer
// and the lease epoch the writing gateway holds it at. Epoch 0 means no lease machinery (one
// gateway alone on its spool): nothing to check.
type Fence struct {
	Printer string
	Epoch   int64
}

// Active reports whether f asks the store to check a lease.
func (f *Fence) Active() bool { return f != nil && f.Epoch > 0 }

// JobFilter selects jobs. Zero fields do not filter.
type JobFilter struct {
	IDs            []int64
	States         []State
	VirtualPrinter string
	// NotVirtualPrinters leaves out the jobs of these virtual printers.
	NotVirtualPrinters []string
	Printer            string
	Owner              string
	RunID              int64
	Lane               Lane
	PossibleDuplicate  bool
	// Search matches name or owner (substring, case-insensitive).
	Search string
	// BeforeID pages backwards (newest first): only ids below it.
	BeforeID int64
	// AfterID pages forwards: only ids above it.
	AfterID int64
	Limit   int
	// Order: "newest" (default), "oldest", or "schedule" (lane, priority, run sequence, id).
	Order string
	// WithoutDocuments skips loading document rows (faster lists).
	WithoutDocuments bool
}

// Tally is a count of jobs and pages grouped by one key.
type Tally struct {
	Key   string `json:"key"`
	State State  `json:"state"`
	Lane  Lane   `json:"lane"`
	Jobs  int    `json:"jobs"`
	Pages int    `json:"pages"`
}

// EventFilter selects events; zero fields do not filter.
type EventFilter struct {
	Kinds    []string
	JobID    int64
	Printer  string
	RunID    int64
	AfterID  int64
	BeforeID int64
	Limit    int
}

// Control is a persisted operator switch (drained printer, paused virtual printer).
type Control struct {
	Scope  string    `json:"scope"`
	Name   string    `json:"name"`
	Paused bool      `json:"paused"`
	Actor  string    `json:"actor,omitempty"`
	At     time.Time `json:"at"`
}
