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
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/spool"
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

	accepted := map[int64]acceptedJob{}
	for round := range ippCrashRounds {
		if round > 0 {
			g.Start()
		}
		checkAccepted(t, g, accepted, fmt.Sprintf("after restart %d", round))
		got := printJobsUntilKilled(t, g, round, base, time.Duration(150+rng.IntN(600))*time.Millisecond)
		for _, a := range got {
			if prev, dup := accepted[a.id]; dup {
				t.Fatalf("job id %d acknowledged twice (rounds %d and %d)", a.id, prev.round, a.round)
			}
			accepted[a.id] = a
		}
		t.Logf("round %d: %d Print-Jobs acknowledged before SIGKILL (%d in total)", round, len(got), len(accepted))
	}
	g.Start()
	checkAccepted(t, g, accepted, "after the last restart")
	if len(accepted) < 2*ippCrashRounds {
		t.Fatalf("only %d Print-Jobs acknowledged in %d rounds: the test did not exercise the gateway", len(accepted), ippCrashRounds)
	}

	ids := make([]int64, 0, len(accepted))
	for id := range accepted {
		ids = append(ids, id)
	}
	jobs := g.waitJobs(ids, 90*time.Second, "completed", func(j *spool.Job) bool { return j.State == spool.StateCompleted })
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

// printJobsUntilKilled runs ippCrashClients IPP clients sending unique letters with Print-Job,
// kills the gateway with SIGKILL after d, and returns the jobs whose Print-Job got a
// successful status (with the job-id the client was told).
func printJobsUntilKilled(t *testing.T, g *gateway, round int, letter []byte, d time.Duration) []acceptedJob {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	transport := &http.Transport{MaxIdleConnsPerHost: ippCrashClients}
	defer transport.CloseIdleConnections()
	client, err := ipp.NewClient(ippURI(g, "letters"), ipp.ClientOptions{HTTPClient: &http.Client{Transport: transport},
		UserName: "crash-client"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []acceptedJob
	var wg sync.WaitGroup
	for c := range ippCrashClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				// A PDF comment after %%EOF makes each document unique and still a PDF.
				doc := append(bytes.Clone(letter), fmt.Sprintf("%% ipp round %d client %d letter %d\n", round, c, i)...)
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				st, err := client.PrintJob(rctx, ipp.JobRequest{Name: fmt.Sprintf("r%d-c%d-%d", round, c, i)},
					ipp.Document{Reader: bytes.NewReader(doc), Size: int64(len(doc)), Format: "application/pdf", Name: "letter.pdf"})
				rcancel()
				if err != nil || st.ID <= 0 {
					// Refused, or cut off by the kill before the status arrived: the client
					// was told nothing, so nothing is owed to it.
					if ctx.Err() == nil {
						time.Sleep(5 * time.Millisecond)
					}
					continue
				}
				mu.Lock()
				got = append(got, acceptedJob{id: int64(st.ID), sha256: sha256Hex(doc), round: round})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(d)
	g.Kill()
	cancel()
	wg.Wait()
	return got
}
