package ehtest_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/streamhunt/streamhunt/internal/amqp"
	"github.com/streamhunt/streamhunt/internal/ehtest"
)

// rawConn is a bare AMQP client on the project's codec, for protocol cases
// the SDK never produces.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, srv *ehtest.Server) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (r *rawConn) writeHeader(h [8]byte) {
	r.t.Helper()
	if _, err := r.nc.Write(h[:]); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) readHeader() [8]byte {
	r.t.Helper()
	var h [8]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		r.t.Fatal(err)
	}
	return h
}

func (r *rawConn) send(typ byte, ch uint16, p amqp.Performative) {
	r.t.Helper()
	b, err := amqp.AppendFrame(nil, typ, ch, p)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// recv returns the next frame; heartbeats come back as a nil performative.
func (r *rawConn) recv() (uint16, amqp.Performative, error) {
	_, ch, body, err := amqp.ReadFrameBytes(r.br, 0, nil)
	if err != nil {
		return 0, nil, err
	}
	p, err := amqp.ParseFrameBody(body)
	return ch, p, err
}

// next returns the next frame that is not a heartbeat.
func (r *rawConn) next() (uint16, amqp.Performative) {
	r.t.Helper()
	for {
		ch, p, err := r.recv()
		if err != nil {
			r.t.Fatal(err)
		}
		if p != nil {
			return ch, p
		}
	}
}

// open runs SASL ANONYMOUS and open, announcing the idle timeout.
func (r *rawConn) open(idle time.Duration) *amqp.Open {
	r.t.Helper()
	r.writeHeader(amqp.HeaderSASL)
	if h := r.readHeader(); h != amqp.HeaderSASL {
		r.t.Fatalf("SASL header answered with %q", h[:])
	}
	if _, p := r.next(); p.(*amqp.SASLMechanisms).Mechanisms[0] != "ANONYMOUS" {
		r.t.Fatalf("mechanisms %+v, want ANONYMOUS", p)
	}
	r.send(amqp.FrameSASL, 0, &amqp.SASLInit{Mechanism: "ANONYMOUS"})
	if _, p := r.next(); p.(*amqp.SASLOutcome).Code != amqp.SASLOK {
		r.t.Fatalf("outcome %+v, want ok", p)
	}
	r.writeHeader(amqp.HeaderAMQP)
	if h := r.readHeader(); h != amqp.HeaderAMQP {
		r.t.Fatalf("AMQP header answered with %q", h[:])
	}
	r.send(amqp.FrameAMQP, 0, &amqp.Open{ContainerID: "raw", MaxFrameSize: 65536, IdleTimeout: uint32(idle / time.Millisecond)})
	_, p := r.next()
	return p.(*amqp.Open)
}

func TestTheServerSendsHeartbeatsWithinTheClientsIdleTimeout(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	r := dialRaw(t, srv)
	open := r.open(200 * time.Millisecond)
	if open.IdleTimeout == 0 || open.MaxFrameSize == 0 {
		t.Errorf("server open %+v, want an idle timeout and a max frame size", open)
	}
	// The SDK's default heartbeat interval is 10 s; a client announcing 200 ms
	// must still get frames (a protocol deadline, checked with slack).
	r.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for i := 0; i < 3; i++ {
		_, p, err := r.recv()
		if err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		if p != nil {
			t.Fatalf("got %T, want an empty frame", p)
		}
	}
}

func TestOnlyTheAnonymousSASLMechanismIsAccepted(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	r := dialRaw(t, srv)
	r.writeHeader(amqp.HeaderSASL)
	r.readHeader()
	r.next()
	r.send(amqp.FrameSASL, 0, &amqp.SASLInit{Mechanism: "PLAIN", InitialResponse: []byte("\x00u\x00p")})
	if _, p := r.next(); p.(*amqp.SASLOutcome).Code != amqp.SASLAuth {
		t.Fatalf("outcome %+v, want auth failure", p)
	}
	if _, _, err := r.recv(); err == nil {
		t.Fatal("the connection stayed open after a refused mechanism")
	}
}

func TestAWrongProtocolHeaderIsAnsweredWithTheSupportedOne(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	r := dialRaw(t, srv)
	r.writeHeader([8]byte{'A', 'M', 'Q', 'P', 9, 9, 9, 9})
	if h := r.readHeader(); h != amqp.HeaderAMQP {
		t.Fatalf("answered %q, want the AMQP 1.0 header", h[:])
	}
	if _, _, err := r.recv(); err == nil {
		t.Fatal("the connection stayed open")
	}
}

func TestSessionChannelsCanBeReusedAfterEnd(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	r := dialRaw(t, srv)
	r.open(time.Minute)
	for i := 0; i < 3; i++ {
		r.send(amqp.FrameAMQP, 0, &amqp.Begin{IncomingWindow: 100, OutgoingWindow: 100})
		ch, p := r.next()
		b, ok := p.(*amqp.Begin)
		if !ok || ch != 0 || b.RemoteChannel == nil || *b.RemoteChannel != 0 {
			t.Fatalf("round %d: begin answered with %T %+v on channel %d", i, p, p, ch)
		}
		r.send(amqp.FrameAMQP, 0, &amqp.End{})
		if _, p := r.next(); !isEnd(p) {
			t.Fatalf("round %d: end answered with %T", i, p)
		}
	}
	// Several sessions at once, on any channels.
	for _, ch := range []uint16{5, 1, 65535} {
		r.send(amqp.FrameAMQP, ch, &amqp.Begin{IncomingWindow: 100, OutgoingWindow: 100})
		if got, p := r.next(); got != ch || *p.(*amqp.Begin).RemoteChannel != ch {
			t.Fatalf("begin on channel %d answered on %d: %+v", ch, got, p)
		}
	}
}

func isEnd(p amqp.Performative) bool {
	e, ok := p.(*amqp.End)
	return ok && e.Error == nil
}

func TestATransferOnAnUnattachedHandleEndsTheSessionWithAnError(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	r := dialRaw(t, srv)
	r.open(time.Minute)
	r.send(amqp.FrameAMQP, 0, &amqp.Begin{IncomingWindow: 100, OutgoingWindow: 100})
	r.next()
	id := uint32(0)
	r.send(amqp.FrameAMQP, 0, &amqp.Transfer{Handle: 9, DeliveryID: &id, DeliveryTag: []byte{1}, Payload: []byte{0}})
	_, p := r.next()
	if e, ok := p.(*amqp.End); !ok || e.Error == nil || e.Error.Condition != "amqp:session:unattached-handle" {
		t.Fatalf("got %T %+v, want end with amqp:session:unattached-handle", p, p)
	}
}

func TestAFrameOverTheMaxFrameSizeClosesTheConnection(t *testing.T) {
	srv := newServer(t, ehtest.Options{MaxFrameSize: 512})
	r := dialRaw(t, srv)
	if open := r.open(time.Minute); open.MaxFrameSize != 512 {
		t.Fatalf("server announced max-frame-size %d, want 512", open.MaxFrameSize)
	}
	r.send(amqp.FrameAMQP, 0, &amqp.Begin{IncomingWindow: 100, OutgoingWindow: 100, Properties: amqp.Map{{Key: "pad", Value: string(make([]byte, 1000))}}})
	for {
		_, _, err := r.recv()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("the connection stayed open")
				}
			}
			return
		}
	}
}

func TestPublishedMessagesKeepTheirPropertiesForTheSDK(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	ct := amqp.Symbol("application/json")
	m := &amqp.Message{
		Properties:            &amqp.Properties{MessageID: "m-1", ContentType: &ct},
		ApplicationProperties: amqp.Map{{Key: "category", Value: "SignInLogs"}},
		MessageAnnotations:    amqp.Map{{Key: amqp.Symbol("x-opt-partition-key"), Value: "tenant-1"}},
		Data:                  [][]byte{[]byte(`{"records":[]}`)},
	}
	if err := srv.PublishMessage("hub", "0", m); err != nil {
		t.Fatal(err)
	}
	pc, err := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup).NewPartitionClient("0",
		&azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	ev := receiveN(t, pc, 1)[0]
	if ev.MessageID == nil || *ev.MessageID != "m-1" || ev.ContentType == nil || *ev.ContentType != "application/json" ||
		ev.Properties["category"] != "SignInLogs" || ev.PartitionKey == nil || *ev.PartitionKey != "tenant-1" ||
		string(ev.Body) != `{"records":[]}` || ev.Offset == "" {
		t.Errorf("received %+v", ev)
	}
}

func TestRPCRepliesWaitForCreditAndDrainEndsWithTheCreditSpent(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("a"), []byte("b")); err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, srv)
	r.open(time.Minute)
	r.send(amqp.FrameAMQP, 0, &amqp.Begin{IncomingWindow: 100, OutgoingWindow: 100})
	r.next()
	zero := uint32(0)
	settled := amqp.SndSettleSettled

	// $cbs: the request goes out before the reply link has any credit.
	r.send(amqp.FrameAMQP, 0, &amqp.Attach{Name: "cbs-s", Handle: 0, Role: amqp.RoleSender, Source: &amqp.Source{},
		Target: &amqp.Target{Address: "$cbs"}, InitialDeliveryCount: &zero})
	if _, p := r.next(); p.(*amqp.Attach).Role != amqp.RoleReceiver {
		t.Fatalf("attach answered with %+v", p)
	}
	if _, p := r.next(); *p.(*amqp.Flow).LinkCredit == 0 {
		t.Fatalf("no credit for the request link: %+v", p)
	}
	r.send(amqp.FrameAMQP, 0, &amqp.Attach{Name: "cbs-r", Handle: 1, Role: amqp.RoleReceiver, SndSettleMode: &settled,
		Source: &amqp.Source{Address: "$cbs"}, Target: &amqp.Target{Address: "reply-1"}})
	if _, p := r.next(); p.(*amqp.Attach).SndSettleMode == nil || *p.(*amqp.Attach).SndSettleMode != settled {
		t.Fatalf("reply link attach %+v, want the requested settle mode echoed", p)
	}
	audience := "amqp://" + srv.Namespace() + "/hub/ConsumerGroups/$Default/Partitions/0"
	replyTo := "reply-1"
	req, _ := (&amqp.Message{
		Properties: &amqp.Properties{MessageID: "m1", ReplyTo: &replyTo},
		ApplicationProperties: amqp.Map{{Key: "operation", Value: "put-token"}, {Key: "type", Value: "servicebus.windows.net:sastoken"},
			{Key: "name", Value: audience}},
		Value: sasToken(audience, ehtest.DefaultKeyName, ehtest.DefaultKey, time.Now().Add(time.Hour)), HasValue: true,
	}).Marshal()
	yes := true
	r.send(amqp.FrameAMQP, 0, &amqp.Transfer{Handle: 0, DeliveryID: &zero, DeliveryTag: []byte{0}, MessageFormat: &zero, Settled: &yes, Payload: req})
	one := uint32(1)
	nid := uint32(1)
	r.send(amqp.FrameAMQP, 0, &amqp.Flow{NextIncomingID: &zero, IncomingWindow: 100, NextOutgoingID: nid, OutgoingWindow: 100,
		Handle: &one, DeliveryCount: &zero, LinkCredit: &one})
	_, p := r.next()
	tr, ok := p.(*amqp.Transfer)
	if !ok || tr.Handle != 1 || tr.Settled == nil || !*tr.Settled {
		t.Fatalf("got %T %+v, want a settled reply on handle 1", p, p)
	}
	var resp amqp.Message
	if err := resp.Unmarshal(tr.Payload); err != nil {
		t.Fatal(err)
	}
	if code, _ := resp.ApplicationProperties.Get("status-code"); code != int32(202) || resp.Properties.CorrelationID != "m1" {
		t.Fatalf("put-token answered %v / correlation %v, want 202 for m1", code, resp.Properties.CorrelationID)
	}

	// A receiver that drains: both events, then a flow with the rest of the credit spent.
	r.send(amqp.FrameAMQP, 0, &amqp.Attach{Name: "events", Handle: 2, Role: amqp.RoleReceiver, SndSettleMode: &settled,
		Source: &amqp.Source{Address: "hub/ConsumerGroups/$Default/Partitions/0", Filter: amqp.Map{{Key: amqp.Symbol("apache.org:selector-filter:string"),
			Value: amqp.Described{Descriptor: uint64(0x0000468C00000004), Value: "amqp.annotation.x-opt-offset > '-1'"}}}},
		Target: &amqp.Target{Address: "me"}})
	if _, p := r.next(); p.(*amqp.Attach).Source == nil {
		t.Fatalf("consumer attach refused: %+v", p)
	}
	two, five := uint32(2), uint32(5)
	r.send(amqp.FrameAMQP, 0, &amqp.Flow{NextIncomingID: &one, IncomingWindow: 100, NextOutgoingID: nid, OutgoingWindow: 100,
		Handle: &two, DeliveryCount: &zero, LinkCredit: &five, Drain: true})
	var bodies []string
	for {
		_, p := r.next()
		switch p := p.(type) {
		case *amqp.Transfer:
			var m amqp.Message
			if err := m.Unmarshal(p.Payload); err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, string(m.Data[0]))
			continue
		case *amqp.Flow:
			if p.Handle == nil {
				continue
			}
			if !p.Drain || *p.DeliveryCount != 5 || *p.LinkCredit != 0 || len(bodies) != 2 {
				t.Fatalf("drain ended with %+v after %v, want delivery-count 5, credit 0 after [a b]", p, bodies)
			}
		default:
			t.Fatalf("unexpected %T %+v", p, p)
		}
		break
	}
	if bodies[0] != "a" || bodies[1] != "b" {
		t.Errorf("drained %v, want [a b]", bodies)
	}
}

func TestASilentClientIsDroppedAfterTwiceTheIdleTimeout(t *testing.T) {
	srv := newServer(t, ehtest.Options{IdleTimeout: 200 * time.Millisecond, HeartbeatInterval: time.Hour})
	r := dialRaw(t, srv)
	if open := r.open(time.Minute); open.IdleTimeout != 200 {
		t.Fatalf("server announced idle-time-out %d ms, want 200", open.IdleTimeout)
	}
	r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := r.recv(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept a silent connection open")
			}
			return
		}
	}
}

func TestCloseStopsEveryServerGoroutineWhileClientsAreAttached(t *testing.T) {
	srv, err := ehtest.NewServer(ehtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateHub("hub", 2); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	for _, id := range []string{"0", "1"} {
		pc, err := cons.NewPartitionClient(id, &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		pc.ReceiveEvents(ctx, 1, nil) // attaches the link
		cancel()
	}
	srv.SetResponseDelay(time.Hour) // a pending delayed response must not hold Close up
	go cons.GetEventHubProperties(context.Background(), nil)
	dialRaw(t, srv).open(time.Minute)
	eventually(t, 10*time.Second, "both connections are open", func() bool { return srv.Connections() == 2 })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range []string{"ehtest.(*conn)", "ehtest.(*Server)"} {
		if strings.Contains(stacks, fn) {
			t.Fatalf("a server goroutine (%s) outlived Close:\n%s", fn, stacks)
		}
	}
	if _, err := net.DialTimeout("tcp", srv.Namespace(), time.Second); err == nil {
		t.Error("the listener still accepts after Close")
	}
}
