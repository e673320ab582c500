// Job operations: Send-Document, Close-Job, Cancel-Job, Get-Job-Attributes, Hold-Job and
// Release-Job. The front door has resolved rq.job and checked it belongs to the printer.
package ipp

import (
	"context"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
)

// sendDocument adds a document to a Create-Job job; successful-ok only after it is committed.
func (s *Server) sendDocument(ctx context.Context, rq *request, rs *response) error {
	j := rq.job
	if !s.mayActOn(rq, j) {
		return s.notYours(rq, j.ID)
	}
	if j.State != job.StateReceived {
		return Errorf(goipp.StatusErrorNotPossible, "Job %d is not waiting for documents.", j.ID)
	}
	last, ok := rq.oper.Bool("last-document")
	if !ok {
		if at, present := rq.oper.Get("last-document"); present {
			rs.addUnsupported(at)
		}
		return Errorf(goipp.StatusErrorBadRequest, "Missing or bad last-document attribute.")
	}
	format, compression := s.checkDocumentAttributes(rq, rs, normalizeCaps(rq.printer.Caps))
	if rs.isError() {
		return nil
	}
	if !rq.hasDocument() {
		if !last {
			return Errorf(goipp.StatusErrorBadRequest, "No document data in request.")
		}
		// RFC 8011 section 4.3.1: last-document with no data just closes the job.
		closed, err := s.svc.CloseJob(ctx, j.ID)
		if err != nil {
			return err
		}
		rs.addGroup(goipp.TagJobGroup, s.jobStatusAttributes(rq, closed))
		return nil
	}
	name, _ := rq.oper.String("document-name")
	if name == "" {
		name = j.Name
	}
	doc, err := s.stage(ctx, rq, format, compression, name)
	if err != nil {
		return err
	}
	updated, err := s.svc.AddDocument(ctx, j.ID, doc, last)
	if err != nil {
		s.svc.Discard(doc)
		return err
	}
	rs.addGroup(goipp.TagJobGroup, s.jobStatusAttributes(rq, updated))
	return nil
}

// closeJob closes a Create-Job job that got its documents with last-document=false.
func (s *Server) closeJob(ctx context.Context, rq *request, rs *response) error {
	j := rq.job
	if !s.mayActOn(rq, j) {
		return s.notYours(rq, j.ID)
	}
	if j.State != job.StateReceived {
		return Errorf(goipp.StatusErrorNotPossible, "Job %d is already closed.", j.ID)
	}
	closed, err := s.svc.CloseJob(ctx, j.ID)
	if err != nil {
		return err
	}
	rs.addGroup(goipp.TagJobGroup, s.jobStatusAttributes(rq, closed))
	return nil
}

// cancelJob cancels a job of the requester, or anyone's for an operator. A finished job stays
// queryable, and canceling it is not-possible (not not-found).
func (s *Server) cancelJob(ctx context.Context, rq *request, _ *response) error {
	j := rq.job
	if j.State.Final() {
		return Errorf(goipp.StatusErrorNotPossible, "Job %d is already %s.", j.ID, j.State)
	}
	if !s.mayActOn(rq, j) {
		return s.notYours(rq, j.ID)
	}
	return s.svc.CancelJob(ctx, j.ID, rq.user)
}

// getJobAttributes answers the requested job attributes (all by default).
func (s *Server) getJobAttributes(_ context.Context, rq *request, rs *response) error {
	rs.addGroup(goipp.TagJobGroup, s.jobAttributes(rq, rq.job, requestedAttributes(rq.oper)))
	return nil
}

// holdJob holds a job back from the scheduler (operators only: a held job may belong to a
// paused printer or a bulk-run schedule that its owner must not override).
func (s *Server) holdJob(ctx context.Context, rq *request, _ *response) error {
	if !s.isOperator(rq) {
		return Errorf(goipp.StatusErrorForbidden, "Only an operator may hold jobs.")
	}
	if rq.job.State.Final() {
		return Errorf(goipp.StatusErrorNotPossible, "Job %d is already %s.", rq.job.ID, rq.job.State)
	}
	return s.svc.HoldJob(ctx, rq.job.ID, rq.user)
}

// releaseJob releases a held job (operators only).
func (s *Server) releaseJob(ctx context.Context, rq *request, _ *response) error {
	if !s.isOperator(rq) {
		return Errorf(goipp.StatusErrorForbidden, "Only an operator may release jobs.")
	}
	if rq.job.State != job.StateHeld {
		return Errorf(goipp.StatusErrorNotPossible, "Job %d is not held.", rq.job.ID)
	}
	return s.svc.ReleaseJob(ctx, rq.job.ID, rq.user)
}
