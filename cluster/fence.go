// Fencing: how the PostgreSQL spool driver's state writes check the lease in the same statement.
package cluster

// FencePredicate is the SQL a state write for a job at a printer adds to its WHERE clause, with
// the printer, this gateway's id and the lease epoch as its three parameters (numbered as the
// statement needs: FencePredicate is written with $1, $2, $3; see Fence). pgspool spells it in
// its own SQL (pgspool/jobs.go fenceWhere: the driver does not import this package) as
//
//	UPDATE jobs SET state = $1, ...
//	 WHERE id = $7
//	   AND cluster_lease_valid($8, $9, $10)
//
// for every Transition whose job.Change carries an active job.Fence, and for SetProgress with
// one. Zero rows means fenced: another gateway holds the printer's lease now (or the lease
// lapsed), and the driver returns job.ErrFenced (which is also job.ErrStateChanged); the
// scheduler's flight drops the write with a log line and never retries it, since the new
// holder owns the job now. A printer cannot tell two senders apart, so the database must: the
// scheduler stops sending on its own clock before the lease can lapse in the database, and the
// fence refuses whatever a gateway that lost its lease (paused, cut off) still tries to record.
//
// Which writes are fenced (queue/flight.go: each flight keeps the epoch its printer's lease had
// when it started, flight.fence): every move a flight makes of its job — to assigned with its
// printer, sending, printing, completed, canceled or aborted from there, or back to pending
// from there — its progress updates, and the takeover of jobs another gateway left at a printer
// (queue/lease.go leaseGained, under the new epoch). The printer is always the flight's
// printer: the one the job goes to for a move to assigned, the one it leaves otherwise.
// Writes for jobs at no printer (pending, held, received), operator writes outside a flight,
// and everything under queue.Single (epoch 0: no lease machinery) are not fenced; the SQLite
// driver ignores fences (one gateway per spool, held by its flock).
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
