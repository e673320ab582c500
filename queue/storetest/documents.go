// The durability protocol and documents: Stage then Submit (or AddDocument); what a reopened
// store reads back is what was acknowledged; what was refused, discarded or never submitted is
// gone.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/printgate/printgate/job"
)

// bigDocument is large enough that no driver keeps it beside its row in memory (330 KB).
func bigDocument() []byte { return bytes.Repeat(letter(3), 100) }

// testAcknowledgedSurvivesReopen: every job a store acknowledged (Submit, Create and
// AddDocument returned) is read back after a reopen as it was acknowledged, its documents byte
// for byte through both OpenDocument and DocumentBytes, its row and events unchanged.
func testAcknowledgedSurvivesReopen(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	type acked struct {
		j    *job.Job
		docs [][]byte
	}
	var acks []acked

	one := letter(1)
	acks = append(acks, acked{f.submit(one), [][]byte{one}})

	attrs := job.Attributes{Copies: 2, Sides: "two-sided-long-edge", Media: "iso_a4_210x297mm", ColorMode: "monochrome",
		PrintQuality: 5, Orientation: 4, PageRanges: [][2]int{{1, 2}, {4, 4}}, Finishings: []int{3, 4}, OutputBin: "top",
		JobPriority: 70, DocumentFormat: "application/pdf", Extra: map[string]string{"x-cost-center": "4711"}}
	two, three := letter(2), letter(3)
	held, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "labels", Name: "two documents", Owner: "alice",
		OriginHost: "10.0.0.7", Origin: "ipp", Attributes: attrs, Hold: true, HoldReason: "job-hold-until-specified"},
		[]*job.Staged{f.stage(two), f.stage(three)})
	if err != nil {
		t.Fatal(err)
	}
	acks = append(acks, acked{held, [][]byte{two, three}})

	big := bigDocument()
	bst, err := f.s.Stage(ctx, bytes.NewReader(big), "big.ps", "application/postscript")
	if err != nil {
		t.Fatal(err)
	}
	bj, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Name: "big", Owner: "bob", Origin: "lpd"}, []*job.Staged{bst})
	if err != nil {
		t.Fatal(err)
	}
	acks = append(acks, acked{bj, [][]byte{big}})

	c, err := f.s.Create(ctx, job.NewJob{VirtualPrinter: "letters", Name: "create-job", Owner: "carol", Origin: "ipp"})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != job.StateReceived || len(c.Documents) != 0 {
		t.Fatalf("Create: state %s with %d documents, want received with none", c.State, len(c.Documents))
	}
	four := letter(4)
	if _, err := f.s.AddDocument(ctx, c.ID, f.stage(one), false); err != nil {
		t.Fatal(err)
	}
	cj, err := f.s.AddDocument(ctx, c.ID, f.stage(four), true)
	if err != nil {
		t.Fatal(err)
	}
	acks = append(acks, acked{cj, [][]byte{one, four}})

	before := map[int64]string{}
	events := map[int64]int{}
	for _, a := range acks {
		before[a.j.ID] = fmt.Sprint(*f.job(a.j.ID))
		events[a.j.ID] = len(f.jobEvents(a.j.ID))
	}

	f.reopen()

	if n, err := f.s.CountJobs(ctx, job.JobFilter{}); err != nil || n != len(acks) {
		t.Fatalf("%d jobs after reopen (%v), want %d", n, err, len(acks))
	}
	for _, a := range acks {
		want := a.j
		got := f.job(want.ID)
		if got.UUID != want.UUID || got.UUID == "" || got.VirtualPrinter != want.VirtualPrinter || got.Name != want.Name ||
			got.Owner != want.Owner || got.OriginHost != want.OriginHost || got.Origin != want.Origin || got.Lane != want.Lane ||
			got.RunID != want.RunID || got.Seq != want.Seq || got.State != want.State || got.StateReason != want.StateReason ||
			got.Pages != want.Pages || got.PagesEstimated != want.PagesEstimated || !got.Created.Equal(want.Created) {
			t.Errorf("job %d after reopen differs from what was acknowledged:\n acknowledged %+v\n read back    %+v", want.ID, *want, *got)
		}
		if !reflect.DeepEqual(got.Attributes, want.Attributes) {
			t.Errorf("job %d attributes after reopen %+v, acknowledged %+v", want.ID, got.Attributes, want.Attributes)
		}
		if len(got.Documents) != len(a.docs) || len(want.Documents) != len(a.docs) {
			t.Errorf("job %d: %d documents after reopen, %d acknowledged, want %d", want.ID, len(got.Documents), len(want.Documents), len(a.docs))
			continue
		}
		for i, data := range a.docs {
			gd, wd := got.Documents[i], want.Documents[i]
			if gd.JobID != want.ID || gd.Seq != i+1 || gd.Seq != wd.Seq || gd.Name != wd.Name || gd.Format != wd.Format ||
				gd.Size != int64(len(data)) || gd.Size != wd.Size || gd.SHA256 != sum(data) || gd.SHA256 != wd.SHA256 ||
				gd.Pages != wd.Pages || gd.PagesEstimated != wd.PagesEstimated || !gd.Available() {
				t.Errorf("job %d document %d after reopen %+v, acknowledged %+v", want.ID, i+1, gd, wd)
			}
			if b := f.docBytes(gd); !bytes.Equal(b, data) {
				t.Errorf("job %d document %d: DocumentBytes gives %d bytes, not the %d uploaded", want.ID, i+1, len(b), len(data))
			}
			if b := f.openBytes(gd); !bytes.Equal(b, data) {
				t.Errorf("job %d document %d: OpenDocument gives %d bytes, not the %d uploaded", want.ID, i+1, len(b), len(data))
			}
		}
		if after := fmt.Sprint(*got); after != before[want.ID] {
			t.Errorf("job %d row changed across the reopen:\n before %s\n after  %s", want.ID, before[want.ID], after)
		}
		if n := len(f.jobEvents(want.ID)); n != events[want.ID] {
			t.Errorf("job %d: %d events after reopen, %d before", want.ID, n, events[want.ID])
		}
	}
	if h := f.job(held.ID); h.State != job.StateHeld || h.Pages != (2+3)*2 {
		t.Errorf("held job after reopen: state %s pages %d, want held with 10 pages (5 pages x 2 copies)", h.State, h.Pages)
	}
	if c := f.job(cj.ID); c.State != job.StatePending || c.Pages != 1+4 {
		t.Errorf("Create-Job job after reopen: state %s pages %d, want pending with 5", c.State, c.Pages)
	}
	if n := f.documents(); n != 6 {
		t.Errorf("%d documents stored after reopen, want the 6 acknowledged", n)
	}
}

// testUnsubmittedDocumentsGone: a staged document that was discarded, or that was never
// submitted before the store closed, is gone after a reopen; the committed one stays.
func testUnsubmittedDocumentsGone(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	kept := f.submit(letter(1))
	base := f.documents()
	if base != 1 {
		t.Fatalf("%d documents stored with one job of one document", base)
	}
	discarded := f.stage(bigDocument())
	discarded.Discard()
	discarded.Discard() // twice is harmless
	if n := f.documents(); n != base {
		t.Fatalf("%d documents stored after Discard, want %d", n, base)
	}
	var nilStaged *job.Staged
	nilStaged.Discard() // on nil too

	f.stage(bigDocument())
	f.stage(letter(2))
	f.reopen()
	if n := f.documents(); n != base {
		t.Errorf("%d documents stored after reopen, want only the committed %d", n, base)
	}
	got := f.job(kept.ID)
	if got.State != job.StatePending || f.docSum(got.Documents[0]) != sum(letter(1)) {
		t.Errorf("committed job after reopen: %+v", got)
	}
	if n, _ := f.s.CountJobs(f.ctx, job.JobFilter{}); n != 1 {
		t.Errorf("%d jobs after reopen, want 1", n)
	}
}

// testConcurrentSubmits: many clients submitting at once all get their own job, each visible to
// readers the moment Submit returns, and all of them still there after a reopen.
func testConcurrentSubmits(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	const clients, each = 32, 8
	type result struct {
		id  int64
		sum string
	}
	results := make(chan result, clients*each)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				data := []byte(fmt.Sprintf("%%PDF-1.4 client %d letter %d", c, i))
				st, err := f.s.Stage(ctx, bytes.NewReader(data), "letter", "application/pdf")
				if err != nil {
					t.Errorf("Stage: %v", err)
					return
				}
				j, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "test"}, []*job.Staged{st})
				if err != nil {
					t.Errorf("Submit: %v", err)
					return
				}
				// Returned means committed: a reader on another connection sees it now.
				got, err := f.s.Job(ctx, j.ID)
				if err != nil || got.SHA256() != sum(data) {
					t.Errorf("job %d not visible after Submit returned: %v", j.ID, err)
				}
				results <- result{j.ID, sum(data)}
			}
		}()
	}
	wg.Wait()
	close(results)
	want := map[int64]string{}
	for r := range results {
		if _, dup := want[r.id]; dup {
			t.Fatalf("job id %d handed out twice", r.id)
		}
		want[r.id] = r.sum
	}
	if len(want) != clients*each {
		t.Fatalf("%d jobs submitted, want %d", len(want), clients*each)
	}
	f.reopen()
	jobs, err := f.s.Jobs(ctx, job.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(want) {
		t.Fatalf("%d jobs after reopen, want %d", len(jobs), len(want))
	}
	for _, j := range jobs {
		if want[j.ID] != j.SHA256() || f.docSum(j.Documents[0]) != j.SHA256() {
			t.Errorf("job %d after reopen: hash %s, document differs or unexpected", j.ID, j.SHA256())
		}
		if evs := f.jobEvents(j.ID); len(evs) != 1 || evs[0].To != string(job.StatePending) {
			t.Errorf("job %d: events %+v, want one into pending", j.ID, evs)
		}
	}
}

// testSubmitRecordsDocuments: the committed job carries each document's size, hash and pages
// (times copies), and the stored bytes are the upload byte for byte; a job without documents
// is refused with job.ErrEmptyDocument.
func testSubmitRecordsDocuments(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	a := []byte("%PDF-1.4 first document pages=3\n" + strings.Repeat("a", 1000))
	b := []byte("%PDF-1.4 second document pages=3\n" + strings.Repeat("b", 5000))
	j, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Attributes: job.Attributes{Copies: 2}},
		[]*job.Staged{f.stage(a), f.stage(b)})
	if err != nil {
		t.Fatal(err)
	}
	got := f.job(j.ID)
	if got.Pages != 12 || got.PagesEstimated || len(got.Documents) != 2 || got.Size() != int64(len(a)+len(b)) {
		t.Fatalf("job %+v: want 2 documents x 3 pages x 2 copies", got)
	}
	for i, want := range [][]byte{a, b} {
		d := got.Documents[i]
		if d.Seq != i+1 || d.SHA256 != sum(want) || d.Size != int64(len(want)) || d.Pages != 3 || f.docSum(d) != sum(want) {
			t.Errorf("document %d: %+v", i+1, d)
		}
	}
	if _, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "letters"}, nil); !errors.Is(err, job.ErrEmptyDocument) {
		t.Fatalf("Submit without documents: err %v, want ErrEmptyDocument", err)
	}
	if n, _ := f.s.CountJobs(ctx, job.JobFilter{}); n != 1 {
		t.Fatalf("%d jobs after the refused Submit, want 1", n)
	}
}

// failingReader yields n bytes of data, then err: a client that went away mid-upload.
type failingReader struct {
	data []byte
	n    int
	err  error
	// onLimit runs once when the limit is reached (e.g. to cancel the request's context).
	onLimit func()
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		if r.onLimit != nil {
			r.onLimit()
			r.onLimit = nil
		}
		return 0, r.err
	}
	k := copy(p, r.data[:min(r.n, len(r.data), len(p))])
	r.data, r.n = r.data[k:], r.n-k
	return k, nil
}

// testStageRefusals: each way a new document can be refused gives its sentinel error, returns
// no document, leaves nothing stored, writes no row, and harms none of the jobs accepted before:
// they keep their document and hash and can still be scheduled.
func testStageRefusals(t *testing.T, d Driver) {
	big := bytes.Repeat([]byte("%PDF-1.4 letter "), 400) // 6400 bytes
	tests := []struct {
		name string
		max  int64
		// reader builds the upload; cancel cancels the Stage call's context.
		reader func(cancel func()) io.Reader
		want   error
	}{
		{"truncated upload", 0, func(func()) io.Reader {
			return &failingReader{data: big, n: 3000, err: io.ErrUnexpectedEOF}
		}, job.ErrTruncated},
		{"client gone (context canceled)", 0, func(cancel func()) io.Reader {
			return &failingReader{data: big, n: 4096, err: context.Canceled, onLimit: cancel}
		}, job.ErrTruncated},
		{"empty document", 0, func(func()) io.Reader { return bytes.NewReader(nil) }, job.ErrEmptyDocument},
		{"too large", 6399, func(func()) io.Reader { return bytes.NewReader(big) }, job.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := open(t, d, Options{MaxDocumentBytes: tt.max})
			ctx := f.ctx
			earlier := f.submit(letter(2))

			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			st, err := f.s.Stage(sctx, tt.reader(cancel), "doc", "application/pdf")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Stage: err %v, want %v", err, tt.want)
			}
			if st != nil {
				t.Fatalf("Stage returned a document with error %v", err)
			}
			if n := f.documents(); n != 1 {
				t.Errorf("%d documents stored after refusal, want only the earlier job's", n)
			}
			if n, _ := f.s.CountJobs(ctx, job.JobFilter{}); n != 1 {
				t.Errorf("%d jobs after refusal, want the earlier one only", n)
			}

			got := f.job(earlier.ID)
			if got.State != job.StatePending || got.SHA256() != sum(letter(2)) || f.docSum(got.Documents[0]) != got.SHA256() {
				t.Fatalf("earlier job harmed: %+v", got)
			}
			p := "p1"
			if err := f.s.Transition(ctx, earlier.ID, job.StateAssigned, job.Change{Printer: &p}); err != nil {
				t.Fatalf("earlier job no longer schedulable: %v", err)
			}
			if err := f.s.Transition(ctx, earlier.ID, job.StateSending, job.Change{}); err != nil {
				t.Fatalf("earlier job no longer schedulable: %v", err)
			}
		})
	}
}

// testStageLimits: a document of exactly the maximum size is accepted (a byte more is
// ErrTooLarge), a document without a format is application/octet-stream, Discard is safe twice
// and leaves nothing stored, and the accepted document reads back as uploaded.
func testStageLimits(t *testing.T, d Driver) {
	f := open(t, d, Options{MaxDocumentBytes: 4096})
	ctx := f.ctx
	exact := bytes.Repeat([]byte{'x'}, 4096)
	st, err := f.s.Stage(ctx, bytes.NewReader(exact), "exact", "")
	if err != nil {
		t.Fatalf("document of exactly the maximum: %v", err)
	}
	if st.Size != 4096 || st.SHA256 != sum(exact) || st.Format != "application/octet-stream" || st.Name != "exact" {
		t.Fatalf("staged %+v", st)
	}
	st.Discard()
	st.Discard() // twice is harmless
	if n := f.documents(); n != 0 {
		t.Fatalf("%d documents stored after Discard", n)
	}
	over, err := f.s.Stage(ctx, bytes.NewReader(append(exact, 'x')), "over", "")
	if !errors.Is(err, job.ErrTooLarge) || over != nil {
		t.Fatalf("one byte over the maximum: %v, %v; want ErrTooLarge and no document", over, err)
	}
	if n := f.documents(); n != 0 {
		t.Fatalf("%d documents stored after the refusal", n)
	}
	j, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "letters"}, []*job.Staged{f.stage(exact)})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.job(j.ID); !bytes.Equal(f.docBytes(got.Documents[0]), exact) {
		t.Fatal("document of exactly the maximum differs from the upload")
	}
}

// testAddDocumentOnlyToReceived: a document for a job that is no longer receiving is refused
// with a *TransitionError, the job keeps its documents and the staged document can be
// discarded; for an unknown job it is ErrNotFound. The legal path: Create, documents, the last
// one makes the job pending (or held when it was created held).
func testAddDocumentOnlyToReceived(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	j := f.jobIn(job.StatePending, letter(1))
	st := f.stage(bigDocument())
	_, err := f.s.AddDocument(ctx, j.ID, st, true)
	var te *job.TransitionError
	if !errors.As(err, &te) || te.From != job.StatePending {
		t.Fatalf("AddDocument to a pending job: err %v, want *TransitionError from pending", err)
	}
	got := f.job(j.ID)
	if len(got.Documents) != 1 || got.Pages != j.Pages {
		t.Fatalf("refused AddDocument changed the job: %+v", got)
	}
	st.Discard()
	if n := f.documents(); n != 1 {
		t.Fatalf("%d documents stored after discard, want only the pending job's", n)
	}
	unknown := f.stage(letter(1))
	if _, err := f.s.AddDocument(ctx, 9999, unknown, true); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("AddDocument to an unknown job: err %v, want ErrNotFound", err)
	}
	unknown.Discard()

	// The legal path: Create, two documents, the last one makes it pending.
	c := f.jobIn(job.StateReceived, nil)
	mid, err := f.s.AddDocument(ctx, c.ID, f.stage(letter(1)), false)
	if err != nil {
		t.Fatal(err)
	}
	if mid.State != job.StateReceived || len(mid.Documents) != 1 {
		t.Fatalf("after a document that is not the last: state %s, %d documents", mid.State, len(mid.Documents))
	}
	done, err := f.s.AddDocument(ctx, c.ID, f.stage(letter(3)), true)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != job.StatePending || len(done.Documents) != 2 || done.Pages != 4 {
		t.Fatalf("after the last document: state %s, %d documents, %d pages", done.State, len(done.Documents), done.Pages)
	}
	if evs := f.jobEvents(c.ID); len(evs) != 2 || evs[1].From != string(job.StateReceived) || evs[1].To != string(job.StatePending) {
		t.Fatalf("events of the Create-Job job: %+v, want creation and received -> pending", evs)
	}

	// Created held (job-hold-until): the last document makes it held, with its reason.
	h, err := f.s.Create(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "ipp", Hold: true, HoldReason: "job-hold-until-specified"})
	if err != nil {
		t.Fatal(err)
	}
	hd, err := f.s.AddDocument(ctx, h.ID, f.stage(letter(2)), true)
	if err != nil {
		t.Fatal(err)
	}
	if hd.State != job.StateHeld || len(hd.Documents) != 1 {
		t.Fatalf("job created held, after its last document: state %s with %d documents, want held", hd.State, len(hd.Documents))
	}
}
