// Package storetest is the behavioural suite every spool driver passes: one set of cases that
// exercises a store only through queue.Store, plus the few hooks a driver supplies to open,
// close and reopen a spool, to count what it holds and to inject time. The SQLite driver runs it
// in spool/storetest_test.go; a second driver runs it the same way:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, storetest.Driver{Open: ..., Reopen: ..., Documents: ...})
//	}
//
// What it checks: the durability protocol, idempotency keys (Stage then Submit; what is read back after a reopen is
// what was acknowledged, documents byte for byte; refused, discarded and never-submitted
// documents leave nothing behind), every legal and illegal state transition with its event and
// side effects, the guards that make claiming safe under concurrency, recovery at open, bulk runs
// and their schedules, retention, events, controls, job filters and tallies.
package storetest

import (
	"io"
	"testing"
	"time"

	"github.com/printgate/printgate/queue"
)

// Driver is what a store driver gives the suite.
type Driver struct {
	// Open opens a new, empty store for one test with the options mapped onto the driver's
	// own. The driver closes it when the test ends (t.Cleanup); closing a store that Reopen
	// closed already must be harmless.
	Open func(t *testing.T, o Options) queue.Store
	// Reopen closes s and opens the same spool again with the same options, running the
	// driver's recovery at start as a restart of the gateway would. s is not used afterwards.
	Reopen func(t *testing.T, s queue.Store) queue.Store
	// Documents counts the documents s holds in any form: attached to a job, staged and not
	// yet submitted, or left behind by a failed upload. The suite compares it before and after
	// refusals, discards, recovery and retention to see that nothing is left behind. A document
	// a driver keeps in memory until its commit need not be counted before it.
	Documents func(t *testing.T, s queue.Store) int
}

// Options are the settings of a store that the cases depend on; the driver maps them onto its
// own options. The suite always sets Now and PageCounter.
type Options struct {
	// Now is the store's clock: every time it writes comes from it.
	Now func() time.Time
	// MaxDocumentBytes limits one document (job.ErrTooLarge past it); 0 means no limit.
	MaxDocumentBytes int64
	// Retention is how long the documents of finished jobs are kept; 0 keeps them for ever.
	Retention time.Duration
	// PageCounter counts the pages of a staged document of size bytes read from rs.
	PageCounter func(rs io.ReadSeeker, size int64, format string) (pages int, estimated bool)
}

// cases is the suite, in the order Run starts them. Every case opens its own stores, so all of
// them run in parallel.
var cases = []struct {
	name string
	fn   func(t *testing.T, d Driver)
}{
	// The durability protocol and documents (documents.go).
	{"Durability/AcknowledgedSurvivesReopen", testAcknowledgedSurvivesReopen},
	{"Durability/UnsubmittedDocumentsGone", testUnsubmittedDocumentsGone},
	{"Durability/ConcurrentSubmits", testConcurrentSubmits},
	{"Documents/SubmitRecordsDocuments", testSubmitRecordsDocuments},
	{"Documents/StageRefusals", testStageRefusals},
	{"Documents/StageLimits", testStageLimits},
	{"Documents/AddDocumentOnlyToReceived", testAddDocumentOnlyToReceived},
	// Idempotency keys (idempotency.go).
	{"Idempotency/Retry", testIdempotentRetry},
	{"Idempotency/ConcurrentRetries", testIdempotentConcurrentRetries},
	{"Idempotency/CreateRun", testIdempotentCreateRun},
	// Job states (transitions.go).
	{"Transitions/Table", testTransitions},
	{"Transitions/Guards", testTransitionGuards},
	{"Transitions/SideEffects", testTransitionSideEffects},
	{"Transitions/Times", testTransitionTimes},
	{"Transitions/ConcurrentClaims", testConcurrentClaims},
	{"Transitions/SubmitHeld", testSubmitHeld},
	{"Transitions/SetProgress", testSetProgress},
	// Page-counter evidence and duplicate reviews (duplicates.go).
	{"Duplicates/EvidenceKept", testEvidenceKept},
	{"Duplicates/Review", testDuplicateReview},
	// Recovery at open (recovery.go).
	{"Recovery/Jobs", testRecovery},
	// Bulk runs (runs.go).
	{"Runs/RegistrationIsAtomic", testRunRegistrationIsAtomic},
	{"Runs/UncommittedDiscardedAtRecovery", testUncommittedRunDiscardedAtRecovery},
	{"Runs/Discard", testRunDiscard},
	{"Runs/ScheduledWaitsForStart", testScheduledRunWaitsForStart},
	{"Runs/PauseResumeCancelFinish", testRunPauseResumeCancelFinish},
	{"Runs/CompletesAndReprints", testRunCompletesAndReprints},
	{"Runs/StaleUploads", testStaleUploads},
	{"Runs/List", testRunsList},
	// Cron schedules (schedules.go).
	{"Schedules/PersistAndRememberContent", testSchedulesPersistAndRememberContent},
	{"Schedules/Fired", testScheduleFired},
	// Retention (retention.go).
	{"Retention/RemovesDocuments", testRetention},
	{"Retention/Disabled", testRetentionDisabled},
	{"Retention/Purge", testPurge},
	// Queries (queries.go).
	{"Filters/VirtualPrinter", testJobFilterByVirtualPrinter},
	{"Filters/Fields", testJobFilterFields},
	{"Filters/Order", testJobFilterOrder},
	{"Events/FiltersAndOrder", testEvents},
	{"Controls", testControls},
	{"Tallies", testTallies},
}

// Run runs every case of the suite against d, each as a parallel subtest with its own stores.
func Run(t *testing.T, d Driver) {
	t.Helper()
	if d.Open == nil || d.Reopen == nil || d.Documents == nil {
		t.Fatal("storetest: Driver needs Open, Reopen and Documents")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, d)
		})
	}
}
