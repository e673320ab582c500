// Wake-ups between gateways: NOTIFY after a commit, LISTEN on a dedicated connection. A job
// accepted on one gateway is assigned at once by the gateway that holds its printer, and every
// gateway's live views refresh; the scheduler's own passes and the lease rounds stay as the
// safety net for a notice lost while a connection was down.
package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/printgate/printgate/queue"
)

// Channel is the NOTIFY channel every gateway listens on.
const Channel = "printgate_cluster"

// coalesceEvery bounds how often one gateway notifies: a burst of job changes (a bulk run
// starting) is one notice per kind and name per interval, not one per job.
const coalesceEvery = 50 * time.Millisecond

// notice is a NOTIFY payload.
type notice struct {
	Gateway string `json:"gateway"`
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty"`
}

// Notifier publishes this gateway's notices and delivers the other gateways' to onNotice.
type Notifier struct {
	pool     *pgxpool.Pool
	gateway  string
	log      *slog.Logger
	onNotice func(kind string)

	mu      sync.Mutex
	pending map[notice]bool
	flush   chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
	// listening is closed once the first LISTEN has been made (tests wait for it).
	listening chan struct{}
	listened  sync.Once
}

// newNotifier starts the listener and the publisher; Close stops both.
func newNotifier(pool *pgxpool.Pool, gateway string, log *slog.Logger, onNotice func(kind string)) (*Notifier, error) {
	if pool == nil {
		return nil, fmt.Errorf("cluster: notifier: no pool")
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{pool: pool, gateway: gateway, log: log, onNotice: onNotice, pending: map[notice]bool{},
		flush: make(chan struct{}, 1), cancel: cancel, listening: make(chan struct{})}
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		n.listen(ctx)
	}()
	go func() {
		defer n.wg.Done()
		n.publish(ctx)
	}()
	return n, nil
}

// Close stops the notifier's goroutines and closes its connection.
func (n *Notifier) Close() {
	n.cancel()
	n.wg.Wait()
}

// Publish queues a notice (coalesced; never blocks).
func (n *Notifier) Publish(kind, name string) {
	n.mu.Lock()
	n.pending[notice{Gateway: n.gateway, Kind: kind, Name: name}] = true
	n.mu.Unlock()
	select {
	case n.flush <- struct{}{}:
	default:
	}
}

// publish sends queued notices, at most once per coalesceEvery.
func (n *Notifier) publish(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.flush:
		}
		n.mu.Lock()
		batch := n.pending
		n.pending = map[notice]bool{}
		n.mu.Unlock()
		for nt := range batch {
			if err := n.send(ctx, nt.Kind, nt.Name); err != nil && ctx.Err() == nil {
				n.log.Warn("cluster notice not sent (the others find the change at their next pass)", "kind", nt.Kind, "err", err)
			}
		}
		t := time.NewTimer(coalesceEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// send notifies now.
func (n *Notifier) send(ctx context.Context, kind, name string) error {
	b, err := json.Marshal(notice{Gateway: n.gateway, Kind: kind, Name: name})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n.pool.Exec(sctx, "SELECT pg_notify($1, $2)", Channel, string(b)); err != nil {
		return fmt.Errorf("cluster: notify: %w", err)
	}
	return nil
}

// listen holds a dedicated connection LISTENing, reconnecting with backoff. After every
// reconnect it reports a change: notices sent while it was away are lost, so the scheduler
// and the live views look again.
func (n *Notifier) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := n.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("cluster listener lost its connection; reconnecting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (n *Notifier) listenOnce(ctx context.Context) error {
	cfg := n.pool.Config().ConnConfig.Copy()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return err
	}
	n.listened.Do(func() { close(n.listening) })
	// Whatever was missed while away: jobs, and schedules made meanwhile.
	n.onNotice(queue.NoticeJobChanged)
	n.onNotice(queue.NoticeSchedulesChanged)
	for {
		nf, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var nt notice
		if json.Unmarshal([]byte(nf.Payload), &nt) != nil || nt.Gateway == n.gateway {
			continue
		}
		n.onNotice(nt.Kind)
	}
}

// hub fans coalesced signals out per topic.
type hub struct {
	mu   sync.Mutex
	subs map[queue.Topic]map[int]chan struct{}
	next int
}

func newHub() *hub { return &hub{subs: map[queue.Topic]map[int]chan struct{}{}} }

func (h *hub) subscribe(t queue.Topic) (<-chan struct{}, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.next
	h.next++
	ch := make(chan struct{}, 1)
	if h.subs[t] == nil {
		h.subs[t] = map[int]chan struct{}{}
	}
	h.subs[t][id] = ch
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[t], id)
		h.mu.Unlock()
	}
}

func (h *hub) signal(t queue.Topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.subs[t] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
