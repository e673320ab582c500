// Queue state listings (lpq) and job removal (lprm), with the rule for who may remove what.
package lpd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/printgate/printgate/job"
)

// SuperUser is the agent name that may remove any job, but only from an admin host
// (Config.AdminHosts, or the gateway host itself with TrustLoopback). From anywhere else
// "root" is an ordinary user name: LPD carries no authentication, so trusting a remote claim
// of root would let any desktop cancel every letter. Operators use the dashboard or API.
const SuperUser = "root"

// peer is who sent a request, as far as LPD can tell: the connection's address, and whether
// that address is an admin host.
type peer struct {
	ip    string
	admin bool
}

// mayRemove is the lprm rule (RFC 1179 carries a user name and nothing more): the job's owner
// (case-insensitively, since Windows user names are) from the host the job came from, or
// SuperUser from an admin host. A name alone is anyone's claim.
func mayRemove(j *job.Job, agent string, from peer) bool {
	return (agent == SuperUser && from.admin) || (strings.EqualFold(j.Owner, agent) && j.OriginHost == from.ip)
}

// visible reports whether a listing for from may show j's owner and host: the job came from
// the same host, or the gateway shows names to everyone.
func visible(j *job.Job, from string, showNames bool) bool {
	return showNames || j.OriginHost == from
}

func (c *conn) queueState(ctx context.Context, cmd Command) {
	log := c.log.With("queue", cmd.Queue)
	printer, ok := c.srv.lookupQueue(cmd.Queue)
	if !ok {
		log.Warn("lpd: queue state for unknown queue")
		c.write(fmt.Sprintf("%s: unknown printer\n", cmd.Queue))
		return
	}
	jobs, err := c.srv.sp.QueueJobs(ctx, printer)
	if err != nil {
		log.Error("lpd: listing queue", "printer", printer, "err", err)
		c.write(fmt.Sprintf("%s: queue state unavailable\n", cmd.Queue))
		return
	}
	c.write(formatQueue(cmd.Queue, jobs, cmd.List, cmd.Code == CmdQueueLong, c.srv.cfg.ShowNames, c.remoteIP))
}

func (c *conn) write(s string) {
	if _, err := io.WriteString(c.w, s); err != nil {
		c.log.Debug("lpd: writing reply", "err", err)
	}
}

// formatQueue renders a queue listing in the BSD lpq layout that LPRng and CUPS clients show
// verbatim. list filters by user names and job numbers (a job matching any item is shown);
// names are shown only with showNames, since the request carries no identity, and the owners
// and hosts of jobs from hosts other than from are "(hidden)" (as the API hides them).
func formatQueue(queue string, jobs []*job.Job, list []string, long, showNames bool, from string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is ready\n", queue)
	shown := 0
	rank := 0
	for _, j := range jobs {
		// Active jobs are labelled apart; waiting ones are ranked 1st, 2nd, ...
		if !j.State.Active() {
			rank++
		}
		seen := visible(j, from, showNames)
		if !matchesList(j, list, seen) {
			continue
		}
		owner, host := j.Owner, j.OriginHost
		if !seen {
			owner, host = hiddenValue, hiddenValue
		}
		if shown == 0 && !long {
			b.WriteString("Rank    Owner      Job  File(s)                               Total Size\n")
		}
		shown++
		r := rankLabel(j.State, rank)
		files := "(hidden)"
		if showNames {
			files = jobFiles(j)
		}
		if long {
			fmt.Fprintf(&b, "\n%s: %-36s[job %d %s]\n", owner, r, j.ID, host)
			if !showNames || len(j.Documents) == 0 {
				fmt.Fprintf(&b, "        %-40s %d bytes\n", files, j.Size())
				continue
			}
			for _, d := range j.Documents {
				fmt.Fprintf(&b, "        %-40s %d bytes\n", d.Name, d.Size)
			}
			continue
		}
		fmt.Fprintf(&b, "%-7s %-10s %-4d %-37s %d bytes\n", r, clip(owner, 10), j.ID, clip(files, 37), j.Size())
	}
	if shown == 0 {
		b.WriteString("no entries\n")
	}
	return b.String()
}

func rankLabel(s job.State, rank int) string {
	switch {
	case s.Active():
		return "active"
	case s == job.StateHeld:
		return string(job.StateHeld)
	}
	suffix := "th"
	if rank%100 < 11 || rank%100 > 13 {
		switch rank % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(rank) + suffix
}

func jobFiles(j *job.Job) string {
	var names []string
	for _, d := range j.Documents {
		names = append(names, d.Name)
	}
	if len(names) == 0 {
		return j.Name
	}
	return strings.Join(names, ", ")
}

// clip shortens s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// hiddenValue stands for an owner or host the listing may not show.
const hiddenValue = "(hidden)"

// matchesList: an empty list matches every job; otherwise a job number or owner name must. An
// owner the listing hides matches no name (else listing "bob" would tell whose jobs are bob's).
func matchesList(j *job.Job, list []string, ownerShown bool) bool {
	if len(list) == 0 {
		return true
	}
	for _, item := range list {
		if id, err := strconv.ParseInt(item, 10, 64); err == nil {
			if id == j.ID {
				return true
			}
		} else if ownerShown && strings.EqualFold(item, j.Owner) {
			return true
		}
	}
	return false
}

// removal is the outcome of an lprm request for one job.
type removal struct {
	JobID int64
	// Allowed is false when the agent may not remove the job.
	Allowed bool
}

// selectRemovals decides which jobs an lprm request names and whether the agent may remove
// each. An empty list means the agent's first job in the queue; "-" or "all" every job the
// agent may remove; a number that job; a user name that user's jobs. Jobs named explicitly that
// the agent may not remove come back with Allowed false, so the reply can say so.
func selectRemovals(jobs []*job.Job, agent string, list []string, from peer) []removal {
	var out []removal
	seen := map[int64]bool{}
	add := func(j *job.Job, explicit bool) {
		if seen[j.ID] {
			return
		}
		ok := mayRemove(j, agent, from)
		if !ok && !explicit {
			return
		}
		seen[j.ID] = true
		out = append(out, removal{JobID: j.ID, Allowed: ok})
	}
	if len(list) == 0 {
		for _, j := range jobs {
			if mayRemove(j, agent, from) {
				add(j, false)
				break
			}
		}
		return out
	}
	for _, item := range list {
		switch id, err := strconv.ParseInt(item, 10, 64); {
		case item == "-" || strings.EqualFold(item, "all"):
			for _, j := range jobs {
				add(j, false)
			}
		case err == nil:
			for _, j := range jobs {
				if j.ID == id {
					add(j, true)
				}
			}
		default:
			for _, j := range jobs {
				if strings.EqualFold(j.Owner, item) {
					add(j, true)
				}
			}
		}
	}
	return out
}

func (c *conn) removeJobs(ctx context.Context, cmd Command) {
	log := c.log.With("queue", cmd.Queue, "agent", cmd.Agent)
	printer, ok := c.srv.lookupQueue(cmd.Queue)
	if !ok {
		log.Warn("lpd: remove jobs on unknown queue")
		c.write(fmt.Sprintf("%s: unknown printer\n", cmd.Queue))
		return
	}
	jobs, err := c.srv.sp.QueueJobs(ctx, printer)
	if err != nil {
		log.Error("lpd: listing queue for removal", "printer", printer, "err", err)
		c.write(fmt.Sprintf("%s: queue state unavailable\n", cmd.Queue))
		return
	}
	actor := fmt.Sprintf("%s@%s (lpd)", cmd.Agent, c.remoteIP)
	var b strings.Builder
	for _, r := range selectRemovals(jobs, cmd.Agent, cmd.List, peer{ip: c.remoteIP, admin: c.admin}) {
		if !r.Allowed {
			log.Warn("lpd: remove refused: not the job's owner", "job", r.JobID)
			if c.srv.cfg.Audit != nil {
				c.srv.cfg.Audit(ctx, cmd.Agent, c.remoteIP, r.JobID, "not the job's owner at its host, nor root at an admin host")
			}
			fmt.Fprintf(&b, "job %d: permission denied\n", r.JobID)
			continue
		}
		if err := c.srv.sp.CancelJob(ctx, r.JobID, actor); err != nil {
			log.Error("lpd: remove job", "job", r.JobID, "err", err)
			fmt.Fprintf(&b, "job %d: not removed\n", r.JobID)
			continue
		}
		log.Info("lpd: job removed", "job", r.JobID)
		fmt.Fprintf(&b, "job %d dequeued\n", r.JobID)
	}
	c.write(b.String())
}
