// Publishing virtual printers over DNS-SD through avahi-daemon (D-Bus), as _ipp._tcp (or
// _ipps._tcp) with the _print and _universal subtypes.
//
// Why Avahi and not a pure-Go mDNS responder: on Linux the mDNS port belongs to avahi-daemon
// when it runs, and a second responder on the same host answers alongside it with conflicting
// caches and probing; registering through the daemon keeps one responder, honours its name
// conflict resolution, and reaches every interface it manages. A pure-Go responder also cannot
// publish on loopback (multicast), so local clients such as a CUPS on the same host would not
// see the printers. github.com/holoplot/go-avahi is pure Go (D-Bus over godbus), so the build
// stays cgo-free. When avahi-daemon is not reachable the Advertiser logs it and does nothing:
// printing by URL still works, only discovery is off.
package ipp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/holoplot/go-avahi"
)

// maxNameTries bounds the alternative service names tried on a name collision.
const maxNameTries = 10

// AdvertiserOptions configure an Advertiser.
type AdvertiserOptions struct {
	// Port is the gateway's IPP port, as advertised.
	Port int
	// TLS: the listener speaks IPPS/HTTPS; advertised as _ipps._tcp with TLS=1.2.
	TLS bool
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
	// Bus opens the D-Bus connection to avahi-daemon; the system bus when nil.
	Bus func() (*dbus.Conn, error)
}

// Advertiser publishes virtual printers through avahi-daemon. Its methods are safe for
// concurrent use; Close stops it.
type Advertiser struct {
	opts AdvertiserOptions
	log  *slog.Logger

	mu     sync.Mutex
	server *avahi.Server
	group  *avahi.EntryGroup
	host   string
	// unavailable is set once avahi could not be reached, so that is logged once.
	unavailable bool
	// stop ends the goroutine draining the entry group's state changes; done says it ended.
	stop chan struct{}
	done chan struct{}
	// published are the instance names currently registered, by printer.
	published map[string]string
}

// NewAdvertiser validates opts. It does not connect until Publish.
func NewAdvertiser(opts AdvertiserOptions) (*Advertiser, error) {
	if opts.Port <= 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("ipp: advertiser: bad port %d", opts.Port)
	}
	if opts.Bus == nil {
		opts.Bus = func() (*dbus.Conn, error) { return dbus.ConnectSystemBus() }
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Advertiser{opts: opts, log: log, published: map[string]string{}}, nil
}

// serviceType is _ipp._tcp, or _ipps._tcp over TLS.
func (a *Advertiser) serviceType() string {
	if a.opts.TLS {
		return "_ipps._tcp"
	}
	return "_ipp._tcp"
}

// Publish replaces what is advertised with printers. Without avahi-daemon it logs (once) and
// returns nil: discovery is optional, printing is not.
func (a *Advertiser) Publish(printers []*PrinterInfo) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.connect(); err != nil {
		if !a.unavailable {
			a.log.Info("ipp: avahi-daemon not reachable, DNS-SD advertising off", "err", err)
			a.unavailable = true
		}
		return nil
	}
	a.unavailable = false
	if err := a.group.Reset(); err != nil {
		return fmt.Errorf("ipp: dns-sd: reset entry group: %w", err)
	}
	clear(a.published)
	if len(printers) == 0 {
		return nil
	}
	host := net.JoinHostPort(a.host, strconv.Itoa(a.opts.Port))
	stype := a.serviceType()
	for _, p := range printers {
		txt, err := TXTRecord(p, host, a.opts.TLS)
		if err != nil {
			return err
		}
		records := make([][]byte, len(txt))
		for i, t := range txt {
			records[i] = []byte(t)
		}
		name, err := a.addService(instanceName(p), stype, records)
		if err != nil {
			return fmt.Errorf("ipp: dns-sd: publish %s: %w", p.Name, err)
		}
		for _, sub := range []string{"_print", "_universal"} {
			if err := a.group.AddServiceSubtype(avahi.InterfaceUnspec, avahi.ProtoUnspec, 0, name, stype, "",
				sub+"._sub."+stype); err != nil {
				return fmt.Errorf("ipp: dns-sd: subtype %s of %s: %w", sub, p.Name, err)
			}
		}
		a.published[p.Name] = name
	}
	if err := a.group.Commit(); err != nil {
		return fmt.Errorf("ipp: dns-sd: commit: %w", err)
	}
	a.log.Info("ipp: advertising printers over DNS-SD", "count", len(printers), "type", stype, "host", a.host)
	return nil
}

// addService registers one service, taking Avahi's alternative name when the name is taken.
func (a *Advertiser) addService(name, stype string, txt [][]byte) (string, error) {
	for range maxNameTries {
		err := a.group.AddService(avahi.InterfaceUnspec, avahi.ProtoUnspec, 0, name, stype, "", "",
			uint16(a.opts.Port), txt)
		if err == nil {
			return name, nil
		}
		var derr dbus.Error
		if !errors.As(err, &derr) || derr.Name != "org.freedesktop.Avahi.CollisionError" {
			return "", err
		}
		alt, aerr := a.server.GetAlternativeServiceName(name)
		if aerr != nil {
			return "", fmt.Errorf("%w (and no alternative name: %v)", err, aerr)
		}
		a.log.Info("ipp: dns-sd name taken, using another", "name", name, "alternative", alt)
		name = alt
	}
	return "", fmt.Errorf("no free service name after %d tries", maxNameTries)
}

// instanceName is the DNS-SD instance name users see: printer-info, else the name.
func instanceName(p *PrinterInfo) string {
	name := p.Info
	if name == "" {
		name = p.Name
	}
	// DNS-SD instance names are at most 63 bytes.
	return truncateUTF8(name, 63)
}

// Published returns the instance name each printer is advertised under.
func (a *Advertiser) Published() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]string, len(a.published))
	for k, v := range a.published {
		out[k] = v
	}
	return out
}

// connect opens the bus, the Avahi server and one entry group, once.
func (a *Advertiser) connect() error {
	if a.group != nil {
		return nil
	}
	conn, err := a.opts.Bus()
	if err != nil {
		return err
	}
	// A cheap call that fails at once when avahi-daemon is not on the bus.
	var version int32
	if err := conn.Object("org.freedesktop.Avahi", "/").Call("org.freedesktop.Avahi.Server.GetAPIVersion", 0).Store(&version); err != nil {
		conn.Close()
		return err
	}
	server, err := avahi.ServerNew(conn)
	if err != nil {
		conn.Close()
		return err
	}
	host, err := server.GetHostNameFqdn()
	if err != nil {
		server.Close()
		return err
	}
	group, err := server.EntryGroupNew()
	if err != nil {
		server.Close()
		return err
	}
	a.server, a.group, a.host = server, group, host
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	go a.watch(group, a.stop, a.done)
	return nil
}

// watch drains the entry group's state changes (go-avahi blocks its dispatcher when nobody
// reads them) and logs collisions and failures, until stop closes.
func (a *Advertiser) watch(group *avahi.EntryGroup, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case st := <-group.StateChangeChannel:
			switch st.State {
			case avahi.EntryGroupCollision:
				a.log.Warn("ipp: dns-sd name collision, printers withdrawn", "err", st.Error)
			case avahi.EntryGroupFailure:
				a.log.Warn("ipp: dns-sd registration failed", "err", st.Error)
			case avahi.EntryGroupEstablished:
				a.log.Debug("ipp: dns-sd registration established")
			}
		case <-stop:
			return
		}
	}
}

// Close withdraws the printers and disconnects.
func (a *Advertiser) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.group == nil {
		return nil
	}
	err := a.group.Reset()
	a.server.EntryGroupFree(a.group)
	close(a.stop)
	<-a.done
	a.server.Close()
	a.server, a.group = nil, nil
	clear(a.published)
	if err != nil {
		return fmt.Errorf("ipp: dns-sd: withdraw: %w", err)
	}
	return nil
}

// Run publishes the printers list returns, at start and again whenever their records would
// change, until ctx ends; then it withdraws them (Close). changes signals that they may have
// (job traffic signals constantly, so signals are debounced for a second, and an unchanged
// record set is not registered again: every Publish resets the Avahi entry group, which
// browsers see as the printers vanishing and coming back). While avahi-daemon is unreachable
// publishing is retried each minute.
func (a *Advertiser) Run(ctx context.Context, list func(context.Context) ([]*PrinterInfo, error), changes <-chan struct{}) {
	defer func() {
		if err := a.Close(); err != nil {
			a.log.Warn("dns-sd: withdraw printers", "err", err)
		}
	}()
	var last string
	publish := func() {
		infos, err := list(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("dns-sd: describe virtual printers", "err", err)
			}
			return
		}
		var key strings.Builder
		for _, p := range infos {
			// The host part of adminurl is the Advertiser's; "" is enough to compare records.
			txt, err := TXTRecord(p, "", false)
			if err != nil {
				a.log.Warn("dns-sd: TXT record", "virtual_printer", p.Name, "err", err)
				return
			}
			fmt.Fprintf(&key, "%s\x00%s\x00%s\n", p.Name, p.Info, strings.Join(txt, "\x00"))
		}
		if key.String() == last && len(a.Published()) == len(infos) {
			return
		}
		if err := a.Publish(infos); err != nil {
			a.log.Warn("dns-sd: publish", "err", err)
			return
		}
		if len(a.Published()) == len(infos) {
			last = key.String()
		}
	}
	publish()
	retry := time.NewTicker(time.Minute)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
		case <-changes:
			// Let a burst of changes settle into one publication.
			settle := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				settle.Stop()
				return
			case <-settle.C:
			}
			select {
			case <-changes:
			default:
			}
		}
		publish()
	}
}
