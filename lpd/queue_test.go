package lpd

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/printgate/printgate/job"
)

func queueFixture(vp string) []*job.Job {
	return []*job.Job{
		{ID: 11, VirtualPrinter: vp, Owner: "alice", OriginHost: "pc-1", State: job.StatePrinting, Name: "Letter to Mr Jones",
			Documents: []job.Document{{Name: "jones.pdf", Size: 1200}}},
		{ID: 12, VirtualPrinter: vp, Owner: "bob", OriginHost: "pc-2", State: job.StatePending, Name: "Rota",
			Documents: []job.Document{{Name: "rota.pdf", Size: 300}, {Name: "cover.txt", Size: 20}}},
		{ID: 13, VirtualPrinter: vp, Owner: "Alice", OriginHost: "pc-1", State: job.StatePending, Name: "Second"},
		{ID: 14, VirtualPrinter: vp, Owner: "carol", OriginHost: "pc-3", State: job.StateHeld, Name: "Held one"},
	}
}

func TestFormatQueue(t *testing.T) {
	t.Parallel()
	jobs := queueFixture("vp")
	tests := []struct {
		name      string
		jobs      []*job.Job
		list      []string
		long      bool
		showNames bool
		from      string
		want      string
	}{
		{
			name: "empty queue",
			want: "letters is ready\nno entries\n",
		},
		{
			name: "short, names hidden, asked from pc-1: its owners shown, others' hidden",
			jobs: jobs,
			from: "pc-1",
			want: "letters is ready\n" +
				"Rank    Owner      Job  File(s)                               Total Size\n" +
				"active  alice      11   (hidden)                              1200 bytes\n" +
				"1st     (hidden)   12   (hidden)                              320 bytes\n" +
				"2nd     Alice      13   (hidden)                              0 bytes\n" +
				"held    (hidden)   14   (hidden)                              0 bytes\n",
		},
		{
			name: "names hidden: another host's owner matches no name",
			jobs: jobs,
			list: []string{"bob", "14"},
			from: "pc-1",
			want: "letters is ready\n" +
				"Rank    Owner      Job  File(s)                               Total Size\n" +
				"held    (hidden)   14   (hidden)                              0 bytes\n",
		},
		{
			name:      "short with names, filtered by user (any case) and job number",
			jobs:      jobs,
			list:      []string{"ALICE", "12"},
			showNames: true,
			want: "letters is ready\n" +
				"Rank    Owner      Job  File(s)                               Total Size\n" +
				"active  alice      11   jones.pdf                             1200 bytes\n" +
				"1st     bob        12   rota.pdf, cover.txt                   320 bytes\n" +
				"2nd     Alice      13   Second                                0 bytes\n",
		},
		{
			name: "filter matching nothing",
			jobs: jobs,
			list: []string{"nobody", "99"},
			want: "letters is ready\nno entries\n",
		},
		{
			name:      "long with names",
			jobs:      jobs[1:2],
			long:      true,
			showNames: true,
			want: "letters is ready\n" +
				"\nbob: 1st                                 [job 12 pc-2]\n" +
				"        rota.pdf                                 300 bytes\n" +
				"        cover.txt                                20 bytes\n",
		},
		{
			name: "long, names hidden",
			jobs: jobs[:1],
			long: true,
			from: "pc-1",
			want: "letters is ready\n" +
				"\nalice: active                              [job 11 pc-1]\n" +
				"        (hidden)                                 1200 bytes\n",
		},
		{
			name: "long, asked from another host",
			jobs: jobs[:1],
			long: true,
			from: "pc-9",
			want: "letters is ready\n" +
				"\n(hidden): active                              [job 11 (hidden)]\n" +
				"        (hidden)                                 1200 bytes\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := formatQueue("letters", tt.jobs, tt.list, tt.long, tt.showNames, tt.from)
			if got != tt.want {
				t.Fatalf("formatQueue =\n%s\nwant\n%s", got, tt.want)
			}
			if !tt.showNames {
				for _, j := range tt.jobs {
					if strings.Contains(got, j.Name) {
						t.Fatalf("hidden listing shows job name %q", j.Name)
					}
					if j.OriginHost != tt.from && (strings.Contains(got, j.Owner+" ") || strings.Contains(got, j.OriginHost)) {
						t.Fatalf("listing for %s shows owner or host of job %d from %s", tt.from, j.ID, j.OriginHost)
					}
				}
			}
		})
	}
}

func TestRankLabel(t *testing.T) {
	t.Parallel()
	for rank, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th",
		13: "13th", 21: "21st", 22: "22nd", 101: "101st", 111: "111th"} {
		if got := rankLabel(job.StatePending, rank); got != want {
			t.Errorf("rankLabel(%d) = %q, want %q", rank, got, want)
		}
	}
}

func TestSelectRemovals(t *testing.T) {
	t.Parallel()
	jobs := queueFixture("vp")
	pc1, pc2, admin := peer{ip: "pc-1"}, peer{ip: "pc-2"}, peer{ip: "10.0.0.1", admin: true}
	tests := []struct {
		name  string
		agent string
		list  []string
		from  peer
		want  []removal
	}{
		{"no list: the agent's first job", "alice", nil, pc1, []removal{{11, true}}},
		{"no list, agent owns nothing", "mallory", nil, pc1, nil},
		{"own job by number", "bob", []string{"12"}, pc2, []removal{{12, true}}},
		{"owner match ignores case", "ALICE", []string{"13"}, pc1, []removal{{13, true}}},
		{"someone else's job by number is refused", "mallory", []string{"12"}, pc2, []removal{{12, false}}},
		{"the owner's name from another host is refused", "bob", []string{"12"}, pc1, []removal{{12, false}}},
		{"no list, the owner's name from another host", "alice", nil, pc2, nil},
		{"unknown job number", "bob", []string{"99"}, pc2, nil},
		{"all of mine", "alice", []string{"-"}, pc1, []removal{{11, true}, {13, true}}},
		{"all keyword", "alice", []string{"all"}, pc1, []removal{{11, true}, {13, true}}},
		{"by user name, own", "alice", []string{"alice"}, pc1, []removal{{11, true}, {13, true}}},
		{"by user name, someone else", "bob", []string{"alice"}, pc2, []removal{{11, false}, {13, false}}},
		{"root from an admin host removes anything", "root", []string{"12", "carol"}, admin, []removal{{12, true}, {14, true}}},
		{"root from an admin host, all", "root", []string{"all"}, admin, []removal{{11, true}, {12, true}, {13, true}, {14, true}}},
		{"root from any other host is an ordinary user", "root", []string{"12"}, pc1, []removal{{12, false}}},
		{"root from any other host, no list", "root", nil, pc1, nil},
		{"an admin host's other users are ordinary", "alice", []string{"12"}, admin, []removal{{12, false}}},
		{"duplicates named twice are listed once", "bob", []string{"12", "bob", "12"}, pc2, []removal{{12, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := selectRemovals(jobs, tt.agent, tt.list, tt.from)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("selectRemovals = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestServerQueueState(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	fs.queued = append(queueFixture("letters-vp"), &job.Job{ID: 50, VirtualPrinter: "other-vp", Owner: "zed",
		State: job.StatePending}, &job.Job{ID: 51, VirtualPrinter: "letters-vp", Owner: "done",
		State: job.StateCompleted})
	h := startServer(t, Config{ShowNames: true}, fs)
	tests := []struct {
		cmd  string
		want string
	}{
		{"\x03letters\n", formatQueue("letters", queueFixture("letters-vp"), nil, false, true, "127.0.0.1")},
		{"\x04letters bob\n", formatQueue("letters", queueFixture("letters-vp"), []string{"bob"}, true, true, "127.0.0.1")},
		{"\x03ward\n", "ward is ready\nno entries\n"},
		{"\x03nosuch\n", "nosuch: unknown printer\n"},
	}
	for _, tt := range tests {
		w := dialWire(t, h.addr)
		w.send(tt.cmd)
		if got := w.rest(); got != tt.want {
			t.Errorf("%q: reply =\n%s\nwant\n%s", tt.cmd, got, tt.want)
		}
	}
}

func TestServerRemoveJobs(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	fs.queued = queueFixture("letters-vp")
	// The test client is on 127.0.0.1: alice's and bob's jobs came from there, carol's did not;
	// one job of bob's came from another host with his name.
	for _, j := range fs.queued {
		j.OriginHost = "127.0.0.1"
	}
	fs.queued[3].OriginHost = "10.1.1.3"
	fs.queued = append(fs.queued, &job.Job{ID: 15, VirtualPrinter: "letters-vp", Owner: "bob", OriginHost: "10.1.1.2", State: job.StatePending})
	var audited []string
	var auditMu sync.Mutex
	audit := func(_ context.Context, agent, remote string, id int64, _ string) {
		auditMu.Lock()
		defer auditMu.Unlock()
		audited = append(audited, fmt.Sprintf("%s@%s job %d", agent, remote, id))
	}
	plain := startServer(t, Config{Audit: audit}, fs)
	trusting := startServer(t, Config{TrustLoopback: true, Audit: audit}, fs)
	tests := []struct {
		srv          *harness
		cmd          string
		want         string
		wantCanceled []int64
	}{
		{plain, "\x05letters mallory 12\n", "job 12: permission denied\n", nil},
		{plain, "\x05letters bob 12\n", "job 12 dequeued\n", []int64{12}},
		{plain, "\x05letters bob 12\n", "", []int64{12}}, // gone already
		// bob's name does not remove the job bob sent from another host.
		{plain, "\x05letters bob 15\n", "job 15: permission denied\n", []int64{12}},
		{plain, "\x05letters alice -\n", "job 11 dequeued\njob 13 dequeued\n", []int64{12, 11, 13}},
		// root from the gateway host is no one special without trust_loopback...
		{plain, "\x05letters root carol\n", "job 14: permission denied\n", []int64{12, 11, 13}},
		// ...and with it may remove carol's job.
		{trusting, "\x05letters root carol\n", "job 14 dequeued\n", []int64{12, 11, 13, 14}},
		{plain, "\x05nosuch bob 1\n", "nosuch: unknown printer\n", []int64{12, 11, 13, 14}},
	}
	for _, tt := range tests {
		h := tt.srv
		w := dialWire(t, h.addr)
		w.send(tt.cmd)
		if got := w.rest(); got != tt.want {
			t.Errorf("%q: reply = %q, want %q", tt.cmd, got, tt.want)
		}
		h.waitConn(t)
		fs.mu.Lock()
		got := append([]int64(nil), fs.canceled...)
		fs.mu.Unlock()
		if !reflect.DeepEqual(got, tt.wantCanceled) {
			t.Errorf("%q: canceled %v, want %v", tt.cmd, got, tt.wantCanceled)
		}
	}
	// Every refusal is audited with the client's address.
	want := []string{"mallory@127.0.0.1 job 12", "bob@127.0.0.1 job 15", "root@127.0.0.1 job 14"}
	auditMu.Lock()
	defer auditMu.Unlock()
	if !reflect.DeepEqual(audited, want) {
		t.Errorf("audited %v, want %v", audited, want)
	}
}
