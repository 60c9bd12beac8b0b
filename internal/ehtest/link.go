package ehtest

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/amqp"
)

type linkKind int

const (
	kindCBSRequests linkKind = iota // client sends put-token requests
	kindCBSReplies                  // server sends put-token responses
	kindMgmtRequests
	kindMgmtReplies
	kindConsumer // server sends events
	kindProducer // client sends events
)

// batchFormat is the message-format of an Event Hubs batch delivery.
const batchFormat = 0x80013700

// selectorFilterKey names the Event Hubs selector filter in a source's filter set.
const selectorFilterKey = amqp.Symbol("apache.org:selector-filter:string")

// link is one attached link; its fields are guarded by conn.mu.
type link struct {
	c           *conn
	s           *session
	name        string
	handle      uint32
	kind        linkKind
	serverSends bool
	sourceAddr  string
	targetAddr  string
	detached    bool
	stop        chan struct{} // closed when the link ends
	wake        chan struct{} // signals credit or window changes

	// server-sender state
	deliveryCount uint32
	credit        uint32
	drain         bool
	replies       [][]byte // encoded RPC responses waiting for credit

	// consumer
	part    *partition
	group   string
	epoch   *int64
	nextSeq int64
	sent    atomic.Int64 // events delivered, readable without conn.mu

	// client-sender state
	rcvDeliveryCount uint32
	rcvCredit        uint32
	hub              *hub
	target           *partition // nil: route by key or round robin
	buf              []byte
	inDelivery       bool
	bufID            uint32
	bufFormat        uint32
	bufSettled       bool
	tooLarge         bool
}

func (l *link) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (c *conn) onAttach(s *session, a *amqp.Attach) error {
	if !c.sleepResponseDelay() {
		return nil
	}
	l := &link{c: c, s: s, name: a.Name, handle: a.Handle, serverSends: a.Role == amqp.RoleReceiver,
		stop: make(chan struct{}), wake: make(chan struct{}, 1)}
	if a.Source != nil {
		l.sourceAddr = a.Source.Address
	}
	if a.Target != nil {
		l.targetAddr = a.Target.Address
	}
	var refuse *amqp.Error
	var stolen []*link
	if l.serverSends {
		switch trimAddress(l.sourceAddr) {
		case "$cbs":
			l.kind = kindCBSReplies
		case "$management":
			l.kind = kindMgmtReplies
		default:
			l.kind = kindConsumer
			refuse = c.setupConsumer(l, a)
		}
	} else {
		switch trimAddress(l.targetAddr) {
		case "$cbs":
			l.kind = kindCBSRequests
		case "$management":
			l.kind = kindMgmtRequests
		default:
			l.kind = kindProducer
			refuse = c.setupProducer(l)
		}
		if a.InitialDeliveryCount != nil {
			l.rcvDeliveryCount = *a.InitialDeliveryCount
		}
	}
	if refuse == nil && l.kind == kindConsumer {
		stolen, refuse = l.part.register(l, l.group)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if l.part != nil {
			l.part.unregister(l)
		}
		return nil
	}
	if old := s.links[a.Handle]; old != nil || c.sessions[s.ch] != s {
		c.mu.Unlock()
		if l.part != nil {
			l.part.unregister(l)
		}
		return c.closeWith(condHandleInUse, fmt.Sprintf("attach of handle %d, which is in use", a.Handle))
	}
	s.links[a.Handle] = l
	reply := &amqp.Attach{Name: a.Name, Handle: a.Handle, Role: !a.Role}
	if refuse != nil {
		l.detached = true
		close(l.stop)
		c.write(s.ch, reply)
		c.write(s.ch, &amqp.Detach{Handle: a.Handle, Closed: true, Error: refuse})
		err := c.flush()
		c.mu.Unlock()
		c.log.Debug("ehtest: attach refused", zap.String("link", a.Name), zap.String("condition", string(refuse.Condition)))
		return err
	}
	reply.SndSettleMode, reply.RcvSettleMode = a.SndSettleMode, a.RcvSettleMode
	reply.Source, reply.Target = a.Source, a.Target
	reply.OfferedCapabilities = a.DesiredCapabilities
	if l.serverSends {
		zero := uint32(0)
		reply.InitialDeliveryCount = &zero
		c.write(s.ch, reply)
	} else {
		reply.MaxMessageSize = c.srv.opts.MaxMessageSize
		c.write(s.ch, reply)
		l.rcvCredit = linkCreditWindow
		c.write(s.ch, s.flowFor(l))
	}
	if l.kind == kindConsumer {
		c.wg.Add(1)
		go c.deliver(l)
	}
	err := c.flush()
	c.mu.Unlock()
	for _, o := range stolen {
		o.c.detachLink(o, &amqp.Error{Condition: condLinkStolen, Description: fmt.Sprintf(
			"New receiver '%s' with higher epoch of '%d' is created hence current receiver '%s' with epoch '%s' is getting disconnected. If you are recreating the receiver, make sure a higher epoch is used.",
			l.name, epochValue(l.epoch), o.name, epochString(o.epoch))})
	}
	return err
}

func epochValue(e *int64) int64 {
	if e == nil {
		return 0
	}
	return *e
}

func epochString(e *int64) string {
	if e == nil {
		return "<none>"
	}
	return fmt.Sprint(*e)
}

// setupConsumer checks a receiver attach and sets the link's partition,
// consumer group, epoch and start position.
func (c *conn) setupConsumer(l *link, a *amqp.Attach) *amqp.Error {
	if e := c.srv.attachRefusal(); e != nil {
		return e
	}
	addr := trimAddress(l.sourceAddr)
	parts := strings.Split(addr, "/")
	if len(parts) != 5 || !strings.EqualFold(parts[1], "ConsumerGroups") || !strings.EqualFold(parts[3], "Partitions") {
		return &amqp.Error{Condition: condNotFound, Description: fmt.Sprintf(
			"The messaging entity '%s' could not be found: a receiver's source must be <hub>/ConsumerGroups/<group>/Partitions/<id>.", addr)}
	}
	h, err := c.srv.hub(parts[0])
	if err != nil {
		return &amqp.Error{Condition: condNotFound, Description: fmt.Sprintf("The messaging entity '%s' could not be found.", parts[0])}
	}
	if !h.hasGroup(parts[2]) {
		return &amqp.Error{Condition: condNotFound, Description: fmt.Sprintf(
			"The messaging entity '%s/ConsumerGroups/%s' could not be found.", h.name, parts[2])}
	}
	p := h.partition(parts[4])
	if p == nil {
		return &amqp.Error{Condition: condOutOfRange, Description: fmt.Sprintf(
			"The specified partition is invalid for an EventHub partition sender or receiver. It should be between 0 and %d.", len(h.partitionList())-1)}
	}
	c.mu.Lock()
	ok := c.hasClaim(addr)
	c.mu.Unlock()
	if !ok {
		return &amqp.Error{Condition: condUnauthorized, Description: fmt.Sprintf("Unauthorized access: no valid token was put on $cbs for '%s'.", addr)}
	}
	if v, ok := a.Properties.Get(amqp.Symbol("com.microsoft:epoch")); ok {
		switch e := v.(type) {
		case int64:
			l.epoch = &e
		case int32:
			x := int64(e)
			l.epoch = &x
		default:
			return &amqp.Error{Condition: condInvalidField, Description: fmt.Sprintf("com.microsoft:epoch is %T, want a long", v)}
		}
	}
	sp := startPosition{kind: "offset", value: "@latest"}
	if a.Source != nil {
		if v, ok := a.Source.Filter.Get(selectorFilterKey); ok {
			d, ok := v.(amqp.Described)
			expr, ok2 := d.Value.(string)
			if !ok || !ok2 {
				return &amqp.Error{Condition: condInvalidField, Description: fmt.Sprintf("selector filter is %v, want a described string", v)}
			}
			var err error
			if sp, err = parseSelector(expr); err != nil {
				return &amqp.Error{Condition: condInvalidField, Description: err.Error()}
			}
		}
	}
	l.part, l.group, l.nextSeq = p, parts[2], p.resolve(sp)
	return nil
}

// setupProducer checks a sender attach: to "<hub>" or "<hub>/Partitions/<id>".
func (c *conn) setupProducer(l *link) *amqp.Error {
	if e := c.srv.attachRefusal(); e != nil {
		return e
	}
	addr := trimAddress(l.targetAddr)
	parts := strings.Split(addr, "/")
	if len(parts) != 1 && (len(parts) != 3 || !strings.EqualFold(parts[1], "Partitions")) {
		return &amqp.Error{Condition: condNotFound, Description: fmt.Sprintf(
			"The messaging entity '%s' could not be found: a sender's target must be <hub> or <hub>/Partitions/<id>.", addr)}
	}
	h, err := c.srv.hub(parts[0])
	if err != nil {
		return &amqp.Error{Condition: condNotFound, Description: fmt.Sprintf("The messaging entity '%s' could not be found.", parts[0])}
	}
	l.hub = h
	if len(parts) == 3 {
		if l.target = h.partition(parts[2]); l.target == nil {
			return &amqp.Error{Condition: condOutOfRange, Description: fmt.Sprintf(
				"The specified partition is invalid for an EventHub partition sender or receiver. It should be between 0 and %d.", len(h.partitionList())-1)}
		}
	}
	c.mu.Lock()
	ok := c.hasClaim(addr)
	c.mu.Unlock()
	if !ok {
		return &amqp.Error{Condition: condUnauthorized, Description: fmt.Sprintf("Unauthorized access: no valid token was put on $cbs for '%s'.", addr)}
	}
	return nil
}

// deliver is the goroutine of a consumer link: it sends events within the
// link credit and the session window until the link or connection ends.
func (c *conn) deliver(l *link) {
	defer c.wg.Done()
	var evs []*event
	var hdr [8]byte
	const batch = 64
	for {
		var wait <-chan struct{}
		c.mu.Lock()
		if l.detached || c.closed {
			c.mu.Unlock()
			return
		}
		s := l.s
		sent := 0
		if l.credit > 0 && s.remoteIncomingWindow > 0 {
			evs, wait = l.part.read(l.nextSeq, int(min(l.credit, batch)), evs)
			bytes := 0
			for _, ev := range evs {
				if l.credit == 0 || bytes > 1<<20 {
					break
				}
				c.writeDelivery(s, l, ev.head, ev.dataHeader(hdr[:0]), ev.body)
				bytes += len(ev.head) + len(ev.body)
				l.nextSeq = ev.seq + 1
				l.sent.Add(1)
				sent++
			}
			clear(evs)
			if sent == 0 && l.drain {
				l.deliveryCount += l.credit
				l.credit = 0
				l.drain = false
				f := s.flowFor(l)
				f.Drain = true
				c.write(s.ch, f)
			}
			c.flush()
		}
		c.mu.Unlock()
		if sent > 0 {
			continue
		}
		select {
		case <-l.wake:
		case <-wait:
		case <-l.stop:
			return
		case <-c.done:
			return
		}
	}
}

func (c *conn) onTransfer(s *session, t *amqp.Transfer) error {
	c.mu.Lock()
	s.nextIncomingID++
	s.received++
	if s.received >= sessionWindow/2 {
		s.received = 0
		c.write(s.ch, s.flowFor(nil))
	}
	l := s.links[t.Handle]
	if l == nil {
		c.write(s.ch, &amqp.End{Error: &amqp.Error{Condition: condUnattachedHndl, Description: fmt.Sprintf("transfer on handle %d, which is not attached", t.Handle)}})
		err := c.flush()
		c.mu.Unlock()
		return err
	}
	if l.serverSends || l.detached {
		c.mu.Unlock()
		return nil
	}
	if t.Aborted {
		l.inDelivery, l.buf, l.tooLarge = false, l.buf[:0], false
		c.mu.Unlock()
		return nil
	}
	if !l.inDelivery {
		l.inDelivery = true
		l.buf = l.buf[:0]
		l.tooLarge = false
		if t.DeliveryID != nil {
			l.bufID = *t.DeliveryID
		}
		l.bufFormat = 0
		if t.MessageFormat != nil {
			l.bufFormat = *t.MessageFormat
		}
		l.bufSettled = t.Settled != nil && *t.Settled
	}
	if uint64(len(l.buf)+len(t.Payload)) > c.srv.opts.MaxMessageSize {
		l.tooLarge = true
	} else if !l.tooLarge {
		l.buf = append(l.buf, t.Payload...)
	}
	if t.More {
		c.mu.Unlock()
		return nil
	}
	l.inDelivery = false
	l.rcvDeliveryCount++
	if l.rcvCredit > 0 {
		l.rcvCredit--
	}
	payload, id, settled, format, tooLarge := l.buf, l.bufID, l.bufSettled, l.bufFormat, l.tooLarge
	if l.kind != kindProducer {
		l.buf = nil // the RPC handler keeps the payload
	}
	var state amqp.DeliveryState = &amqp.Accepted{}
	switch {
	case tooLarge:
		state = &amqp.Rejected{Error: &amqp.Error{Condition: condMessageSize, Description: fmt.Sprintf(
			"The received message (delivery-id:%d) exceeds the limit (%d bytes) currently allowed on the link.", id, c.srv.opts.MaxMessageSize)}}
	case l.kind == kindProducer:
		if err := c.store(l, payload, format); err != nil {
			state = &amqp.Rejected{Error: err}
		}
	}
	if !settled {
		c.write(s.ch, &amqp.Disposition{Role: amqp.RoleReceiver, First: id, Settled: true, State: state})
	}
	if l.rcvCredit < linkCreditWindow/2 {
		l.rcvCredit = linkCreditWindow
		c.write(s.ch, s.flowFor(l))
	}
	err := c.flush()
	c.mu.Unlock()
	if err != nil || tooLarge {
		return err
	}
	switch l.kind {
	case kindCBSRequests, kindMgmtRequests:
		c.rpc(s, l, payload)
	}
	return nil
}

// store appends the events of a client delivery (one message or a batch)
// to the partition it routes to; c.mu is held.
func (c *conn) store(l *link, payload []byte, format uint32) *amqp.Error {
	var env amqp.Message
	if err := env.Unmarshal(payload); err != nil {
		return &amqp.Error{Condition: condDecode, Description: fmt.Sprintf("cannot decode the message: %v", err)}
	}
	msgs := []*amqp.Message{&env}
	if format == batchFormat {
		msgs = msgs[:0]
		for i, d := range env.Data {
			m := new(amqp.Message)
			if err := m.Unmarshal(d); err != nil {
				return &amqp.Error{Condition: condDecode, Description: fmt.Sprintf("cannot decode message %d of the batch: %v", i, err)}
			}
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	p := l.target
	if p == nil {
		p = l.hub.route(partitionKey(msgs[0], &env))
	}
	err := p.append(len(msgs), func(i int, seq, offset int64, t time.Time) (*event, int, error) {
		enc, err := annotate(nil, msgs[i], seq, offset, t)
		return &event{head: enc}, len(enc), err
	})
	if err != nil {
		return &amqp.Error{Condition: condInternal, Description: err.Error()}
	}
	return nil
}

// partitionKey returns the x-opt-partition-key annotation of the message or
// of the batch envelope.
func partitionKey(ms ...*amqp.Message) *string {
	for _, m := range ms {
		if v, ok := m.MessageAnnotations.Get(amqp.Symbol("x-opt-partition-key")); ok {
			if s, ok := v.(string); ok {
				return &s
			}
		}
	}
	return nil
}
