// Receiving a job: control and data files in either order, each data file streamed into the
// spool as it arrives, the job submitted (and only then acknowledged) once the control file and
// every data file it prints are in; anything else is discarded.
package lpd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/internal/capread"
	"github.com/printgate/printgate/job"
)

// errJobTooLarge: a data file would take the job past Config.MaxJobBytes.
var errJobTooLarge = errors.New("lpd: job exceeds the maximum size")

// pendingJob is what one connection has received of a job so far.
type pendingJob struct {
	queue, printer string
	control        *ControlFile
	copies         int
	data           map[string]*receivedDoc
	order          []string // data file names in arrival order
	bytes          int64
	// eof: a data file of unknown length ran to the end of the connection.
	eof bool
	// stored names the data files the job submitted just before on this connection printed
	// more than once. LPRng, given one file twice, prints one data file twice and then sends it
	// twice; the repeat arrives after the job is complete and is drained, not staged.
	stored map[string]bool
}

type receivedDoc struct {
	staged *job.Staged
	// sniffed is the type recognised from the content, "" if none.
	sniffed string
}

func newPendingJob(queue, printer string) *pendingJob {
	return &pendingJob{queue: queue, printer: printer, data: map[string]*receivedDoc{}}
}

func (j *pendingJob) started() bool { return j.control != nil || len(j.data) > 0 }

// complete reports whether the control file and every data file it prints have arrived.
func (j *pendingJob) complete() bool {
	if j.control == nil {
		return false
	}
	for _, f := range j.control.Files {
		if _, ok := j.data[f.Name]; !ok {
			return false
		}
	}
	return true
}

// discard removes every staged document of the job.
func (j *pendingJob) discard(sp Spooler) {
	for _, name := range j.order {
		sp.Discard(j.data[name].staged)
	}
	j.data, j.order, j.control, j.bytes = map[string]*receivedDoc{}, nil, nil, 0
}

func (c *conn) receiveJob(ctx context.Context, cmd Command) {
	printer, ok := c.srv.lookupQueue(cmd.Queue)
	log := c.log.With("queue", cmd.Queue)
	if !ok {
		log.Warn("lpd: refused job for unknown queue")
		c.reply(ackFail)
		return
	}
	log = log.With("printer", printer)
	if !c.reply(ackOK) {
		return
	}
	j := newPendingJob(cmd.Queue, printer)
	// Whatever is still pending when the connection ends was never acknowledged.
	defer func() {
		if j.started() {
			log.Warn("lpd: connection ended before the job was complete; discarded",
				"data_files", len(j.data), "control_file", j.control != nil)
		}
		j.discard(c.srv.sp)
	}()
	for !j.eof {
		line, err := readLine(c.br)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("lpd: reading subcommand", "err", err)
			}
			return
		}
		sub, err := ParseSubcommand(line)
		if err != nil {
			log.Warn("lpd: refused subcommand", "err", err)
			c.reply(ackFail)
			return
		}
		log.Debug("lpd: subcommand", "code", sub.Code.String(), "count", sub.Count, "file", sub.Name)
		switch sub.Code {
		case SubAbort:
			// RFC 1179: forget this job; no acknowledgement. The connection may carry another.
			if j.started() {
				log.Info("lpd: client aborted the job", "data_files", len(j.data))
			}
			j.discard(c.srv.sp)
			continue
		case SubControlFile:
			err = c.receiveControl(j, sub)
		case SubDataFile:
			err = c.receiveData(ctx, j, sub)
		}
		if err != nil {
			log.Warn("lpd: refused job", "file", sub.Name, "err", err)
			c.reply(ackFail)
			return
		}
		if !j.complete() {
			if !j.eof && !c.reply(ackOK) {
				return
			}
			continue
		}
		jb, err := c.submit(ctx, j)
		if err != nil {
			log.Error("lpd: job not stored", "err", err)
			c.reply(ackFail)
			return
		}
		log.Info("lpd: job received", "job", jb.ID, "owner", jb.Owner, "documents", len(jb.Documents),
			"copies", j.copies, "bytes", jb.Size())
		// The final acknowledgement goes out only now that the job is durable. After a data
		// file of unknown length the client has closed its side and may not read it.
		if !c.reply(ackOK) && !j.eof {
			log.Warn("lpd: client left before the final acknowledgement of a stored job", "job", jb.ID)
		}
		next := newPendingJob(cmd.Queue, printer)
		next.eof = j.eof
		next.stored = j.stored
		j = next
	}
}

// receiveControl reads and parses a control file.
func (c *conn) receiveControl(j *pendingJob, sub Subcommand) error {
	if j.control != nil {
		return malformed("second control file %s for one job", sub.Name)
	}
	if sub.Count > MaxControlFileBytes {
		return malformed("control file of %d bytes exceeds %d", sub.Count, MaxControlFileBytes)
	}
	if !c.reply(ackOK) {
		return errors.New("client gone")
	}
	buf := make([]byte, sub.Count+1)
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return fmt.Errorf("reading control file %s: %w", sub.Name, err)
	}
	if buf[sub.Count] != 0 {
		return malformed("control file %s not followed by NUL (got %#02x)", sub.Name, buf[sub.Count])
	}
	cf, err := ParseControlFile(buf[:sub.Count])
	if err != nil {
		return err
	}
	copies, err := cf.JobCopies()
	if err != nil {
		return err
	}
	j.control, j.copies = cf, copies
	return nil
}

// receiveData streams one data file into the spool.
func (c *conn) receiveData(ctx context.Context, j *pendingJob, sub Subcommand) error {
	if !j.started() && j.stored[sub.Name] && !sub.UnknownLength() && sub.Count <= c.srv.cfg.MaxJobBytes {
		return c.drainRepeat(sub)
	}
	if _, dup := j.data[sub.Name]; dup {
		return malformed("data file %s sent twice", sub.Name)
	}
	if len(j.data) >= MaxDataFiles {
		return malformed("more than %d data files", MaxDataFiles)
	}
	remaining := c.srv.cfg.MaxJobBytes - j.bytes
	unknown := sub.UnknownLength()
	if !unknown && sub.Count > remaining {
		return fmt.Errorf("%w: data file %s of %d bytes, %d allowed", errJobTooLarge, sub.Name, sub.Count, remaining)
	}
	if !c.reply(ackOK) {
		return errors.New("client gone")
	}
	var body io.Reader
	var capped *capread.Reader
	peek := document.SniffLen
	if unknown {
		capped = &capread.Reader{R: c.br, N: remaining, TooLarge: errJobTooLarge}
		body = capped
	} else {
		body = &exactReader{r: c.br, n: sub.Count}
		peek = int(min(sub.Count, int64(peek)))
	}
	// Peek only within the file: asking for more would wait on bytes the client will not send
	// before our acknowledgement.
	head, err := c.br.Peek(peek)
	// Peek hands a read error over once and forgets it: after a reset the next read would see
	// a plain end of stream, which ends a file of unknown length as if it were whole.
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading data file %s: %w", sub.Name, err)
	}
	// The letter, from a control file that may not have come yet, decides only when the
	// content does not.
	sniffed := document.Sniff(head)
	if sniffed == document.Octet {
		sniffed = ""
	}
	format := sniffed
	if format == "" {
		format = letterMIME(j.letterFor(sub.Name))
	}
	st, err := c.srv.sp.Stage(ctx, body, sub.Name, format)
	if err != nil {
		if capped != nil && capped.Over {
			return fmt.Errorf("%w: data file %s exceeds %d bytes", errJobTooLarge, sub.Name, remaining)
		}
		return fmt.Errorf("staging data file %s: %w", sub.Name, err)
	}
	if !unknown && st.Size != sub.Count {
		c.srv.sp.Discard(st)
		return fmt.Errorf("staging data file %s: stored %d bytes of %d", sub.Name, st.Size, sub.Count)
	}
	j.data[sub.Name] = &receivedDoc{staged: st, sniffed: sniffed}
	j.order = append(j.order, sub.Name)
	j.bytes += st.Size
	if unknown {
		j.eof = true
		return nil
	}
	b, err := c.br.ReadByte()
	if err != nil {
		return fmt.Errorf("reading NUL after data file %s: %w", sub.Name, err)
	}
	if b != 0 {
		return malformed("data file %s not followed by NUL (got %#02x)", sub.Name, b)
	}
	return nil
}

// drainRepeat reads and drops a data file the previous job on this connection already stored.
func (c *conn) drainRepeat(sub Subcommand) error {
	if !c.reply(ackOK) {
		return errors.New("client gone")
	}
	if _, err := io.CopyN(io.Discard, c.br, sub.Count); err != nil {
		return fmt.Errorf("reading repeated data file %s: %w", sub.Name, err)
	}
	if b, err := c.br.ReadByte(); err != nil || b != 0 {
		return malformed("repeated data file %s not followed by NUL", sub.Name)
	}
	c.log.Debug("lpd: repeat of a stored data file dropped", "file", sub.Name, "bytes", sub.Count)
	return nil
}

// letterFor is the print command letter the control file uses for a data file, or 0.
func (j *pendingJob) letterFor(name string) byte {
	if j.control == nil {
		return 0
	}
	for _, f := range j.control.Files {
		if f.Name == name {
			return f.Format
		}
	}
	return 0
}

// submit stores the complete job and discards data files its control file does not print.
func (c *conn) submit(ctx context.Context, j *pendingJob) (*job.Job, error) {
	cf := j.control
	docs := make([]*job.Staged, 0, len(cf.Files))
	used := map[string]bool{}
	for _, f := range cf.Files {
		d := j.data[f.Name]
		d.staged.Format = d.sniffed
		if d.staged.Format == "" {
			d.staged.Format = letterMIME(f.Format)
		}
		// LPRng sends the full path; the directories say nothing useful and may say too much.
		d.staged.Name = baseName(f.SourceName)
		if d.staged.Name == "" {
			d.staged.Name = f.Name
		}
		docs = append(docs, d.staged)
		used[f.Name] = true
	}
	for _, name := range j.order {
		if !used[name] {
			c.log.Warn("lpd: data file not printed by the control file; discarded", "file", name)
			c.srv.sp.Discard(j.data[name].staged)
		}
	}
	nj := job.NewJob{
		VirtualPrinter: j.printer,
		Name:           firstNonEmpty(cf.JobName, baseName(cf.Files[0].SourceName), cf.Title, cf.Files[0].Name),
		Owner:          firstNonEmpty(cf.User, cf.Banner, "anonymous"),
		// The connection's address, not the control file's H line: the host is half of who
		// owns the job (lprm, lpq), and H is only a claim, like P.
		OriginHost: c.remoteIP,
		Origin:     "lpd",
		Attributes: job.Attributes{
			Copies: j.copies,
			Extra:  map[string]string{"lpd-queue": j.queue},
		},
	}
	jb, err := c.srv.sp.Submit(ctx, nj, docs)
	// Whatever happened, the staged documents are no longer this connection's: either
	// attached to the job, or discarded here.
	if err != nil {
		for _, d := range docs {
			c.srv.sp.Discard(d)
		}
	}
	j.data, j.order, j.control = map[string]*receivedDoc{}, nil, nil
	if err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	j.stored = map[string]bool{}
	for _, f := range cf.Files {
		if f.Copies > 1 {
			j.stored[f.Name] = true
		}
	}
	return jb, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// exactReader yields exactly n bytes of r and turns an early end into io.ErrUnexpectedEOF, so
// a client that hangs up mid-file is a truncated document, not a short one.
type exactReader struct {
	r io.Reader
	n int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	if errors.Is(err, io.EOF) {
		if e.n > 0 {
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}
