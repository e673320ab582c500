//go:build e2e

// Issue 3, acceptance 3: the crash test through IPP. The gateway is killed with SIGKILL at
// random moments while several IPP clients send Print-Job; every job whose Print-Job got
// successful-ok must be there after the restart with its document intact, and print.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/job"
)

// ippCrashRounds is how many times the gateway is killed; the HTTP crash test does 24 already,
// the path under test here is the IPP front door's "commit before successful-ok".
const ippCrashRounds = 12

// ippCrashClients is how many IPP clients send Print-Job at once.
const ippCrashClients = 4

func TestIPPCrashNeverLosesAcknowledgedPrintJobs(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	base, err := os.ReadFile(repoFile(t, "testdata/letter-1p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	// Fast simulated printers (a one-page letter takes 5-10 ms), so jobs are in every state
	// when the kill comes.
	g := startGateway(t, gatewayOptions{Config: ippFileConfig(6000)})

	transport := &http.Transport{MaxIdleConnsPerHost: ippCrashClients}
	defer transport.CloseIdleConnections()
	client, err := ipp.NewClient(ippURI(g, "letters"), ipp.ClientOptions{HTTPClient: &http.Client{Transport: transport},
		UserName: "crash-client"})
	if err != nil {
		t.Fatal(err)
	}
	accepted := killRounds(t, g, ippCrashRounds, ippCrashClients, func() time.Duration {
		return time.Duration(150+rng.IntN(600)) * time.Millisecond
	}, func(ctx context.Context, round, c, i int) (acceptedJob, bool) {
		// A PDF comment after %%EOF makes each document unique and still a PDF.
		doc := append(bytes.Clone(base), fmt.Sprintf("%% ipp round %d client %d letter %d\n", round, c, i)...)
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		st, err := client.PrintJob(rctx, ipp.JobRequest{Name: fmt.Sprintf("r%d-c%d-%d", round, c, i)},
			ipp.Document{Reader: bytes.NewReader(doc), Size: int64(len(doc)), Format: "application/pdf", Name: "letter.pdf"})
		if err != nil || st.ID <= 0 {
			// Refused, or cut off by the kill before the status arrived: the client was told
			// nothing, so nothing is owed to it.
			return acceptedJob{}, false
		}
		return acceptedJob{id: int64(st.ID), sha256: sha256Hex(doc), round: round}, true
	})
	if len(accepted) < 2*ippCrashRounds {
		t.Fatalf("only %d Print-Jobs acknowledged in %d rounds: the test did not exercise the gateway", len(accepted), ippCrashRounds)
	}

	ids := make([]int64, 0, len(accepted))
	for id := range accepted {
		ids = append(ids, id)
	}
	jobs := g.waitJobs(ids, 90*time.Second, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	outs := outputs(t, outDirs(g)...)
	for _, id := range ids {
		j, a := jobs[id], accepted[id]
		if j.Origin != "ipp" || j.Owner != "crash-client" {
			t.Errorf("job %d: origin %q owner %q, want ipp, crash-client", id, j.Origin, j.Owner)
		}
		files := outs[id]
		if len(files) == 0 {
			t.Errorf("acknowledged job %d is completed but no printer has its file", id)
		}
		if len(files) > 1 && !j.PossibleDuplicate {
			t.Errorf("job %d printed %d times without the possible-duplicate flag", id, len(files))
		}
		for _, f := range files {
			if got := fileSHA256(t, f); got != a.sha256 {
				t.Errorf("job %d printed %s with sha256 %s, sent %s", id, f, got, a.sha256)
			}
		}
	}
}
