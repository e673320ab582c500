// Fencing: how the PostgreSQL spool driver's state writes check the lease in the same statement.
package cluster

// FencePredicate is the SQL a state write for a job at a printer adds to its WHERE clause, with
// the printer, this gateway's id and the lease epoch as its three parameters (numbered as the
// statement needs: FencePredicate is written with $1, $2, $3; see Fence):
//
//	UPDATE jobs SET state = $4, ...
//	 WHERE id = $5 AND state = ANY($6)
//	   AND cluster_lease_valid($1, $2, $3)
//
// Zero rows means fenced: another gateway holds the printer's lease now (or the lease lapsed),
// and the write must be reported to the scheduler as refused (job.ErrStateChanged), never
// retried. A printer cannot tell two senders apart, so the database must: the scheduler stops
// sending on its own clock before the lease can lapse in the database, and the fence refuses
// whatever a gateway that lost its lease still tries to record.
//
// Which writes are fenced: every move of a job that is at a printer or goes to one (to
// assigned, sending, printing, completed, canceled or aborted from there, or back to pending
// from there), and progress updates. The printer is the job's printer after the write for a
// move to assigned, and the job's current printer otherwise. Writes for jobs at no printer
// (pending, held, received) and operator writes that do not touch a printer are not fenced.
//
// cluster_lease_valid takes the lease row FOR SHARE, so a takeover committing at that instant is
// waited for and seen, and a takeover waits for the write that checked the lease; it compares
// expires_at with clock_timestamp(), so a lease that lapsed during a long transaction covers
// none of its later writes.
const FencePredicate = "cluster_lease_valid($1, $2, $3)"

// Fence returns what a fenced write at printer passes to cluster_lease_valid: this gateway's id
// and its lease epoch; ok is false when this gateway does not hold the printer's lease now (the
// write must not even be tried).
func (c *Coordinator) Fence(printer string) (gateway string, epoch int64, ok bool) {
	l := c.Lease(printer)
	return c.opts.Gateway, l.Epoch, l.Held
}
