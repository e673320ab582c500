// The cluster seam: what the scheduler needs to know when several gateways share one spool.
// A gateway drives a printer only while it holds that printer's lease, and runs cron schedules,
// retention and the stale-received sweep only while it is the leader. Package cluster implements
// it on PostgreSQL; Single, the default, is one gateway alone: leader, holding every printer,
// so a gateway on a SQLite spool behaves exactly as it did before there were leases.
package queue

import (
	"context"
	"time"
)

// Lease is this gateway's view of one printer's lease.
type Lease struct {
	// Held: this gateway may send jobs to the printer now. It turns false the moment the
	// lease lapses on this gateway's own clock (before the database would let another
	// gateway take it), and the scheduler then stops every flight there.
	Held bool
	// Yielding: held, but being handed to another gateway (the cluster spreads printers):
	// start nothing new there, and say Yielded once nothing is on its way to the printer.
	Yielding bool
	// Epoch is the lease's fencing epoch: it grows every time the lease changes hands, and the
	// PostgreSQL driver's state writes check it. 0 means there is no lease machinery (Single):
	// no lease events are recorded and nothing is adopted.
	Epoch int64
	// Gateway is the gateway that drives the printer, cluster-wide ("" when none or unknown).
	Gateway string
	// Previous is the gateway that held the lease before this gateway took it ("" when it
	// was free, or held by this gateway before).
	Previous string
}

// Topic is what a Coordinator subscription is signalled about.
type Topic int

const (
	// TopicLeases: this gateway's leases or its leadership changed (gained, lapsed, yielding).
	TopicLeases Topic = iota
	// TopicJobs: another gateway accepted or changed jobs (its wake-up for this one).
	TopicJobs
	// TopicSchedules: another gateway created or deleted a cron schedule (the leader's
	// schedule loop must count its next firing).
	TopicSchedules
)

// Notice kinds a gateway publishes to the others.
const (
	NoticeJobAccepted = "job-accepted"
	NoticeJobChanged  = "job-changed"
	NoticeLeaseMoved  = "lease-moved"
	// NoticeSchedulesChanged: a schedule was created or deleted on this gateway.
	NoticeSchedulesChanged = "schedules-changed"
)

// Coordinator decides which printers this gateway drives and whether it is the leader, and
// carries wake-ups between gateways. Its methods are safe for concurrent use and do not block
// on the network, except FireOnce.
type Coordinator interface {
	// Gateway is this gateway's id in the cluster.
	Gateway() string
	// Lease is this gateway's lease on printer.
	Lease(printer string) Lease
	// Leader: this gateway runs cron schedules, retention and the stale-received sweep.
	Leader() bool
	// Yielded says a yielding printer has nothing left on its way from this gateway: the
	// lease may go to another gateway now.
	Yielded(printer string)
	// FireOnce claims the firing of schedule id due at due for this gateway, across the
	// cluster; false: another gateway has it.
	FireOnce(ctx context.Context, scheduleID int64, due time.Time) (bool, error)
	// Publish tells the other gateways that something happened (a Notice kind) at printer
	// or virtual printer name ("" = anywhere); it never blocks and may coalesce.
	Publish(kind, name string)
	// Subscribe returns a channel signalled (coalesced) on topic, and a function to stop.
	Subscribe(topic Topic) (<-chan struct{}, func())
}

// Single is the Coordinator of a gateway alone on its spool: leader, holding every printer
// with epoch 0, and nothing to tell anyone.
type Single struct {
	// Name is the gateway's name, for Gateway.
	Name string
}

// Gateway is s.Name.
func (s Single) Gateway() string { return s.Name }

// Lease holds every printer, with no lease machinery (epoch 0).
func (s Single) Lease(string) Lease { return Lease{Held: true} }

// Leader is always true.
func (Single) Leader() bool { return true }

// Yielded does nothing: a single gateway never yields.
func (Single) Yielded(string) {}

// FireOnce always fires: there is no one else.
func (Single) FireOnce(context.Context, int64, time.Time) (bool, error) { return true, nil }

// Publish does nothing.
func (Single) Publish(string, string) {}

// Subscribe returns a channel that is never signalled.
func (Single) Subscribe(Topic) (<-chan struct{}, func()) { return nil, func() {} }
