// Package ehtest is an in-process Azure Event Hubs server for tests: an AMQP
// 1.0 server that the real azeventhubs/v2 ProducerClient, ConsumerClient and
// Processor connect to with a connection string ending in
// UseDevelopmentEmulator=true, or over TLS with an Entra token credential.
//
// It keeps events in memory per partition, serves $cbs claims (SAS tokens for
// the configured key, or JWTs a test accepts), $management READs, receivers
// with selector filters and epoch (owner level) arbitration, and senders with
// batches and partition keys. Faults can be injected at any time: dropped
// connections, stalled partitions, delayed responses, detached links, refused
// attaches. See docs/ehtest.md.
package ehtest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/amqp"
)

// Error conditions the server sends, as the service does.
const (
	condLinkStolen     amqp.Symbol = "amqp:link:stolen"
	condResourceLimit  amqp.Symbol = "amqp:resource-limit-exceeded"
	condNotFound       amqp.Symbol = "amqp:not-found"
	condUnauthorized   amqp.Symbol = "amqp:unauthorized-access"
	condOutOfRange     amqp.Symbol = "com.microsoft:argument-out-of-range"
	condMessageSize    amqp.Symbol = "amqp:link:message-size-exceeded"
	condInternal       amqp.Symbol = "amqp:internal-error"
	condDecode         amqp.Symbol = "amqp:decode-error"
	condFramingError   amqp.Symbol = "amqp:connection:framing-error"
	condInvalidField   amqp.Symbol = "amqp:invalid-field"
	condUnattachedHndl amqp.Symbol = "amqp:session:unattached-handle"
	condIllegalState   amqp.Symbol = "amqp:illegal-state"
	condNotImplemented amqp.Symbol = "amqp:not-implemented"
	condHandleInUse    amqp.Symbol = "amqp:session:handle-in-use"
)

// Options configure a Server. The zero value works: a plain listener on a
// free port of 127.0.0.1, key name "RootManageSharedAccessKey" with a fixed
// test key.
type Options struct {
	// Addr is the plain (non-TLS) listen address; default "127.0.0.1:0".
	Addr string
	// KeyName and Key are the shared access key that SAS tokens must be signed
	// with. Defaults: "RootManageSharedAccessKey" and DefaultKey.
	KeyName, Key string
	// TLS, when set, adds a TLS listener on TLSAddr (default "127.0.0.1:0")
	// with this configuration (its certificate must be valid for the address
	// clients dial, e.g. an IP SAN 127.0.0.1).
	TLS     *tls.Config
	TLSAddr string
	// AcceptJWT decides whether a put-token of type "jwt" (from an
	// azcore.TokenCredential) is valid for the audience. Nil refuses every JWT.
	AcceptJWT func(token, audience string) bool
	// RetainPerPartition bounds the events kept per partition (oldest dropped
	// first); default 100000.
	RetainPerPartition int
	// MaxMessageSize is the link max-message-size for senders and the largest
	// accepted delivery; default 1 MiB (the service's Standard tier).
	MaxMessageSize uint64
	// MaxFrameSize is the largest frame the server accepts (and announces);
	// default 256 KiB.
	MaxFrameSize uint32
	// HeartbeatInterval is how often the server sends an empty frame; default
	// 10 s, and never more than half the client's idle timeout.
	HeartbeatInterval time.Duration
	// IdleTimeout is announced to clients; a client silent for twice as long is
	// disconnected. Default 60 s.
	IdleTimeout time.Duration
	// Logger receives connection-level logs; default none. At debug level it
	// gets every frame in and out, except the transfers of events.
	Logger *zap.Logger
	// Now is the clock for enqueued times and token expiry; default time.Now.
	// Enqueued times never go backwards within a partition.
	Now func() time.Time
}

// DefaultKey is the shared access key a zero Options uses.
const DefaultKey = "c3RyZWFtaHVudC10ZXN0LWtleS1ub3QtYS1zZWNyZXQ="

// DefaultKeyName is the key name a zero Options uses.
const DefaultKeyName = "RootManageSharedAccessKey"

func (o *Options) setDefaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.TLSAddr == "" {
		o.TLSAddr = "127.0.0.1:0"
	}
	if o.KeyName == "" {
		o.KeyName = DefaultKeyName
	}
	if o.Key == "" {
		o.Key = DefaultKey
	}
	if o.RetainPerPartition == 0 {
		o.RetainPerPartition = 100000
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = 1 << 20
	}
	if o.MaxFrameSize == 0 {
		o.MaxFrameSize = 256 << 10
	}
	if o.MaxFrameSize < amqp.MinMaxFrameSize {
		o.MaxFrameSize = amqp.MinMaxFrameSize
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Server is an in-process Event Hubs namespace. Its methods are safe for
// concurrent use.
type Server struct {
	opts  Options
	log   *zap.Logger
	ln    net.Listener
	tlsLn net.Listener

	mu     sync.Mutex
	hubs   map[string]*hub // lower-case name
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup

	responseDelay atomic.Int64 // nanoseconds
	refuse        atomic.Pointer[amqp.Error]
	refuseMu      sync.Mutex
	refuseNext    int // attaches still to refuse with refuseNextErr
	refuseNextErr *amqp.Error
	nextConnID    atomic.Uint64
}

// NewServer starts a server listening on opts.Addr (and opts.TLSAddr when
// opts.TLS is set). Close stops it.
func NewServer(opts Options) (*Server, error) {
	opts.setDefaults()
	s := &Server{opts: opts, log: opts.Logger, hubs: map[string]*hub{}, conns: map[*conn]struct{}{}}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("ehtest: listen on %s: %w (choose a free address, or leave Addr empty)", opts.Addr, err)
	}
	s.ln = ln
	if opts.TLS != nil {
		tln, err := tls.Listen("tcp", opts.TLSAddr, opts.TLS)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("ehtest: TLS listen on %s: %w", opts.TLSAddr, err)
		}
		s.tlsLn = tln
	}
	s.wg.Add(1)
	go s.accept(ln, false)
	if s.tlsLn != nil {
		s.wg.Add(1)
		go s.accept(s.tlsLn, true)
	}
	return s, nil
}

func (s *Server) accept(ln net.Listener, isTLS bool) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("ehtest: accept failed", zap.Error(err))
			}
			return
		}
		c := newConn(s, nc, isTLS)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops the listeners, drops every connection and waits for every
// goroutine of the server to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := s.connList()
	s.mu.Unlock()
	s.ln.Close()
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	for _, c := range conns {
		c.kill()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) connList() []*conn {
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Namespace returns the fully qualified namespace of the plain listener as
// the SDK sees it: "127.0.0.1:PORT".
func (s *Server) Namespace() string { return s.ln.Addr().String() }

// TLSNamespace returns the fully qualified namespace of the TLS listener
// ("127.0.0.1:PORT"), or "" when Options.TLS was not set. Use it with
// azeventhubs.NewConsumerClient and a TokenCredential.
func (s *Server) TLSNamespace() string {
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// ConnectionString returns a connection string for the plain listener with
// the server's key, for eventHub (or without EntityPath when eventHub is "").
func (s *Server) ConnectionString(eventHub string) string {
	cs := fmt.Sprintf("Endpoint=sb://%s;SharedAccessKeyName=%s;SharedAccessKey=%s", s.Namespace(), s.opts.KeyName, s.opts.Key)
	if eventHub != "" {
		cs += ";EntityPath=" + eventHub
	}
	return cs + ";UseDevelopmentEmulator=true"
}

// CreateHub creates an event hub with the given number of partitions ("0" to
// "n-1") and consumer groups ("$Default" always exists). It fails when the
// hub exists.
func (s *Server) CreateHub(name string, partitions int, consumerGroups ...string) error {
	if name == "" || strings.ContainsAny(name, "/\\") {
		return fmt.Errorf("ehtest: invalid event hub name %q", name)
	}
	if partitions < 1 || partitions > 1024 {
		return fmt.Errorf("ehtest: event hub %q needs 1 to 1024 partitions, not %d", name, partitions)
	}
	h := &hub{name: name, created: amqp.Timestamp(time.Now()), groups: map[string]string{"$default": "$Default"}}
	for _, cg := range consumerGroups {
		h.groups[strings.ToLower(cg)] = cg
	}
	for i := 0; i < partitions; i++ {
		h.partitions = append(h.partitions, newPartition(name, fmt.Sprint(i), s.opts.RetainPerPartition, s.opts.Now))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.hubs[strings.ToLower(name)]; ok {
		return fmt.Errorf("ehtest: event hub %q exists already", name)
	}
	s.hubs[strings.ToLower(name)] = h
	return nil
}

// AddConsumerGroups adds consumer groups to a hub.
func (s *Server) AddConsumerGroups(hubName string, consumerGroups ...string) error {
	h, err := s.hub(hubName)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, cg := range consumerGroups {
		h.groups[strings.ToLower(cg)] = cg
	}
	return nil
}

// AddPartitions adds n partitions to a running hub (as the service allows on
// Premium and Dedicated tiers); new partitions are numbered after the others.
func (s *Server) AddPartitions(hubName string, n int) error {
	h, err := s.hub(hubName)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 0; i < n; i++ {
		h.partitions = append(h.partitions, newPartition(h.name, fmt.Sprint(len(h.partitions)), s.opts.RetainPerPartition, s.opts.Now))
	}
	return nil
}

func (s *Server) hub(name string) (*hub, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hubs[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("ehtest: event hub %q does not exist (create it with CreateHub)", name)
	}
	return h, nil
}

func (s *Server) partition(hubName, id string) (*partition, error) {
	h, err := s.hub(hubName)
	if err != nil {
		return nil, err
	}
	p := h.partition(id)
	if p == nil {
		return nil, fmt.Errorf("ehtest: event hub %q has no partition %q", hubName, id)
	}
	return p, nil
}

// Publish appends events with the given bodies (one Data section each) to a
// partition, as if a producer had sent them. The server keeps the body slices
// without copying them: do not modify them afterwards.
func (s *Server) Publish(hubName, partitionID string, bodies ...[]byte) error {
	p, err := s.partition(hubName, partitionID)
	if err != nil {
		return err
	}
	return p.append(len(bodies), func(i int, seq, offset int64, t time.Time) (*event, int, error) {
		head, err := annotate(nil, nil, seq, offset, t)
		if err != nil {
			return nil, 0, err
		}
		return &event{head: head, body: bodies[i], hasBody: true}, len(bodies[i]), nil
	})
}

// PublishMessage appends one event that is the given AMQP message (its
// message annotations get the x-opt-* system annotations).
func (s *Server) PublishMessage(hubName, partitionID string, m *amqp.Message) error {
	p, err := s.partition(hubName, partitionID)
	if err != nil {
		return err
	}
	return p.append(1, func(_ int, seq, offset int64, t time.Time) (*event, int, error) {
		enc, err := annotate(nil, m, seq, offset, t)
		return &event{head: enc}, len(enc), err
	})
}

// annotate encodes m (which it does not modify) with the Event Hubs system
// annotations added to its message annotations. A nil m gives the encoding of
// just the annotations section.
func annotate(dst []byte, m *amqp.Message, seq, offset int64, t time.Time) ([]byte, error) {
	var ann amqp.Map
	var cp amqp.Message
	if m != nil {
		cp = *m
		ann = slices.Clone(m.MessageAnnotations)
	}
	ann.Set(amqp.Symbol("x-opt-sequence-number"), seq)
	ann.Set(amqp.Symbol("x-opt-offset"), fmt.Sprint(offset))
	ann.Set(amqp.Symbol("x-opt-enqueued-time"), t)
	cp.MessageAnnotations = ann
	return cp.Append(dst)
}

// Receiver describes one receiver link attached to a partition.
type Receiver struct {
	ConsumerGroup string // lower case
	LinkName      string
	Epoch         *int64 // owner level; nil for a receiver without one
	Delivered     int64  // events sent on the link so far
}

// PartitionState is a partition's state as the server holds it.
type PartitionState struct {
	Hub, Partition      string
	BeginSequenceNumber int64  // first retained event
	LastSequenceNumber  int64  // -1 when empty
	LastOffset          string // "-1" when empty
	LastEnqueuedTime    time.Time
	Empty               bool
	Retained            int // events retained
	Receivers           []Receiver
}

// PartitionState returns the state of a partition.
func (s *Server) PartitionState(hubName, partitionID string) (PartitionState, error) {
	p, err := s.partition(hubName, partitionID)
	if err != nil {
		return PartitionState{}, err
	}
	return p.state(), nil
}

// DropConnections closes every client connection abruptly (no AMQP close),
// as a network failure would. Clients reconnect on their own.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.connList()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
}

// Connections returns the number of open client connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// StallPartition stops (true) or resumes (false) deliveries from a partition;
// receivers stay attached and sends are still accepted.
func (s *Server) StallPartition(hubName, partitionID string, stall bool) error {
	p, err := s.partition(hubName, partitionID)
	if err != nil {
		return err
	}
	p.setStalled(stall)
	return nil
}

// SetResponseDelay delays every attach reply and $cbs / $management response
// by d (0 turns it off).
func (s *Server) SetResponseDelay(d time.Duration) { s.responseDelay.Store(int64(d)) }

// RefuseAttaches makes the server refuse every new receiver and sender attach
// (not $cbs or $management) with the given error condition and description,
// e.g. "com.microsoft:server-busy"; an empty condition accepts them again.
func (s *Server) RefuseAttaches(condition, description string) {
	if condition == "" {
		s.refuse.Store(nil)
		return
	}
	s.refuse.Store(&amqp.Error{Condition: amqp.Symbol(condition), Description: description})
}

// RefuseNextAttaches makes the server refuse the next n receiver and sender
// attaches with the given error, then accept again; e.g. one
// "com.microsoft:server-busy" to see a client retry.
func (s *Server) RefuseNextAttaches(n int, condition, description string) {
	s.refuseMu.Lock()
	defer s.refuseMu.Unlock()
	s.refuseNext = n
	s.refuseNextErr = &amqp.Error{Condition: amqp.Symbol(condition), Description: description}
}

// attachRefusal returns the error an entity attach is refused with by the
// injected faults, or nil.
func (s *Server) attachRefusal() *amqp.Error {
	if e := s.refuse.Load(); e != nil {
		return e
	}
	s.refuseMu.Lock()
	defer s.refuseMu.Unlock()
	if s.refuseNext > 0 {
		s.refuseNext--
		return s.refuseNextErr
	}
	return nil
}

// DetachLinks detaches every receiver link of a partition with the given
// error condition and description (e.g. "amqp:link:detach-forced"); it
// returns how many it detached.
func (s *Server) DetachLinks(hubName, partitionID, condition, description string) (int, error) {
	p, err := s.partition(hubName, partitionID)
	if err != nil {
		return 0, err
	}
	ls := p.receiverLinks()
	for _, l := range ls {
		p.unregister(l)
		l.c.detachLink(l, &amqp.Error{Condition: amqp.Symbol(condition), Description: description})
	}
	return len(ls), nil
}
