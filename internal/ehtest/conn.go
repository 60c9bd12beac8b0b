package ehtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/amqp"
)

const (
	// sessionWindow is the incoming window the server announces per session.
	sessionWindow = 5000
	// linkCreditWindow is the credit the server grants a client sender link.
	linkCreditWindow = 1000
	// maxOutFrame caps the frame size the server sends, whatever the client allows.
	maxOutFrame = 1 << 20
	// transferOverhead reserves room for a transfer's frame header and performative.
	transferOverhead = 64
	// largeFrame is the payload size from which a frame is written without
	// copying it into the write buffer.
	largeFrame = 16 << 10
)

// conn is one client connection. mu guards all of its state and its writer:
// the reader goroutine, the delivery goroutines of its receiver links and the
// heartbeat goroutine all take it. Partition locks nest inside it.
type conn struct {
	srv *Server
	id  uint64
	nc  net.Conn
	log *zap.Logger
	br  *bufio.Reader

	mu           sync.Mutex
	bw           *bufio.Writer
	wbuf         []byte
	iov          net.Buffers // scratch for vectored writes of large frames
	peerMaxFrame uint32
	sessions     map[uint16]*session
	claims       map[string]time.Time // lower-case entity path -> expiry
	closed       bool
	trace        bool // log every frame (the logger is at debug level)

	done     chan struct{}
	killOnce sync.Once
	wg       sync.WaitGroup // delivery, heartbeat and delayed-response goroutines
}

func newConn(s *Server, nc net.Conn, isTLS bool) *conn {
	id := s.nextConnID.Add(1)
	return &conn{
		srv: s, id: id, nc: nc,
		log:      s.log.With(zap.Uint64("conn", id), zap.String("remote", nc.RemoteAddr().String()), zap.Bool("tls", isTLS)),
		br:       bufio.NewReaderSize(nc, 64<<10),
		bw:       bufio.NewWriterSize(nc, 256<<10),
		sessions: map[uint16]*session{},
		claims:   map[string]time.Time{},
		done:     make(chan struct{}),
		trace:    s.log.Core().Enabled(zap.DebugLevel),
	}
}

// kill closes the connection abruptly; serve then cleans up.
func (c *conn) kill() {
	c.killOnce.Do(func() {
		close(c.done)
		c.nc.Close()
	})
}

// serve runs the connection until it ends (run always returns why), then
// stops its goroutines.
func (c *conn) serve() {
	err := c.run()
	c.kill()
	c.mu.Lock()
	c.closed = true
	for _, s := range c.sessions {
		c.endSession(s)
	}
	c.sessions = nil
	c.mu.Unlock()
	c.wg.Wait()
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("ehtest: connection ended", zap.Error(err))
	}
}

func (c *conn) run() error {
	if err := c.handshake(); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		c.nc.SetReadDeadline(time.Now().Add(2 * c.srv.opts.IdleTimeout))
		typ, ch, body, err := amqp.ReadFrameBytes(c.br, c.srv.opts.MaxFrameSize, buf)
		if err != nil {
			return err
		}
		if typ != amqp.FrameAMQP {
			return c.closeWith(condFramingError, fmt.Sprintf("frame type %d after the AMQP header", typ))
		}
		p, err := amqp.ParseFrameBody(body)
		if err != nil {
			return c.closeWith(condDecode, err.Error())
		}
		if p == nil {
			continue // heartbeat
		}
		if c.trace {
			c.log.Debug("ehtest: frame in", zap.Uint16("channel", ch), zap.String("frame", fmt.Sprintf("%T %+v", p, p)))
		}
		if err := c.handle(ch, p); err != nil {
			return err
		}
	}
}

// closeWith sends close with an error and ends the connection.
func (c *conn) closeWith(cond amqp.Symbol, desc string) error {
	c.mu.Lock()
	c.write(0, &amqp.Close{Error: &amqp.Error{Condition: cond, Description: desc}})
	c.flush()
	c.mu.Unlock()
	return fmt.Errorf("closed the connection: %s: %s", cond, desc)
}

// handshake runs the protocol headers, SASL ANONYMOUS and open.
func (c *conn) handshake() error {
	c.nc.SetReadDeadline(time.Now().Add(c.srv.opts.IdleTimeout))
	var hdr [8]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return err
	}
	if hdr == amqp.HeaderSASL {
		c.bw.Write(amqp.HeaderSASL[:])
		b, _ := amqp.AppendFrame(nil, amqp.FrameSASL, 0, &amqp.SASLMechanisms{Mechanisms: []amqp.Symbol{"ANONYMOUS"}})
		c.bw.Write(b)
		if err := c.bw.Flush(); err != nil {
			return err
		}
		typ, _, body, err := amqp.ReadFrameBytes(c.br, 64<<10, nil)
		if err != nil {
			return err
		}
		p, err := amqp.ParseFrameBody(body)
		if err != nil {
			return err
		}
		init, ok := p.(*amqp.SASLInit)
		if typ != amqp.FrameSASL || !ok {
			return fmt.Errorf("expected sasl-init, got %T", p)
		}
		code := amqp.SASLOK
		if init.Mechanism != "ANONYMOUS" {
			code = amqp.SASLAuth
		}
		b, _ = amqp.AppendFrame(nil, amqp.FrameSASL, 0, &amqp.SASLOutcome{Code: code})
		c.bw.Write(b)
		if err := c.bw.Flush(); err != nil {
			return err
		}
		if code != amqp.SASLOK {
			return fmt.Errorf("SASL mechanism %q refused: only ANONYMOUS is offered", init.Mechanism)
		}
		if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
			return err
		}
	}
	if hdr != amqp.HeaderAMQP {
		c.bw.Write(amqp.HeaderAMQP[:])
		c.bw.Flush()
		return fmt.Errorf("unsupported protocol header %q", hdr[:])
	}
	c.bw.Write(amqp.HeaderAMQP[:])
	if err := c.bw.Flush(); err != nil {
		return err
	}
	typ, _, body, err := amqp.ReadFrameBytes(c.br, c.srv.opts.MaxFrameSize, nil)
	if err != nil {
		return err
	}
	p, err := amqp.ParseFrameBody(body)
	if err != nil {
		return err
	}
	open, ok := p.(*amqp.Open)
	if typ != amqp.FrameAMQP || !ok {
		return fmt.Errorf("expected open, got %T", p)
	}
	c.peerMaxFrame = open.MaxFrameSize
	if c.peerMaxFrame == 0 || c.peerMaxFrame > maxOutFrame {
		c.peerMaxFrame = maxOutFrame
	}
	if c.peerMaxFrame < amqp.MinMaxFrameSize {
		return fmt.Errorf("client max-frame-size %d is below the minimum %d", open.MaxFrameSize, amqp.MinMaxFrameSize)
	}
	hb := c.srv.opts.HeartbeatInterval
	if open.IdleTimeout > 0 {
		if half := time.Duration(open.IdleTimeout) * time.Millisecond / 2; half < hb {
			hb = half
		}
	}
	c.mu.Lock()
	c.write(0, &amqp.Open{ContainerID: "ehtest", MaxFrameSize: c.srv.opts.MaxFrameSize, ChannelMax: 65535,
		IdleTimeout: uint32(c.srv.opts.IdleTimeout / time.Millisecond)})
	err = c.flush()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.log.Debug("ehtest: connection open", zap.String("hostname", open.Hostname), zap.Duration("heartbeat", hb))
	c.wg.Add(1)
	go c.heartbeat(hb)
	return nil
}

// heartbeat sends an empty frame every interval, so the client's idle timer
// never fires.
func (c *conn) heartbeat(every time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.mu.Lock()
			if !c.closed {
				c.bw.Write([]byte{0, 0, 0, 8, 2, 0, 0, 0})
				c.flush()
			}
			c.mu.Unlock()
		}
	}
}

// write encodes and buffers a frame; c.mu must be held. Write errors kill the
// connection (the reader then ends).
func (c *conn) write(ch uint16, p amqp.Performative) {
	if c.trace {
		c.log.Debug("ehtest: frame out", zap.Uint16("channel", ch), zap.String("frame", fmt.Sprintf("%T %+v", p, p)))
	}
	var err error
	c.wbuf, err = amqp.AppendFrame(c.wbuf[:0], amqp.FrameAMQP, ch, p)
	if err != nil {
		c.log.Error("ehtest: cannot encode a frame", zap.Error(err))
		c.kill()
		return
	}
	if _, err := c.bw.Write(c.wbuf); err != nil {
		c.kill()
	}
}

// flush writes buffered frames; c.mu must be held.
func (c *conn) flush() error {
	if err := c.bw.Flush(); err != nil {
		c.kill()
		return err
	}
	return nil
}

// session is one AMQP session; its fields are guarded by conn.mu.
type session struct {
	ch                   uint16
	nextOutgoingID       uint32 // transfer-id of the next frame we send
	remoteIncomingWindow uint32
	nextDeliveryID       uint32
	nextIncomingID       uint32
	received             uint32 // transfers since our last session flow
	links                map[uint32]*link
}

func (c *conn) handle(ch uint16, p amqp.Performative) error {
	if b, ok := p.(*amqp.Begin); ok {
		return c.onBegin(ch, b)
	}
	if cl, ok := p.(*amqp.Close); ok {
		c.mu.Lock()
		c.write(0, &amqp.Close{})
		c.flush()
		c.mu.Unlock()
		if cl.Error != nil {
			return fmt.Errorf("client closed the connection: %w", cl.Error)
		}
		return io.EOF
	}
	c.mu.Lock()
	s := c.sessions[ch]
	c.mu.Unlock()
	if s == nil {
		return c.closeWith(condIllegalState, fmt.Sprintf("%T on channel %d, which has no session", p, ch))
	}
	switch p := p.(type) {
	case *amqp.Attach:
		return c.onAttach(s, p)
	case *amqp.Flow:
		return c.onFlow(s, p)
	case *amqp.Transfer:
		return c.onTransfer(s, p)
	case *amqp.Disposition:
		return nil // every delivery the server sends is settled
	case *amqp.Detach:
		return c.onDetach(s, p)
	case *amqp.End:
		c.mu.Lock()
		defer c.mu.Unlock()
		c.endSession(s)
		delete(c.sessions, ch)
		c.write(ch, &amqp.End{})
		return c.flush()
	}
	return c.closeWith(condNotImplemented, fmt.Sprintf("unexpected %T", p))
}

func (c *conn) onBegin(ch uint16, b *amqp.Begin) error {
	c.mu.Lock()
	_, inUse := c.sessions[ch]
	if inUse || b.RemoteChannel != nil {
		c.mu.Unlock()
		return c.closeWith(condIllegalState, fmt.Sprintf("begin on channel %d, which has a session or names a remote channel", ch))
	}
	defer c.mu.Unlock()
	s := &session{ch: ch, remoteIncomingWindow: b.IncomingWindow, nextIncomingID: b.NextOutgoingID, links: map[uint32]*link{}}
	c.sessions[ch] = s
	c.write(ch, &amqp.Begin{RemoteChannel: &ch, NextOutgoingID: 0, IncomingWindow: sessionWindow,
		OutgoingWindow: 1 << 31, HandleMax: 1<<32 - 1})
	return c.flush()
}

// endSession detaches every link of s locally; c.mu must be held.
func (c *conn) endSession(s *session) {
	for _, l := range s.links {
		c.dropLink(l)
	}
	s.links = map[uint32]*link{}
}

// flowFor returns a flow frame carrying the session state (and the link's
// when l is set); c.mu must be held.
func (s *session) flowFor(l *link) *amqp.Flow {
	nid := s.nextIncomingID
	f := &amqp.Flow{NextIncomingID: &nid, IncomingWindow: sessionWindow, NextOutgoingID: s.nextOutgoingID, OutgoingWindow: 1 << 31}
	if l != nil {
		h := l.handle
		f.Handle = &h
		if l.serverSends {
			dc, cr := l.deliveryCount, l.credit
			f.DeliveryCount, f.LinkCredit = &dc, &cr
		} else {
			dc, cr := l.rcvDeliveryCount, l.rcvCredit
			f.DeliveryCount, f.LinkCredit = &dc, &cr
		}
	}
	return f
}

func (c *conn) onFlow(s *session, f *amqp.Flow) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.nextIncomingID = f.NextOutgoingID
	var nid uint32
	if f.NextIncomingID != nil {
		nid = *f.NextIncomingID
	}
	s.remoteIncomingWindow = nid + f.IncomingWindow - s.nextOutgoingID
	if s.remoteIncomingWindow > f.IncomingWindow {
		s.remoteIncomingWindow = 0 // the client has not seen all we sent
	}
	if s.remoteIncomingWindow > 0 {
		for _, l := range s.links {
			if l.serverSends {
				l.signal()
			}
		}
	}
	var l *link
	if f.Handle != nil {
		l = s.links[*f.Handle]
		if l == nil {
			c.write(s.ch, &amqp.End{Error: &amqp.Error{Condition: condUnattachedHndl, Description: fmt.Sprintf("flow for handle %d, which is not attached", *f.Handle)}})
			return c.flush()
		}
		if l.serverSends && f.LinkCredit != nil {
			dc := l.deliveryCount
			if f.DeliveryCount != nil {
				dc = *f.DeliveryCount
			}
			l.credit = dc + *f.LinkCredit - l.deliveryCount
			if l.credit > *f.LinkCredit {
				l.credit = 0
			}
			l.drain = f.Drain
			if l.kind == kindConsumer {
				l.signal()
			} else {
				c.sendReplies(s, l)
			}
		}
	}
	if f.Echo {
		c.write(s.ch, s.flowFor(l))
	}
	return c.flush()
}

func (c *conn) onDetach(s *session, d *amqp.Detach) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := s.links[d.Handle]
	if l == nil {
		c.write(s.ch, &amqp.End{Error: &amqp.Error{Condition: condUnattachedHndl, Description: fmt.Sprintf("detach of handle %d, which is not attached", d.Handle)}})
		return c.flush()
	}
	delete(s.links, d.Handle)
	if l.detached {
		return nil // the client's answer to our detach
	}
	c.dropLink(l)
	c.write(s.ch, &amqp.Detach{Handle: d.Handle, Closed: d.Closed})
	return c.flush()
}

// dropLink ends a link locally: no more deliveries, no partition
// registration; c.mu must be held.
func (c *conn) dropLink(l *link) {
	if !l.detached {
		l.detached = true
		close(l.stop)
	}
	if l.part != nil {
		l.part.unregister(l)
	}
}

// detachLink detaches a link from the server side with err (an epoch steal
// or an injected fault). The link stays known until the client answers.
func (c *conn) detachLink(l *link, err *amqp.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || l.detached {
		return
	}
	c.dropLink(l)
	c.write(l.s.ch, &amqp.Detach{Handle: l.handle, Closed: true, Error: err})
	c.flush()
}

// hasClaim reports whether a put-token covered the entity path.
func (c *conn) hasClaim(entity string) bool {
	entity = strings.ToLower(entity)
	now := c.srv.opts.Now()
	for path, exp := range c.claims {
		if now.After(exp) {
			continue
		}
		if path == "" || entity == path || strings.HasPrefix(entity, path+"/") {
			return true
		}
	}
	return false
}

// sleepResponseDelay waits out the injected response delay; false means the
// connection ended meanwhile.
func (c *conn) sleepResponseDelay() bool {
	d := time.Duration(c.srv.responseDelay.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}

// writeDelivery writes one settled delivery of the given segments, split in
// frames the client accepts; c.mu must be held.
func (c *conn) writeDelivery(s *session, l *link, segs ...[]byte) {
	total := 0
	for _, sg := range segs {
		total += len(sg)
	}
	id := s.nextDeliveryID
	s.nextDeliveryID++
	var tag [4]byte
	tag[0], tag[1], tag[2], tag[3] = byte(l.deliveryCount>>24), byte(l.deliveryCount>>16), byte(l.deliveryCount>>8), byte(l.deliveryCount)
	maxPayload := int(c.peerMaxFrame) - transferOverhead
	first := true
	for first || total > 0 {
		n := min(total, maxPayload)
		total -= n
		c.wbuf = amqp.AppendTransferFrame(c.wbuf[:0], s.ch, l.handle, id, tag[:], 0, first, true, total > 0, n)
		// Large frames go out with one vectored write, without copying the
		// event into the buffer; small ones are buffered.
		large := n >= largeFrame
		if large {
			c.flush()
			c.iov = append(c.iov[:0], c.wbuf)
		} else {
			c.bw.Write(c.wbuf)
		}
		for n > 0 {
			k := min(n, len(segs[0]))
			if large {
				c.iov = append(c.iov, segs[0][:k])
			} else {
				c.bw.Write(segs[0][:k])
			}
			segs[0] = segs[0][k:]
			n -= k
			if len(segs[0]) == 0 {
				segs = segs[1:]
			}
		}
		if large {
			iov := c.iov
			if _, err := iov.WriteTo(c.nc); err != nil {
				c.kill()
			}
			clear(c.iov)
		}
		for len(segs) > 0 && len(segs[0]) == 0 {
			segs = segs[1:]
		}
		first = false
		s.nextOutgoingID++
		if s.remoteIncomingWindow > 0 {
			s.remoteIncomingWindow--
		}
	}
	l.deliveryCount++
	l.credit--
}

// sendReplies sends queued RPC responses within the link's credit; c.mu must
// be held.
func (c *conn) sendReplies(s *session, l *link) {
	for len(l.replies) > 0 && l.credit > 0 && !l.detached {
		c.writeDelivery(s, l, l.replies[0])
		l.replies = l.replies[1:]
	}
	if l.drain && len(l.replies) == 0 && l.credit > 0 {
		l.deliveryCount += l.credit
		l.credit = 0
		f := s.flowFor(l)
		f.Drain = true
		c.write(s.ch, f)
	}
}

// findReplyLink returns the link an RPC response to replyTo goes to: the
// client receiver whose target is replyTo, else one reading from source in
// the same session; c.mu must be held.
func (c *conn) findReplyLink(s *session, replyTo string, source string) (*session, *link) {
	for _, ss := range c.sessions {
		for _, l := range ss.links {
			if l.serverSends && !l.detached && l.targetAddr == replyTo && replyTo != "" {
				return ss, l
			}
		}
	}
	for _, l := range s.links {
		if l.serverSends && !l.detached && l.sourceAddr == source {
			return s, l
		}
	}
	return nil, nil
}

// trimAddress drops an amqp[s]://host/ or sb://host/ prefix from an address.
func trimAddress(addr string) string {
	for _, scheme := range []string{"amqps://", "amqp://", "sb://"} {
		if len(addr) > len(scheme) && strings.EqualFold(addr[:len(scheme)], scheme) {
			rest := addr[len(scheme):]
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				return rest[i+1:]
			}
			return ""
		}
	}
	return strings.TrimPrefix(addr, "/")
}
