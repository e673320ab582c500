// The dispatch table: which handler serves each IPP operation, matched on goipp.Op constants
// (never on their names), and whether it targets a job.
package ipp

import (
	"context"
	"slices"

	"github.com/OpenPrinting/goipp"
)

// handlerFunc is an operation handler. It fills rs; a returned error becomes the status (see
// statusOf) and is logged when it is the server's fault.
type handlerFunc func(ctx context.Context, rq *request, rs *response) error

// operation is one entry of the dispatch table.
type operation struct {
	fn handlerFunc
	// job: the operation targets a job (job-id or job-uri required).
	job bool
}

// operations is the dispatch table, matched on goipp.Op constants.
func (s *Server) operations() map[goipp.Op]operation {
	return map[goipp.Op]operation{
		goipp.OpPrintJob:             {fn: s.printJob},
		goipp.OpValidateJob:          {fn: s.validateJob},
		goipp.OpCreateJob:            {fn: s.createJob},
		goipp.OpGetPrinterAttributes: {fn: s.getPrinterAttributes},
		goipp.OpGetJobs:              {fn: s.getJobs},
		goipp.OpCancelMyJobs:         {fn: s.cancelMyJobs},
		goipp.OpIdentifyPrinter:      {fn: s.identifyPrinter},
		goipp.OpPausePrinter:         {fn: s.pausePrinter},
		goipp.OpHoldNewJobs:          {fn: s.pausePrinter},
		goipp.OpResumePrinter:        {fn: s.resumePrinter},
		goipp.OpReleaseHeldNewJobs:   {fn: s.resumePrinter},
		goipp.OpSendDocument:         {fn: s.sendDocument, job: true},
		goipp.OpCloseJob:             {fn: s.closeJob, job: true},
		goipp.OpCancelJob:            {fn: s.cancelJob, job: true},
		goipp.OpGetJobAttributes:     {fn: s.getJobAttributes, job: true},
		goipp.OpHoldJob:              {fn: s.holdJob, job: true},
		goipp.OpReleaseJob:           {fn: s.releaseJob, job: true},
	}
}

// operationsSupported lists the table's operations in ascending code order
// (operations-supported).
func (s *Server) operationsSupported() []goipp.Op {
	ops := make([]goipp.Op, 0, len(s.ops))
	for op := range s.ops {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}
