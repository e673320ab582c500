// Printer operations: Print-Job, Validate-Job, Create-Job, Get-Printer-Attributes, Get-Jobs,
// Cancel-My-Jobs, Identify-Printer, Pause-Printer and Resume-Printer.
package ipp

import (
	"context"
	"slices"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
)

// printJob answers successful-ok only once the document and the job row are committed; every
// staged document that does not end up in a job is discarded.
func (s *Server) printJob(ctx context.Context, rq *request, rs *response) error {
	if !rq.hasDocument() {
		return Errorf(goipp.StatusErrorBadRequest, "No document data in request.")
	}
	if !rq.printer.Accepting {
		return Errorf(goipp.StatusErrorNotAcceptingJobs, "%s is not accepting jobs.", rq.printer.Name)
	}
	jr, ok := s.checkJobRequest(rq, rs)
	if !ok {
		return nil
	}
	doc, err := s.stage(ctx, rq, jr.format, jr.compression, jr.docName)
	if err != nil {
		return err
	}
	j, err := s.svc.Submit(ctx, jr.nj, []*job.Staged{doc})
	if err != nil {
		s.svc.Discard(doc)
		return err
	}
	rs.addGroup(goipp.TagJobGroup, s.jobStatusAttributes(rq, j))
	return nil
}

// validateJob checks a job request without creating anything.
func (s *Server) validateJob(_ context.Context, rq *request, rs *response) error {
	if !rq.printer.Accepting {
		return Errorf(goipp.StatusErrorNotAcceptingJobs, "%s is not accepting jobs.", rq.printer.Name)
	}
	s.checkJobRequest(rq, rs)
	return nil
}

// createJob stores a job that waits (state received) for Send-Document.
func (s *Server) createJob(ctx context.Context, rq *request, rs *response) error {
	if !rq.printer.Accepting {
		return Errorf(goipp.StatusErrorNotAcceptingJobs, "%s is not accepting jobs.", rq.printer.Name)
	}
	jr, ok := s.checkJobRequest(rq, rs)
	if !ok {
		return nil
	}
	j, err := s.svc.Create(ctx, jr.nj)
	if err != nil {
		return err
	}
	rs.addGroup(goipp.TagJobGroup, s.jobStatusAttributes(rq, j))
	return nil
}

// getPrinterAttributes answers the requested printer attributes.
func (s *Server) getPrinterAttributes(_ context.Context, rq *request, rs *response) error {
	rs.addGroup(goipp.TagPrinterGroup, s.printerAttributes(rq, requestedAttributes(rq.oper)))
	return nil
}

// getJobs lists jobs, one job group each.
func (s *Server) getJobs(ctx context.Context, rq *request, rs *response) error {
	which := "not-completed"
	if at, ok := rq.oper.Get("which-jobs"); ok {
		v, isStr := rq.oper.String("which-jobs")
		if _, known := whichJobs(v); !isStr || !known || rq.oper.Tag("which-jobs") != goipp.TagKeyword {
			rs.addUnsupported(at)
			return Errorf(goipp.StatusErrorAttributesOrValues, "Unsupported which-jobs value %q.", v)
		}
		which = v
	}
	states, _ := whichJobs(which)
	limit, err := positiveInt(rq, rs, "limit")
	if err != nil {
		return err
	}
	first, err := positiveInt(rq, rs, "first-index")
	if err != nil {
		return err
	}
	first = max(first, 1)
	q := JobQuery{Printer: rq.printer.Name, States: states}
	my, myOK := rq.oper.Bool("my-jobs")
	if my {
		q.Owner = rq.user
	} else if !myOK && rq.oper.Has("my-jobs") {
		at, _ := rq.oper.Get("my-jobs")
		rs.addUnsupported(at)
		return Errorf(goipp.StatusErrorBadRequest, "Bad my-jobs value.")
	}
	// Without sign-in, "my" jobs are the claimed name's from this host only: a name alone
	// would list another user's jobs (their names hidden, but not that they exist). The host is filtered here, so the query
	// cannot be capped for it.
	hostFilter := my && rq.principal == nil
	if limit > 0 && !hostFilter {
		q.Limit = first - 1 + limit
	}
	jobs, err := s.svc.Jobs(ctx, q)
	if err != nil {
		return err
	}
	if hostFilter {
		jobs = slices.DeleteFunc(jobs, func(j *job.Job) bool { return !s.owns(rq, j) })
	}
	if first > 1 {
		jobs = jobs[min(first-1, len(jobs)):]
	}
	if limit > 0 && len(jobs) > limit {
		jobs = jobs[:limit]
	}
	req := requestedAttributes(rq.oper, "job-id", "job-uri")
	for _, j := range jobs {
		rs.addGroup(goipp.TagJobGroup, s.jobAttributes(rq, j, req))
	}
	return nil
}

// positiveInt reads an optional integer operation attribute that must be >= 1 (0 when absent).
func positiveInt(rq *request, rs *response, name string) (int, error) {
	at, ok := rq.oper.Get(name)
	if !ok {
		return 0, nil
	}
	v, isInt := rq.oper.Int(name)
	if !isInt || rq.oper.Tag(name) != goipp.TagInteger || len(at.Values) != 1 || v < 1 {
		rs.addUnsupported(at)
		return 0, Errorf(goipp.StatusErrorAttributesOrValues, "Bad %s value.", name)
	}
	return v, nil
}

// cancelMyJobs cancels the requester's unfinished jobs on this printer, or the ones listed in
// job-ids (which must all be theirs).
func (s *Server) cancelMyJobs(ctx context.Context, rq *request, rs *response) error {
	var jobs []*job.Job
	if at, ok := rq.oper.Get("job-ids"); ok {
		ids := rq.oper.Ints("job-ids")
		if len(ids) != len(at.Values) || rq.oper.Tag("job-ids") != goipp.TagInteger {
			rs.addUnsupported(at)
			return Errorf(goipp.StatusErrorBadRequest, "Bad job-ids value.")
		}
		for _, id := range ids {
			j, err := s.svc.Job(ctx, int64(id))
			if err != nil || j.VirtualPrinter != rq.printer.Name {
				rs.addUnsupported(at)
				return Errorf(goipp.StatusErrorNotFound, "Job %d not found.", id)
			}
			if !s.owns(rq, j) {
				rs.addUnsupported(at)
				return s.notYours(rq, int64(id))
			}
			jobs = append(jobs, j)
		}
	} else {
		states, _ := whichJobs("not-completed")
		var err error
		jobs, err = s.svc.Jobs(ctx, JobQuery{Printer: rq.printer.Name, States: states, Owner: rq.user})
		if err != nil {
			return err
		}
		// The claimed name's jobs from other hosts are not the caller's.
		jobs = slices.DeleteFunc(jobs, func(j *job.Job) bool { return !s.owns(rq, j) })
	}
	for _, j := range jobs {
		if j.State.Final() {
			continue
		}
		if err := s.svc.CancelJob(ctx, j.ID, rq.user); err != nil {
			return err
		}
	}
	return nil
}

// identifyPrinter passes identify-actions (default sound) to the Service.
func (s *Server) identifyPrinter(ctx context.Context, rq *request, rs *response) error {
	actions := []string{"sound"}
	if at, ok := rq.oper.Get("identify-actions"); ok {
		vals := rq.oper.Strings("identify-actions")
		if len(vals) != len(at.Values) || rq.oper.Tag("identify-actions") != goipp.TagKeyword {
			rs.addUnsupported(at)
			return Errorf(goipp.StatusErrorBadRequest, "Bad identify-actions value.")
		}
		actions = actions[:0]
		for _, v := range vals {
			if v == "display" || v == "sound" {
				if !slices.Contains(actions, v) {
					actions = append(actions, v)
				}
			} else {
				rs.addUnsupported(at)
				rs.setStatus(goipp.StatusOkIgnoredOrSubstituted, "Ignoring unsupported identify-actions "+v+".")
			}
		}
		if len(actions) == 0 {
			actions = []string{"sound"}
		}
	}
	return s.svc.Identify(ctx, rq.printer.Name, actions)
}

// pausePrinter holds new jobs of the virtual printer (operators only).
func (s *Server) pausePrinter(ctx context.Context, rq *request, _ *response) error {
	if !s.isOperator(rq) {
		return Errorf(goipp.StatusErrorForbidden, "Only an operator may pause %s.", rq.printer.Name)
	}
	return s.svc.PausePrinter(ctx, rq.printer.Name, rq.user)
}

// resumePrinter releases a paused virtual printer (operators only).
func (s *Server) resumePrinter(ctx context.Context, rq *request, _ *response) error {
	if !s.isOperator(rq) {
		return Errorf(goipp.StatusErrorForbidden, "Only an operator may resume %s.", rq.printer.Name)
	}
	return s.svc.ResumePrinter(ctx, rq.printer.Name, rq.user)
}
