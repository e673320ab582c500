//go:build e2e

// The spool's disk reserve under a flood, a SIGKILL and a restart on a full disk, with the
// spool on a small tmpfs the test mounts (make test runs as root).
// Run: go test -tags e2e -run DiskFull -count=1 -v ./e2e/
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/lpd"
)

// tmpfsFree is the free space of the file system at dir.
func tmpfsFree(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatalf("statfs %s: %v", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// ippStatus is the IPP status of a client error, or 0.
func ippStatus(err error) goipp.Status {
	var ie *ipp.Error
	if errors.As(err, &ie) {
		return ie.Status
	}
	return 0
}

// TestDiskFullFloodKillAndRestart: a spool on a 48 MiB tmpfs with min_free_disk 16MiB and
// five letters waiting (printers drained). A flood of Create-Jobs, 20 concurrent near-limit
// IPP uploads, LPD jobs and a 500 KB gzip bomb never takes free space below the reserve: the
// overflow is refused (server-error-busy, LPD's error byte), the bomb as too large, nothing of
// them stored. Then the gateway is SIGKILLed, something else fills the disk to the last byte,
// and the gateway restarts anyway, recovers, and an operator cancels and purges through the CLI
// on the full disk. Once space is back and the printers resume, the five letters print byte-identical.
func TestDiskFullFloodKillAndRestart(t *testing.T) {
	t.Parallel()
	const reserve, maxDoc = 16 << 20, 3 << 20
	spoolDir := smallTmpfs(t, 48<<20)
	opts := feGatewayOptions{SpoolDir: spoolDir, MinFreeDisk: "16MiB", MaxDocumentSize: "3MiB"}
	g := startFEGateway(t, opts)
	httpAddr := strings.TrimPrefix(g.Base, "http://")
	for _, p := range []string{"file-a", "file-b"} {
		g.cli(t, "printers", "drain", "-server", g.Base, p)
	}
	ippc, err := ipp.NewClient("ipp://"+httpAddr+"/ipp/print/letters", ipp.ClientOptions{UserName: "ward"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	letters := map[int][]byte{}
	for i := range 5 {
		doc := fmt.Appendf(nil, "%%PDF-1.4\n%% letter %d, accepted before the flood\n%%%%EOF\n", i)
		js, err := ippc.PrintJob(ctx, ipp.JobRequest{Name: fmt.Sprintf("before %d", i)},
			ipp.Document{Reader: bytes.NewReader(doc), Size: int64(len(doc)), Format: "application/pdf"})
		if err != nil {
			t.Fatalf("letter %d before the flood: %v", i, err)
		}
		letters[js.ID] = doc
	}

	// Free space is sampled through the flood.
	minFree := tmpfsFree(t, spoolDir)
	stopSampling, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			minFree = min(minFree, tmpfsFree(t, spoolDir))
			select {
			case <-stopSampling:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var mu sync.Mutex
	outcomes := map[string]int{}
	note := func(what string) {
		mu.Lock()
		outcomes[what]++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	// The bomb, first on its own (during the flood a full spool may refuse it sooner, as busy).
	bomb, err := os.ReadFile(filepath.Join("..", "testdata", "gzip-bomb-500MiB.gz"))
	if err != nil {
		t.Fatal(err)
	}
	bombReq := func() error {
		m := ippc.NewRequest(goipp.OpPrintJob, "ward")
		m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
		m.Operation.Add(goipp.MakeAttribute("compression", goipp.TagKeyword, goipp.String("gzip")))
		_, err := ippc.Do(ctx, m, bytes.NewReader(bomb), int64(len(bomb)))
		return err
	}
	if err := bombReq(); ippStatus(err) != goipp.StatusErrorRequestEntity {
		t.Errorf("gzip bomb: %v, want client-error-request-entity-too-large", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		switch st := ippStatus(bombReq()); st {
		case goipp.StatusErrorRequestEntity, goipp.StatusErrorBusy:
			note("bomb refused")
		default:
			t.Errorf("gzip bomb during the flood: status %v, want too large or busy", st)
		}
	}()
	// 20 concurrent uploads just under max_document_size, four rounds: ~240 MiB asked of 32 MiB.
	big := bytes.Repeat([]byte("x"), maxDoc-4096)
	copy(big, "%PDF-1.4\n")
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				_, err := ippc.PrintJob(ctx, ipp.JobRequest{Name: fmt.Sprintf("big %d", i)},
					ipp.Document{Reader: bytes.NewReader(big), Size: int64(len(big)), Format: "application/pdf"})
				switch st := ippStatus(err); {
				case err == nil:
					note("ipp upload accepted")
				case st == goipp.StatusErrorBusy:
					note("ipp upload refused busy")
				default:
					t.Errorf("near-limit upload: %v", err)
				}
			}
		}()
	}
	// Create-Jobs without documents until the reserve refuses them.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 3000 {
			_, err := ippc.CreateJob(ctx, ipp.JobRequest{Name: "create-job flood"})
			if ippStatus(err) == goipp.StatusErrorBusy {
				note("create-job refused busy")
				return
			}
			if err != nil {
				t.Errorf("Create-Job: %v", err)
				return
			}
			note("create-job accepted")
		}
	}()
	// LPD jobs of 1 MiB.
	lpdDoc := filepath.Join(t.TempDir(), "lpd.pdf")
	if err := os.WriteFile(lpdDoc, big[:1<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var lc lpd.Client
		for range 40 {
			err := lc.Send(ctx, g.LPDAddr, "letters", lpd.ClientJob{Name: "lpd flood", User: "ward",
				Files: []lpd.ClientFile{{Path: lpdDoc}}})
			if err != nil {
				note("lpd refused")
				continue
			}
			note("lpd accepted")
		}
	}()
	wg.Wait()
	close(stopSampling)
	<-sampled
	t.Logf("flood: %v; lowest free space %d bytes (reserve %d)", outcomes, minFree, reserve)
	if minFree < reserve {
		t.Errorf("free space fell to %d bytes during the flood, below min_free_disk %d", minFree, reserve)
	}
	for _, want := range []string{"ipp upload refused busy", "create-job refused busy", "lpd refused", "bomb refused"} {
		if outcomes[want] == 0 {
			t.Errorf("the flood never saw %q: %v", want, outcomes)
		}
	}
	stored := 0
	for _, j := range g.jobs(t) {
		for _, d := range j.Documents {
			if d.Size > 100<<20 {
				t.Errorf("job %d holds a %d-byte document: the bomb was stored", j.ID, d.Size)
			}
		}
		stored++
	}
	if want := 5 + outcomes["ipp upload accepted"] + outcomes["create-job accepted"] + outcomes["lpd accepted"]; stored != want {
		t.Errorf("%d jobs stored, want %d: the 5 letters and every accepted flood job, nothing refused", stored, want)
	}

	// SIGKILL, then something else fills the disk.
	syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	<-g.done
	filler, err := os.Create(filepath.Join(spoolDir, "someone-elses-file"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for _, n := range []int{len(chunk), 4096, 1} {
		for {
			if _, err := filler.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	filler.Close()
	if free := tmpfsFree(t, spoolDir); free != 0 {
		t.Fatalf("the disk is not full: %d bytes free", free)
	}

	g2 := startFEGateway(t, opts)
	mark := 0
	g2.waitLog(t, mark, "released the reserve file", 10*time.Second)
	// Every Create-Job of the flood was received: recovery aborted them. An operator cancels a
	// flood upload on the full disk.
	var flood *job.Job
	for _, j := range g2.jobs(t) {
		if _, before := letters[int(j.ID)]; before {
			if j.State != job.StatePending {
				t.Errorf("letter %d is %s after the restart, want pending", j.ID, j.State)
			}
			continue
		}
		if j.State == job.StateReceived {
			t.Errorf("job %d still received after recovery", j.ID)
		}
		if j.State == job.StatePending && flood == nil {
			flood = j
		}
	}
	if flood == nil {
		t.Fatal("no pending flood job to cancel")
	}
	g2.cli(t, "jobs", "cancel", "-server", g2.Base, strconv.FormatInt(flood.ID, 10))
	if j := g2.job(t, flood.ID); j.State != job.StateCanceled {
		t.Fatalf("job %d is %s after the operator's cancel on the full disk", flood.ID, j.State)
	}
	// And purges: the canceled upload's document goes at once, whatever the retention.
	freeBefore := tmpfsFree(t, spoolDir)
	if out := g2.cli(t, "jobs", "purge", "-server", g2.Base); !strings.Contains(out, "removed the documents of") {
		t.Fatalf("jobs purge said %q", out)
	}
	if got := g2.job(t, flood.ID); len(got.Documents) == 0 || got.Documents[0].Available() {
		t.Errorf("the canceled job's document is still there after the purge")
	}
	if free := tmpfsFree(t, spoolDir); free <= freeBefore {
		t.Errorf("the purge freed nothing: %d bytes free before, %d after", freeBefore, free)
	}

	// Space comes back; the printers resume; the letters accepted before the flood print.
	if err := os.Remove(filepath.Join(spoolDir, "someone-elses-file")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"file-a", "file-b"} {
		g2.cli(t, "printers", "resume", "-server", g2.Base, p)
	}
	for id, doc := range letters {
		g2.assertPrinted(t, g2.waitFinal(t, int64(id), 60*time.Second), doc)
	}
}

// smallTmpfs mounts a tmpfs of size bytes for the test and unmounts it at the end.
func smallTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		t.Fatalf("mount a %d-byte tmpfs for the spool (make test runs as root): %v", size, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}
